/**
 * `GET /v2/aggs/ticker/:ticker/range/:multiplier/:timespan/:from/:to` (polygon-wire.md §6).
 * `limit` caps the bars of one page; `next_url` rewrites `from` (asc) or `to` (desc) to the
 * next bar's `t`, and its cursor carries `limit`, `sort` and `adjusted`.
 */
import { addDays, datesBetween, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { type AnyAgg, combineBars, daySeries, type Timespan, TIMESPANS, windowStart } from "./aggregate.js"
import { decodeQueryCursor, encodeQueryCursor } from "./cursor.js"
import { driftItem } from "./faults.js"
import { badRequest, type Handler, ok, type RestContext } from "./http.js"
import { type DateOrMs, parseDateOrMs, parseLimit } from "./params.js"

const DEFAULT_LIMIT = 5000
const MAX_LIMIT = 50_000

interface Picked {
  readonly bar: AnyAgg
  readonly idx: number
}

const firstAtOrAfter = (s: ReadonlyArray<AnyAgg>, t: number): number => {
  let lo = 0, hi = s.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (s[mid]!.t < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Up to `want` bars with t in [fromMs, toMs], walking the dates in the sort direction. */
const collect = (dates: ReadonlyArray<string>, series: (date: string) => ReadonlyArray<AnyAgg>, fromMs: number, toMs: number, desc: boolean, want: number): Array<Picked> => {
  const out: Array<Picked> = []
  for (const date of desc ? [...dates].reverse() : dates) {
    const s = series(date)
    if (desc) {
      for (let i = firstAtOrAfter(s, toMs + 1) - 1; i >= 0 && s[i]!.t >= fromMs; i--) {
        out.push({ bar: s[i]!, idx: i })
        if (out.length === want) return out
      }
    } else {
      for (let i = firstAtOrAfter(s, fromMs); i < s.length && s[i]!.t <= toMs; i++) {
        out.push({ bar: s[i]!, idx: i })
        if (out.length === want) return out
      }
    }
  }
  return out
}

const dayNumber = (date: string) => Math.floor(Date.parse(`${date}T00:00:00Z`) / 86_400_000)

/** Multi-day bars: groups of `multiplier` calendar days aligned on the epoch day number. */
const multiDaySeries = (ctx: RestContext, ticker: string, dates: ReadonlyArray<string>, multiplier: number): Array<AnyAgg> => {
  const groups = new Map<number, { start: string; bars: Array<AnyAgg> }>()
  for (const date of dates) {
    const bar = daySeries(ctx.market, ticker, date, 1, "day")[0]
    if (bar === undefined) continue
    const key = Math.floor(dayNumber(date) / multiplier)
    const group = groups.get(key) ?? { start: date, bars: [] }
    group.bars.push(bar)
    groups.set(key, group)
  }
  return [...groups.values()].map((g) => combineBars(g.bars, nyTimeMs(g.start, 0)))
}

const boundsOf = (from: DateOrMs, to: DateOrMs, multiplier: number, timespan: Timespan) => {
  const snap = (ms: number) => (timespan === "day" ? nyTimeMs(nyDateOf(ms), 0) : windowStart(ms, multiplier, timespan))
  return {
    fromMs: from._tag === "Date" ? nyTimeMs(from.date, 0) : snap(from.ms),
    toMs: to._tag === "Date" ? nyTimeMs(addDays(to.date, 1), 0) - 1 : to.ms
  }
}

export const aggsHandler: Handler = (req, ctx) => {
  const [, , , ticker = "", , rawMultiplier = "", rawTimespan = "", rawFrom = "", rawTo = ""] = req.segments
  const multiplier = Number(rawMultiplier)
  if (!Number.isInteger(multiplier) || multiplier < 1) return badRequest(req.requestId, "multiplier must be a positive integer")
  if (!TIMESPANS.includes(rawTimespan as Timespan)) return badRequest(req.requestId, `unsupported timespan: ${rawTimespan}`)
  const timespan = rawTimespan as Timespan
  const from = parseDateOrMs(rawFrom), to = parseDateOrMs(rawTo)
  if (from === undefined || to === undefined) return badRequest(req.requestId, "from and to must be YYYY-MM-DD or a Unix ms timestamp")

  const cursor = req.query.get("cursor")
  const q = cursor ? decodeQueryCursor(cursor) : req.query
  const limit = parseLimit(q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
  const desc = q.get("sort") === "desc"
  const adjusted = q.get("adjusted") !== "false"
  const isIndex = ticker.startsWith("I:")

  const { fromMs, toMs } = boundsOf(from, to, multiplier, timespan)
  const dates = toMs < fromMs ? [] : datesBetween(nyDateOf(fromMs), nyDateOf(toMs))
  // multi-day bars straddle dates, so they form one series (drift idx 0, like every day bar)
  const picked = timespan === "day" && multiplier > 1
    ? collect(["all"], () => multiDaySeries(ctx, ticker, dates, multiplier), fromMs, toMs, desc, limit + 1).map((p) => ({ ...p, idx: 0 }))
    : collect(dates, (date) => daySeries(ctx.market, ticker, date, multiplier, timespan), fromMs, toMs, desc, limit + 1)

  const page = picked.slice(0, limit)
  const knobs = ctx.drift("aggs")
  const envelope: Record<string, unknown> = { ticker, queryCount: page.length, resultsCount: page.length }
  if (!isIndex) envelope["adjusted"] = adjusted
  if (page.length > 0) envelope["results"] = page.map((p) => driftItem("aggs", knobs, p.bar, p.idx))
  envelope["status"] = "OK"
  envelope["request_id"] = req.requestId
  if (page.length > 0) envelope["count"] = page.length
  const next = picked[limit]
  if (next !== undefined) {
    const state: Record<string, string> = { limit: String(limit), sort: desc ? "desc" : "asc" }
    if (!isIndex) state["adjusted"] = String(adjusted)
    const bounds = desc ? `${rawFrom}/${next.bar.t}` : `${next.bar.t}/${rawTo}`
    envelope["next_url"] = `${req.origin}/v2/aggs/ticker/${ticker}/range/${multiplier}/${timespan}/${bounds}?cursor=${encodeQueryCursor(state)}`
  }
  return ok(envelope)
}
