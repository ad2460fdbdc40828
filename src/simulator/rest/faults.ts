/**
 * Injected REST faults, all deterministic so a test can predict them exactly.
 *
 * Status faults: the n-th API request (1-based; `/_sim/*` admin calls are not counted) draws two
 * uniforms from `rngFor(seed, "rest-fault", n)`: the first below `rate5xx` → a 5xx whose status
 * is `[500, 502, 503][n % 3]`; otherwise the second below `rate429` → 429 with `Retry-After`.
 * See `faultFor`. Only authenticated requests to known routes can be hit (404/401 come first);
 * `latencyMs` delays every API response.
 *
 * Schema drift damages result items by their index in the ground-truth daily series (`idx`):
 *  - aggs: position of the bar in the NY day's series at the requested resolution (for 1-second
 *    bars: the index in `market.secondBars(ticker, date)`; day bars always have idx 0);
 *  - contracts: index in `market.contracts(asOf, underlying)` when the query names an
 *    `underlying_ticker`, else in every underlying's contracts by ticker (for `expired=true`, in
 *    the expired list);
 *  - news: index in `market.news(date)` for the article's NY date.
 * These never depend on paging, limit or sort. For an item, the first knob `N` (in the order
 * missing, wrongType, null) with `idx % N === 0` decides the damage to the kind's field
 * (`c`, `strike_price`, `title`): removed, turned into a string, or set to null. `unknownField`
 * adds `"sim_extra_field": 1` to every item.
 */
import { rngFor } from "../market/random.js"

export type DriftKind = "aggs" | "contracts" | "news"

export interface DriftKnobs {
  readonly unknownField?: boolean
  readonly missingFieldEvery?: number
  readonly wrongTypeEvery?: number
  readonly nullFieldEvery?: number
}

export interface RestFaults {
  readonly rate5xx: number
  readonly rate429: number
  readonly retryAfterS: number
  readonly latencyMs: number
  readonly drift: Partial<Record<DriftKind, DriftKnobs>>
}

export const NO_FAULTS: RestFaults = { rate5xx: 0, rate429: 0, retryAfterS: 1, latencyMs: 0, drift: {} }

/** Top-level fields given replace the current ones (so `{drift: {}}` clears all drift). */
export const withFaults = (current: RestFaults, update: Partial<RestFaults>): RestFaults => {
  const next: Record<string, unknown> = { ...current }
  for (const [key, value] of Object.entries(update)) if (key in NO_FAULTS && value !== undefined) next[key] = value
  return next as unknown as RestFaults
}

export type StatusFault =
  | { readonly _tag: "None" }
  | { readonly _tag: "ServerError"; readonly status: 500 | 502 | 503 }
  | { readonly _tag: "RateLimited" }

const SERVER_ERRORS = [500, 502, 503] as const

export const faultFor = (seed: number, requestNumber: number, faults: RestFaults): StatusFault => {
  const rng = rngFor(seed, "rest-fault", requestNumber)
  const u5xx = rng()
  const u429 = rng()
  if (u5xx < faults.rate5xx) return { _tag: "ServerError", status: SERVER_ERRORS[requestNumber % 3]! }
  if (u429 < faults.rate429) return { _tag: "RateLimited" }
  return { _tag: "None" }
}

/** The field each kind loses, retypes or nulls. */
export const DAMAGED_FIELD: Readonly<Record<DriftKind, string>> = {
  aggs: "c",
  contracts: "strike_price",
  news: "title"
}

/** True when knob value `every` selects index `idx`. */
export const isDamaged = (idx: number, every: number | undefined): boolean =>
  every !== undefined && every > 0 && idx % every === 0

export type Damage = "missing" | "wrongType" | "null"

export const damageOf = (knobs: DriftKnobs | undefined, idx: number): Damage | undefined => {
  if (knobs === undefined) return undefined
  if (isDamaged(idx, knobs.missingFieldEvery)) return "missing"
  if (isDamaged(idx, knobs.wrongTypeEvery)) return "wrongType"
  if (isDamaged(idx, knobs.nullFieldEvery)) return "null"
  return undefined
}

/** The item as served under drift; the original (cached, immutable) object when untouched. */
export const driftItem = <A extends object>(
  kind: DriftKind,
  knobs: DriftKnobs | undefined,
  item: A,
  idx: number
): A => {
  if (knobs === undefined) return item
  const damage = damageOf(knobs, idx)
  if (damage === undefined && !knobs.unknownField) return item
  const copy = { ...item } as Record<string, unknown>
  const field = DAMAGED_FIELD[kind]
  if (damage === "missing") delete copy[field]
  else if (damage === "wrongType") copy[field] = String(copy[field])
  else if (damage === "null") copy[field] = null
  if (knobs.unknownField) copy["sim_extra_field"] = 1
  return copy as A
}
