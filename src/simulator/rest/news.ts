/**
 * `GET /v2/reference/news` (polygon-wire.md §8). Walks the NY dates between the
 * `published_utc` bounds (default: the 30 days up to simulated now; a lone upper bound looks
 * back 30 days) in the requested order. The cursor is search-after style: the filters plus the
 * (date, index-in-day) of the last article served.
 */
import type { WireArticle } from "../MarketData.js"
import { datesBetween, nyDateOf } from "../../domain/calendar.js"
import { decodeCursor, encodeCursor } from "./cursor.js"
import { driftItem } from "./faults.js"
import { badRequest, type Handler, ok } from "./http.js"
import { compareStrings, compareWith, parseInstant, parseLimit, type RangeOp, rangeParams } from "./params.js"

const DEFAULT_LIMIT = 10
const MAX_LIMIT = 1000
const DAY_MS = 86_400_000
const DEFAULT_LOOKBACK_MS = 30 * DAY_MS

interface NewsQuery {
  readonly lo: number
  readonly hi: number
  readonly tickers: ReadonlyArray<{ readonly op: RangeOp; readonly value: string }>
  readonly desc: boolean
  readonly limit: number
  /** Position of the last article served: NY date and index in `market.news(date)`. */
  readonly after?: { readonly date: string; readonly idx: number }
}

/** Inclusive [lo, hi] ms bounds; a bare date means its whole UTC day. */
const publishedBounds = (query: URLSearchParams, nowMs: number): { lo: number; hi: number } | string => {
  let lo: number | undefined, hi: number | undefined
  for (const { op, value } of rangeParams(query, "published_utc")) {
    const instant = parseInstant(value)
    if (instant === undefined) return `invalid published_utc${op === "eq" ? "" : `.${op}`}: ${value}`
    const start = instant.ms,
      end = instant.dateOnly ? start + DAY_MS - 1 : start
    const raiseLo = (x: number) => (lo = lo === undefined ? x : Math.max(lo, x))
    const lowerHi = (x: number) => (hi = hi === undefined ? x : Math.min(hi, x))
    if (op === "eq") (raiseLo(start), lowerHi(end))
    else if (op === "gte") raiseLo(start)
    else if (op === "gt") raiseLo(end + 1)
    else if (op === "lte") lowerHi(end)
    else lowerHi(start - 1)
  }
  if (lo === undefined && hi === undefined) return { lo: nowMs - DEFAULT_LOOKBACK_MS, hi: nowMs }
  if (lo === undefined) return { lo: hi! - DEFAULT_LOOKBACK_MS, hi: hi! }
  return { lo, hi: hi ?? Math.max(nowMs, lo) }
}

const tickerMatches = (a: WireArticle, tickers: NewsQuery["tickers"]): boolean =>
  tickers.every(({ op, value }) => a.tickers.some((t) => compareWith(op, compareStrings(t, value))))

const parseQuery = (query: URLSearchParams, nowMs: number): NewsQuery | string => {
  const bounds = publishedBounds(query, nowMs)
  if (typeof bounds === "string") return bounds
  return {
    ...bounds,
    tickers: rangeParams(query, "ticker"),
    desc: query.get("order") !== "asc",
    limit: parseLimit(query.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
  }
}

export const newsHandler: Handler = (req, ctx) => {
  const cursor = req.query.get("cursor")
  const parsed = cursor ? (decodeCursor(cursor) as NewsQuery | undefined) : parseQuery(req.query, ctx.clock.now())
  if (parsed === undefined || typeof parsed === "string") return badRequest(req.requestId, parsed ?? "invalid cursor")
  const q = parsed
  const found: Array<{ article: WireArticle; date: string; idx: number }> = []
  const first = nyDateOf(q.lo),
    last = nyDateOf(q.hi)
  const walk =
    q.hi < q.lo
      ? []
      : q.desc
        ? [...datesBetween(first, q.after?.date ?? last)].reverse()
        : datesBetween(q.after?.date ?? first, last)
  outer: for (const date of walk) {
    const articles = ctx.market.news(date)
    for (let k = 0; k < articles.length; k++) {
      const idx = q.desc ? articles.length - 1 - k : k
      if (q.after !== undefined && date === q.after.date && (q.desc ? idx >= q.after.idx : idx <= q.after.idx)) continue
      const article = articles[idx]!
      const ms = Date.parse(article.published_utc)
      if (ms < q.lo || ms > q.hi || !tickerMatches(article, q.tickers)) continue
      found.push({ article, date, idx })
      if (found.length > q.limit) break outer
    }
  }
  const page = found.slice(0, q.limit)
  const knobs = ctx.drift("news")
  const body: Record<string, unknown> = {
    results: page.map((f) => driftItem("news", knobs, f.article, f.idx)),
    status: "OK",
    request_id: req.requestId,
    count: page.length
  }
  if (found.length > q.limit) {
    const last = page[page.length - 1]!
    const next: NewsQuery = { ...q, after: { date: last.date, idx: last.idx } }
    body["next_url"] = `${req.origin}/v2/reference/news?cursor=${encodeCursor(next)}`
  }
  return ok(body)
}
