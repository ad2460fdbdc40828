/**
 * Raw API items (REST results and WebSocket events) → lake rows, one item at a time.
 * Every field is checked with an Effect Schema guard against a field spec:
 *  - a required field missing, null or of the wrong type → the item is quarantined (with the reason);
 *  - an "expected" optional field missing, or an optional field of the wrong type → schema drift
 *    (reported, the column stored as null, the raw value kept in `extra`);
 *  - unknown fields → schema drift, kept verbatim in the `extra` JSON column (never dropped).
 */
import type { Row } from "./feeds.js"
import { type Checked, check, FIELD_SPECS, type FieldSpec, NO_DRIFT, type Normalized } from "./fieldSpecs.js"

const { restAgg, restIndex, wsAgg, wsIndex, news, contract } = FIELD_SPECS

export type { DriftFinding, DriftKind, FieldKind, Normalized } from "./fieldSpecs.js"
export { check, FIELD_SPECS } from "./fieldSpecs.js"

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

const AGG_DEFAULTS = {
  window_end_ms: null,
  accumulated_volume: null,
  official_open: null,
  day_vwap: null,
  avg_trade_size: null,
  otc: null,
  vwap: null,
  transactions: null
}

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
  if (!isInt(t) || !isNum(o) || !isNum(h) || !isNum(l) || !isNum(c) || !isNum(v) || !isNum(vw) || !isInt(n))
    return undefined
  if (otc !== undefined && typeof otc !== "boolean") return undefined
  if (keyCount(raw) !== (otc === undefined ? 8 : 9)) return undefined
  return {
    ticker,
    window_start_ms: t,
    open: o,
    high: h,
    low: l,
    close: c,
    volume: v,
    vwap: vw,
    transactions: n,
    window_end_ms: null,
    accumulated_volume: null,
    official_open: null,
    day_vwap: null,
    avg_trade_size: null,
    otc: otc === undefined ? null : (otc as boolean),
    source: p.source,
    received_at_ms: p.receivedAtMs,
    extra: null
  }
}

export const restAggRow = (
  feed: "spy" | "options",
  ticker: string,
  raw: Readonly<Record<string, unknown>>,
  p: Provenance
): Normalized => {
  const clean = cleanRestAgg(ticker, raw, p)
  return clean !== undefined ? { ok: true, row: clean, drift: NO_DRIFT } : restAggRowChecked(feed, ticker, raw, p)
}

/** `restAggRow` through the field specs only (the reference the fast path is tested against). */
export const restAggRowChecked = (
  feed: "spy" | "options",
  ticker: string,
  raw: Readonly<Record<string, unknown>>,
  p: Provenance
): Normalized => {
  const c = check(feed, restAgg, raw)
  return finish(c, () =>
    columns(restAgg, c.values, {
      ticker,
      ...AGG_DEFAULTS,
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}

/** A REST aggregate of an index (I:VIX). */
export const restIndexRow = (ticker: string, raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const { t, o, h, l, c: close } = raw
  if (isInt(t) && isNum(o) && isNum(h) && isNum(l) && isNum(close) && keyCount(raw) === 5) {
    const row: Row = {
      ticker,
      window_start_ms: t,
      open: o,
      high: h,
      low: l,
      close,
      window_end_ms: null,
      official_open: null,
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: null
    }
    return { ok: true, row, drift: NO_DRIFT }
  }
  return restIndexRowChecked(ticker, raw, p)
}

/** `restIndexRow` through the field specs only. */
export const restIndexRowChecked = (
  ticker: string,
  raw: Readonly<Record<string, unknown>>,
  p: Provenance
): Normalized => {
  const c = check("vix", restIndex, raw)
  return finish(c, () =>
    columns(restIndex, c.values, {
      ticker,
      window_end_ms: null,
      official_open: null,
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}

/** A WebSocket `A`/`AM` event of SPY or an option. */
export const wsAggRow = (
  feed: "spy" | "options",
  raw: Readonly<Record<string, unknown>>,
  p: Provenance
): Normalized => {
  const c = check(feed, wsAgg, raw)
  return finish(c, () =>
    columns(wsAgg, c.values, {
      ...AGG_DEFAULTS,
      transactions: null,
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}

/** A WebSocket `A`/`AM` event of an index. */
export const wsIndexRow = (raw: Readonly<Record<string, unknown>>, p: Provenance): Normalized => {
  const c = check("vix", wsIndex, raw)
  return finish(c, () =>
    columns(wsIndex, c.values, {
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}

export const newsRow = (raw: Readonly<Record<string, unknown>>, p: Provenance, focusTicker = "SPY"): Normalized => {
  const c = check("news", news, raw)
  const publishedMs = typeof raw["published_utc"] === "string" ? Date.parse(raw["published_utc"]) : NaN
  const publisher = (c.values["publisher"] ?? {}) as Record<string, unknown>
  const problem =
    c.problem ??
    (Number.isNaN(publishedMs)
      ? "published_utc is not a date"
      : typeof publisher["name"] !== "string"
        ? "missing required field publisher.name"
        : undefined)
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

export const contractRow = (
  raw: Readonly<Record<string, unknown>>,
  ctx: ContractContext,
  p: Provenance
): Normalized => {
  const c = check("contracts", contract, raw)
  return finish(c, () =>
    columns(contract, c.values, {
      as_of: ctx.asOf,
      open_price: ctx.openPrice,
      moneyness_rank: ctx.moneynessRank,
      additional_underlyings:
        c.values["additional_underlyings"] === null ? null : JSON.stringify(c.values["additional_underlyings"]),
      source: p.source,
      received_at_ms: p.receivedAtMs,
      extra: c.extra && JSON.stringify(c.extra)
    })
  )
}
