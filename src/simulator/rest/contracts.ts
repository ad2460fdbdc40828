/**
 * `GET /v3/reference/options/contracts` and `/v3/reference/options/contracts/:ticker`
 * (polygon-wire.md §7). The cursor carries every filter (with `as_of` resolved) plus the offset.
 */
import { listedContracts, type MarketData, type WireContract } from "../MarketData.js"
import { addDays, datesBetween, nyDateOf } from "../../domain/calendar.js"
import { parseOptionTicker } from "../../domain/tickers.js"
import { isTradingDay, previousTradingDay } from "../market/tradingCalendar.js"
import { decodeCursor, encodeCursor } from "./cursor.js"
import { driftItem } from "./faults.js"
import { badRequest, type Handler, notFound, ok } from "./http.js"
import { compareStrings, compareWith, isIsoDate, parseLimit, rangeParams } from "./params.js"

const DEFAULT_LIMIT = 10
const MAX_LIMIT = 1000
const RANGED = ["underlying_ticker", "expiration_date", "strike_price"] as const
const PLAIN = ["ticker", "contract_type", "as_of", "expired", "order", "sort", "limit"] as const
const SORT_KEYS = ["ticker", "underlying_ticker", "expiration_date", "strike_price"] as const
/** How many trading days back `expired=true` looks for contracts that have since expired. */
const EXPIRED_LOOKBACK_DAYS = 5

interface Indexed {
  readonly c: WireContract
  readonly idx: number
}

const byTicker = (a: WireContract, b: WireContract): number => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0)

/** Every underlying's contracts listed on `asOf`, sorted by ticker (kept for the last few dates). */
const allListed = (() => {
  const cache = new WeakMap<MarketData, Map<string, ReadonlyArray<WireContract>>>()
  return (market: MarketData, asOf: string): ReadonlyArray<WireContract> => {
    let byDate = cache.get(market)
    if (byDate === undefined) cache.set(market, (byDate = new Map()))
    let list = byDate.get(asOf)
    if (list === undefined) {
      if (byDate.size >= 8) byDate.clear()
      byDate.set(asOf, (list = [...listedContracts(market, asOf)].sort(byTicker)))
    }
    return list
  }
})()

/**
 * The contracts a listing walks: one underlying's chain when the query names it (`underlying_ticker=`),
 * else every underlying's, by ticker. Drift indices are positions in this list.
 */
const listedOn = (market: MarketData, asOf: string, underlying: string | undefined): ReadonlyArray<WireContract> =>
  underlying === undefined ? allListed(market, asOf) : market.contracts(asOf, underlying)

/** Contracts listed on the last few sessions before `asOf` that expired before it, by ticker. */
export const expiredContracts = (
  market: MarketData,
  asOf: string,
  underlying?: string
): ReadonlyArray<WireContract> => {
  const expired = new Map<string, WireContract>()
  let day = asOf
  for (let i = 0; i < EXPIRED_LOOKBACK_DAYS; i++) {
    day = previousTradingDay(day)
    for (const c of listedOn(market, day, underlying)) if (c.expiration_date < asOf) expired.set(c.ticker, c)
  }
  return [...expired.values()].sort(byTicker)
}

const normalizedQuery = (query: URLSearchParams, today: string): Record<string, string> => {
  const q: Record<string, string> = {}
  for (const name of RANGED)
    for (const { op, value } of rangeParams(query, name)) q[op === "eq" ? name : `${name}.${op}`] = value
  for (const name of PLAIN) {
    const value = query.get(name)
    if (value !== null && value !== "") q[name] = value
  }
  q["as_of"] ??= today
  return q
}

const matches = (c: WireContract, q: URLSearchParams): boolean => {
  if (q.has("ticker") && c.ticker !== q.get("ticker")) return false
  if (q.has("contract_type") && c.contract_type !== q.get("contract_type")) return false
  for (const { op, value } of rangeParams(q, "underlying_ticker"))
    if (!compareWith(op, compareStrings(c.underlying_ticker, value))) return false
  for (const { op, value } of rangeParams(q, "expiration_date"))
    if (!compareWith(op, compareStrings(c.expiration_date, value))) return false
  for (const { op, value } of rangeParams(q, "strike_price"))
    if (!compareWith(op, c.strike_price - Number(value))) return false
  return true
}

export const listContractsHandler: Handler = (req, ctx) => {
  const cursor = req.query.get("cursor")
  const state = cursor
    ? (decodeCursor(cursor) as { q?: Record<string, string>; offset?: number } | undefined)
    : undefined
  if (cursor && (state?.q === undefined || typeof state.offset !== "number"))
    return badRequest(req.requestId, "invalid cursor")
  const raw = state?.q ?? normalizedQuery(req.query, nyDateOf(ctx.clock.now()))
  const offset = state?.offset ?? 0
  const q = new URLSearchParams(raw)
  const asOf = q.get("as_of")!
  if (!isIsoDate(asOf)) return badRequest(req.requestId, "as_of must be YYYY-MM-DD")
  const limit = parseLimit(q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
  const sortKey = SORT_KEYS.find((k) => k === q.get("sort")) ?? "ticker"

  const underlying = q.get("underlying_ticker") ?? undefined
  const source =
    q.get("expired") === "true"
      ? expiredContracts(ctx.market, asOf, underlying)
      : listedOn(ctx.market, asOf, underlying)
  const selected: Array<Indexed> = []
  source.forEach((c, idx) => {
    if (matches(c, q)) selected.push({ c, idx })
  })
  if (sortKey !== "ticker") {
    const key = (x: Indexed) => x.c[sortKey]
    selected.sort((a, b) => {
      const ka = key(a),
        kb = key(b)
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
  }
  if (q.get("order") === "desc") selected.reverse()

  const knobs = ctx.drift("contracts")
  const page = selected.slice(offset, offset + limit).map((x) => driftItem("contracts", knobs, x.c, x.idx))
  const body: Record<string, unknown> = { results: page, status: "OK", request_id: req.requestId }
  if (offset + limit < selected.length)
    body["next_url"] =
      `${req.origin}/v3/reference/options/contracts?cursor=${encodeCursor({ q: raw, offset: offset + limit })}`
  return ok(body)
}

/** Where a contract was listed: `as_of` if given, else the sessions of its lifetime up to expiry. */
const findContract = (market: MarketData, ticker: string, asOf: string | null): Indexed | undefined => {
  const symbol = parseOptionTicker(ticker)
  if (symbol === undefined) return undefined
  const days =
    asOf !== null ? [asOf] : datesBetween(addDays(symbol.expiration, -7), symbol.expiration).filter(isTradingDay)
  for (const day of days) {
    const listed = market.contracts(day, symbol.underlying)
    const idx = listed.findIndex((c) => c.ticker === ticker)
    if (idx >= 0) return { c: listed[idx]!, idx }
  }
  return undefined
}

export const getContractHandler: Handler = (req, ctx) => {
  const ticker = req.segments[4] ?? ""
  const asOf = req.query.get("as_of")
  if (asOf !== null && !isIsoDate(asOf)) return badRequest(req.requestId, "as_of must be YYYY-MM-DD")
  const found = findContract(ctx.market, ticker, asOf)
  if (found === undefined) return notFound(req.requestId, `Contract ${ticker} not found.`)
  return ok({
    results: driftItem("contracts", ctx.drift("contracts"), found.c, found.idx),
    status: "OK",
    request_id: req.requestId
  })
}
