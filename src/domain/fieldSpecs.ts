/**
 * The field specs of every raw item kind (REST aggregates, WebSocket events, news, contracts) and
 * the check of one item against them (./normalize.ts builds the rows): each field is tested with
 * an Effect Schema guard; a missing or mistyped required field is a problem (quarantine), an
 * expected one missing, a mistyped optional one or an unknown field is schema drift.
 */
import { Schema } from "effect"
import type { Feed, Row } from "./feeds.js"

export type FieldKind = "number" | "integer" | "string" | "boolean" | "array" | "object"
export type Presence = "required" | "expected" | "optional"
export interface FieldSpec {
  readonly name: string
  readonly kind: FieldKind
  readonly presence: Presence
  /** Lake column this field fills (omitted: not stored as a column, e.g. `ev`). */
  readonly column?: string
}

export type DriftKind = "unknown_field" | "missing_field" | "type_change"
export interface DriftFinding {
  readonly feed: Feed
  readonly kind: DriftKind
  readonly field: string
}

export type Normalized =
  | { readonly ok: true; readonly row: Row; readonly drift: ReadonlyArray<DriftFinding> }
  | { readonly ok: false; readonly reason: string; readonly drift: ReadonlyArray<DriftFinding> }

// Compiled Effect Schema guards. The primitive ones are the same predicates the Schema guards
// evaluate (`Schema.is(Schema.Number)` is `typeof u === "number"`), written inline because this
// runs once per field per row on the backfill's hot path.
const isArray = Schema.is(Schema.Array(Schema.Unknown))
const isObject = Schema.is(Schema.Object)
const guard = (kind: FieldKind, u: unknown): boolean => {
  switch (kind) {
    case "number":
      return typeof u === "number"
    case "integer":
      return typeof u === "number" && Number.isInteger(u)
    case "string":
      return typeof u === "string"
    case "boolean":
      return typeof u === "boolean"
    case "array":
      return isArray(u)
    case "object":
      return isObject(u)
  }
}

const f = (name: string, kind: FieldKind, presence: Presence, column?: string): FieldSpec =>
  column === undefined ? { name, kind, presence } : { name, kind, presence, column }

const restAgg: ReadonlyArray<FieldSpec> = [
  f("t", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"),
  f("h", "number", "required", "high"),
  f("l", "number", "required", "low"),
  f("c", "number", "required", "close"),
  f("v", "number", "required", "volume"),
  f("vw", "number", "expected", "vwap"),
  f("n", "integer", "expected", "transactions"),
  f("otc", "boolean", "optional", "otc")
]
const restIndex: ReadonlyArray<FieldSpec> = [
  f("t", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"),
  f("h", "number", "required", "high"),
  f("l", "number", "required", "low"),
  f("c", "number", "required", "close")
]
const wsAgg: ReadonlyArray<FieldSpec> = [
  f("ev", "string", "required"),
  f("sym", "string", "required", "ticker"),
  f("s", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"),
  f("h", "number", "required", "high"),
  f("l", "number", "required", "low"),
  f("c", "number", "required", "close"),
  f("v", "number", "required", "volume"),
  f("vw", "number", "expected", "vwap"),
  f("e", "integer", "expected", "window_end_ms"),
  f("av", "number", "expected", "accumulated_volume"),
  f("op", "number", "expected", "official_open"),
  f("a", "number", "expected", "day_vwap"),
  f("z", "number", "expected", "avg_trade_size"),
  f("otc", "boolean", "optional", "otc")
]
const wsIndex: ReadonlyArray<FieldSpec> = [
  f("ev", "string", "required"),
  f("sym", "string", "required", "ticker"),
  f("s", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"),
  f("h", "number", "required", "high"),
  f("l", "number", "required", "low"),
  f("c", "number", "required", "close"),
  f("e", "integer", "expected", "window_end_ms"),
  f("op", "number", "expected", "official_open")
]
const news: ReadonlyArray<FieldSpec> = [
  f("id", "string", "required", "id"),
  f("publisher", "object", "required"),
  f("title", "string", "required", "title"),
  f("author", "string", "required", "author"),
  f("published_utc", "string", "required"),
  f("article_url", "string", "required", "article_url"),
  f("tickers", "array", "required"),
  f("amp_url", "string", "optional", "amp_url"),
  f("image_url", "string", "optional", "image_url"),
  f("description", "string", "expected", "description"),
  f("keywords", "array", "expected"),
  f("insights", "array", "expected")
]
const contract: ReadonlyArray<FieldSpec> = [
  f("ticker", "string", "required", "ticker"),
  f("underlying_ticker", "string", "required", "underlying_ticker"),
  f("contract_type", "string", "required", "contract_type"),
  f("expiration_date", "string", "required", "expiration_date"),
  f("strike_price", "number", "required", "strike_price"),
  f("exercise_style", "string", "expected", "exercise_style"),
  f("shares_per_contract", "number", "expected", "shares_per_contract"),
  f("primary_exchange", "string", "expected", "primary_exchange"),
  f("cfi", "string", "expected", "cfi"),
  f("correction", "integer", "optional", "correction"),
  f("additional_underlyings", "array", "optional")
]

export const FIELD_SPECS = { restAgg, restIndex, wsAgg, wsIndex, news, contract } as const

export interface Checked {
  readonly values: Record<string, unknown>
  readonly extra: Record<string, unknown> | null
  readonly drift: Array<DriftFinding>
  readonly problem: string | undefined
}

const knownCache = new WeakMap<ReadonlyArray<FieldSpec>, ReadonlySet<string>>()
const knownNames = (specs: ReadonlyArray<FieldSpec>): ReadonlySet<string> => {
  let known = knownCache.get(specs)
  if (!known) knownCache.set(specs, (known = new Set(specs.map((s) => s.name))))
  return known
}

/** Shared by every clean item (the common case): no allocation per row for "no drift". */
export const NO_DRIFT: Array<DriftFinding> = []

/** Check one raw item against a field spec. */
export const check = (feed: Feed, specs: ReadonlyArray<FieldSpec>, raw: Readonly<Record<string, unknown>>): Checked => {
  const values: Record<string, unknown> = {}
  let drift = NO_DRIFT
  let extra: Record<string, unknown> | null = null
  let problem: string | undefined
  for (const spec of specs) {
    const value = raw[spec.name]
    if (value === undefined || value === null) {
      if (spec.presence === "required")
        problem ??= `missing required field ${spec.name}${value === null ? " (null)" : ""}`
      else if (spec.presence === "expected")
        (drift = drift === NO_DRIFT ? [] : drift).push({ feed, kind: "missing_field", field: spec.name })
      values[spec.name] = null
    } else if (!guard(spec.kind, value)) {
      if (spec.presence === "required") problem ??= `field ${spec.name} has type ${typeof value}, expected ${spec.kind}`
      ;(drift = drift === NO_DRIFT ? [] : drift).push({ feed, kind: "type_change", field: spec.name })
      ;(extra ??= {})[spec.name] = value
      values[spec.name] = null
    } else {
      values[spec.name] = value
    }
  }
  const known = knownNames(specs)
  for (const key in raw) {
    if (!known.has(key)) {
      ;(drift = drift === NO_DRIFT ? [] : drift).push({ feed, kind: "unknown_field", field: key })
      ;(extra ??= {})[key] = raw[key]
    }
  }
  return { values, extra, drift, problem }
}
