/**
 * Raw API items (REST results and WebSocket events) → lake rows, one item at a time.
 * Every field is checked with an Effect Schema guard against a field spec:
 *  - a required field missing, null or of the wrong type → the item is quarantined (with the reason);
 *  - an "expected" optional field missing, or an optional field of the wrong type → schema drift
 *    (reported, the column stored as null, the raw value kept in `extra`);
 *  - unknown fields → schema drift, kept verbatim in the `extra` JSON column (never dropped).
 */
import { Schema } from "effect"
import type { Feed, Row } from "./feeds.js"

export type FieldKind = "number" | "integer" | "string" | "boolean" | "array" | "object"
type Presence = "required" | "expected" | "optional"
interface FieldSpec {
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
  f("t", "integer", "required", "window_start_ms"), f("o", "number", "required", "open"), f("h", "number", "required", "high"),
  f("l", "number", "required", "low"), f("c", "number", "required", "close"), f("v", "number", "required", "volume"),
  f("vw", "number", "expected", "vwap"), f("n", "integer", "expected", "transactions"), f("otc", "boolean", "optional", "otc")
]
const restIndex: ReadonlyArray<FieldSpec> = [
  f("t", "integer", "required", "window_start_ms"), f("o", "number", "required", "open"), f("h", "number", "required", "high"),
  f("l", "number", "required", "low"), f("c", "number", "required", "close")
]
const wsAgg: ReadonlyArray<FieldSpec> = [
  f("ev", "string", "required"), f("sym", "string", "required", "ticker"), f("s", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"), f("h", "number", "required", "high"), f("l", "number", "required", "low"),
  f("c", "number", "required", "close"), f("v", "number", "required", "volume"), f("vw", "number", "expected", "vwap"),
  f("e", "integer", "expected", "window_end_ms"), f("av", "number", "expected", "accumulated_volume"),
  f("op", "number", "expected", "official_open"), f("a", "number", "expected", "day_vwap"), f("z", "number", "expected", "avg_trade_size"),
  f("otc", "boolean", "optional", "otc")
]
const wsIndex: ReadonlyArray<FieldSpec> = [
  f("ev", "string", "required"), f("sym", "string", "required", "ticker"), f("s", "integer", "required", "window_start_ms"),
  f("o", "number", "required", "open"), f("h", "number", "required", "high"), f("l", "number", "required", "low"),
  f("c", "number", "required", "close"), f("e", "integer", "expected", "window_end_ms"), f("op", "number", "expected", "official_open")
]
const news: ReadonlyArray<FieldSpec> = [
  f("id", "string", "required", "id"), f("publisher", "object", "required"), f("title", "string", "required", "title"),
  f("author", "string", "required", "author"), f("published_utc", "string", "required"), f("article_url", "string", "required", "article_url"),
  f("tickers", "array", "required"), f("amp_url", "string", "optional", "amp_url"), f("image_url", "string", "optional", "image_url"),
  f("description", "string", "expected", "description"), f("keywords", "array", "expected"), f("insights", "array", "expected")
]
const contract: ReadonlyArray<FieldSpec> = [
  f("ticker", "string", "required", "ticker"), f("underlying_ticker", "string", "required", "underlying_ticker"),
  f("contract_type", "string", "required", "contract_type"), f("expiration_date", "string", "required", "expiration_date"),
  f("strike_price", "number", "required", "strike_price"), f("exercise_style", "string", "expected", "exercise_style"),
  f("shares_per_contract", "number", "expected", "shares_per_contract"), f("primary_exchange", "string", "expected", "primary_exchange"),
  f("cfi", "string", "expected", "cfi"), f("correction", "integer", "optional", "correction"), f("additional_underlyings", "array", "optional")
]

export const FIELD_SPECS = { restAgg, restIndex, wsAgg, wsIndex, news, contract } as const

interface Checked {
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
const NO_DRIFT: Array<DriftFinding> = []

/** Check one raw item against a field spec. */
export const check = (feed: Feed, specs: ReadonlyArray<FieldSpec>, raw: Readonly<Record<string, unknown>>): Checked => {
  const values: Record<string, unknown> = {}
  let drift = NO_DRIFT
  let extra: Record<string, unknown> | null = null
  let problem: string | undefined
  for (const spec of specs) {
    const value = raw[spec.name]
    if (value === undefined || value === null) {
      if (spec.presence === "required") problem ??= `missing required field ${spec.name}${value === null ? " (null)" : ""}`
      else if (spec.presence === "expected") (drift = drift === NO_DRIFT ? [] : drift).push({ feed, kind: "missing_field", field: spec.name })
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

const columns = (specs: ReadonlyArray<FieldSpec>, values: Record<string, unknown>, row: Row) => {
  for (const spec of specs) if (spec.column !== undefined) row[spec.column] = values[spec.name] as Row[string]
  return row
}

const finish = (c: Checked, row: () => Row): Normalized =>
  c.problem !== undefined ? { ok: false, reason: c.problem, drift: c.drift } : { ok: true, row: row(), drift: c.drift }

export interface Provenance {
  readonly source: "rest" | "ws" | "repair"
  readonly receivedAtMs: number
}

const AGG_DEFAULTS = { window_end_ms: null, accumulated_volume: null, official_open: null, day_vwap: null, avg_trade_size: null, otc: null, vwap: null, transactions: null }

/** A REST aggregate of SPY or an option. */
const isNum = (u: unknown): u is number => typeof u === "number"
const isInt = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u)
const keyCount = (raw: Readonly<Record<string, unknown>>): number => {
  let n = 0
  for (const _ in raw) n++
  return n
}

/**
 * The common case on the backfill's hot path: an item with exactly the known fields, all of the
 * right type. It gets the same row the field-spec path would build, without the intermediate
 * objects; anything else (missing, mistyped or unknown fields) takes the full path below.
 */
const cleanRestAgg = (ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Row | undefined => {
  const { t, o, h, l, c, v, vw, n, otc } = raw
  if (!isInt(t) || !isNum(o) || !isNum(h) || !isNum(l) || !isNum(c) || !isNum(v) || !isNum(vw) || !isInt(n)) return undefined
  if (otc !== undefined && typeof otc !== "boolean") return undefined
  if (keyCount(raw) !== (otc === undefined ? 8 : 9)) return undefined
  return {
    ticker, window_start_ms: t, open: o, high: h, low: l, close: c, volume: v, vwap: vw, transactions: n,
    window_end_ms: null, accumulated_volume: null, official_open: null, day_vwap: null, avg_trade_size: null,
    otc: otc === undefined ? null : (otc as boolean), source: p.source, received_at_ms: p.receivedAtMs, extra: null
  }
}

export const restAggRow = (feed: "spy" | "options", ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const clean = cleanRestAgg(ticker, raw, p)
  return clean !== undefined ? { ok: true, row: clean, drift: NO_DRIFT } : restAggRowChecked(feed, ticker, raw, p)
}

/** `restAggRow` through the field specs only (the reference the fast path is tested against). */
export const restAggRowChecked = (feed: "spy" | "options", ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const c = check(feed, restAgg, raw)
  return finish(c, () =>
    columns(restAgg, c.values, { ticker, ...AGG_DEFAULTS, source: p.source, received_at_ms: p.receivedAtMs, extra: c.extra && JSON.stringify(c.extra) })
  )
}

/** A REST aggregate of an index (I:VIX). */
export const restIndexRow = (ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const { t, o, h, l, c: close } = raw
  if (isInt(t) && isNum(o) && isNum(h) && isNum(l) && isNum(close) && keyCount(raw) === 5) {
    const row: Row = { ticker, window_start_ms: t, open: o, high: h, low: l, close, window_end_ms: null, official_open: null, source: p.source, received_at_ms: p.receivedAtMs, extra: null }
    return { ok: true, row, drift: NO_DRIFT }
  }
  return restIndexRowChecked(ticker, raw, p)
}

/** `restIndexRow` through the field specs only. */
export const restIndexRowChecked = (ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const c = check("vix", restIndex, raw)
  return finish(c, () =>
    columns(restIndex, c.values, { ticker, window_end_ms: null, official_open: null, source: p.source, received_at_ms: p.receivedAtMs, extra: c.extra && JSON.stringify(c.extra) })
  )
}

/** A WebSocket `A`/`AM` event of SPY or an option. */
export const wsAggRow = (feed: "spy" | "options", raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const c = check(feed, wsAgg, raw)
  return finish(c, () =>
    columns(wsAgg, c.values, { ...AGG_DEFAULTS, transactions: null, source: p.source, received_at_ms: p.receivedAtMs, extra: c.extra && JSON.stringify(c.extra) })
  )
}

/** A WebSocket `A`/`AM` event of an index. */
export const wsIndexRow = (raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const c = check("vix", wsIndex, raw)
  return finish(c, () => columns(wsIndex, c.values, { source: p.source, received_at_ms: p.receivedAtMs, extra: c.extra && JSON.stringify(c.extra) }))
}

export const newsRow = (raw: Readonly<Record<string, unknown>>, p: Provenance, focusTicker = "SPY"): Normalized => {
  const c = check("news", news, raw)
  const publishedMs = typeof raw["published_utc"] === "string" ? Date.parse(raw["published_utc"]) : NaN
  const publisher = (c.values["publisher"] ?? {}) as Record<string, unknown>
  const problem =
    c.problem ??
    (Number.isNaN(publishedMs) ? "published_utc is not a date" : typeof publisher["name"] !== "string" ? "missing required field publisher.name" : undefined)
  if (problem !== undefined) return { ok: false, reason: problem, drift: c.drift }
  const insights = (c.values["insights"] ?? []) as ReadonlyArray<Record<string, unknown>>
  const focus = insights.find((i) => i?.["ticker"] === focusTicker)
  const str = (v: unknown) => (typeof v === "string" ? v : null)
  return {
    ok: true,
    drift: c.drift,
    row: columns(news, c.values, {
      published_utc_ms: publishedMs,
      publisher_name: publisher["name"] as string,
      publisher_homepage_url: str(publisher["homepage_url"]),
      publisher_logo_url: str(publisher["logo_url"]),
      publisher_favicon_url: str(publisher["favicon_url"]),
      tickers: JSON.stringify(c.values["tickers"]),
      keywords: c.values["keywords"] === null ? null : JSON.stringify(c.values["keywords"]),
      insights: c.values["insights"] === null ? null : JSON.stringify(c.values["insights"]),
      spy_sentiment: str(focus?.["sentiment"]),
      spy_sentiment_reasoning: str(focus?.["sentiment_reasoning"]),
      amp_url: null,
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  }
}

export interface ContractContext {
  readonly asOf: string
  readonly openPrice: number
  readonly moneynessRank: number
}

export const contractRow = (raw: Readonly<Record<string, unknown>>, ctx: ContractContext, p: Provenance): Normalized => {
  const c = check("contracts", contract, raw)
  return finish(c, () =>
    columns(contract, c.values, {
      as_of: ctx.asOf,
      open_price: ctx.openPrice,
      moneyness_rank: ctx.moneynessRank,
      additional_underlyings: c.values["additional_underlyings"] === null ? null : JSON.stringify(c.values["additional_underlyings"]),
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}
