/**
 * `GET /v2/aggs/ticker/:ticker/range/:multiplier/:timespan/:from/:to` (polygon-wire.md §6).
 * `limit` caps the bars of one page; `next_url` rewrites `from` (asc) or `to` (desc) to the
 * next bar's `t`, and its cursor carries `limit`, `sort` and `adjusted`.
 */
import { addDays, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { type AnyAgg, combineBars, daySeries, type Timespan, TIMESPANS, windowStart } from "./aggregate.js"
import { decodeQueryCursor, encodeQueryCursor } from "./cursor.js"
import { driftItem } from "./faults.js"
import { badRequest, type Handler, ok, okJson, type RestContext } from "./http.js"
import { type DateOrMs, parseDateOrMs, parseLimit } from "./params.js"
import { ascendingSlice, descendingSlice, serializedBars } from "./serialize.js"
import { lastServedStart } from "./delayCut.js"
import { cachedSecondBars } from "./seriesCache.js"

const DEFAULT_LIMIT = 5000
const MAX_LIMIT = 50_000

interface Picked {
  readonly bar: AnyAgg
  readonly idx: number
}

const firstAtOrAfter = (s: ReadonlyArray<AnyAgg>, t: number): number => {
  let lo = 0,
    hi = s.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (s[mid]!.t < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Up to `want` bars with t in [fromMs, toMs], walking the dates in the sort direction. */
const collect = (
  dates: ReadonlyArray<string>,
  series: (date: string) => ReadonlyArray<AnyAgg>,
  fromMs: number,
  toMs: number,
  desc: boolean,
  want: number
): Array<Picked> => {
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

/** Consecutive bars of one series on a page: indices [from, to), served ascending or descending. */
interface Run {
  readonly series: ReadonlyArray<AnyAgg>
  readonly from: number
  readonly to: number
}

/**
 * `collect` without per-bar objects: the page as runs (in page order) plus the bar after the page.
 * Same walk, same bars: run i of a descending page lists its bars from `to - 1` down to `from`.
 */
const collectRuns = (
  dates: ReadonlyArray<string>,
  series: (date: string) => ReadonlyArray<AnyAgg>,
  fromMs: number,
  toMs: number,
  desc: boolean,
  limit: number
) => {
  const runs: Array<Run> = []
  let count = 0
  for (let d = 0; d < dates.length; d++) {
    const s = series(dates[desc ? dates.length - 1 - d : d]!)
    const lo = firstAtOrAfter(s, fromMs),
      hi = firstAtOrAfter(s, toMs + 1)
    if (hi <= lo) continue
    if (count === limit) return { runs, count, next: s[desc ? hi - 1 : lo] }
    const take = Math.min(hi - lo, limit - count)
    runs.push(desc ? { series: s, from: hi - take, to: hi } : { series: s, from: lo, to: lo + take })
    count += take
    if (take < hi - lo) return { runs, count, next: s[desc ? hi - take - 1 : lo + take] }
  }
  return { runs, count, next: undefined }
}

/**
 * Sub-second-day series other than the market's own 1-second bars (which it caches) are derived
 * once per source array: same array identity on every request, so its serialized form is cached too.
 */
const derived = new WeakMap<ReadonlyArray<AnyAgg>, Map<string, ReadonlyArray<AnyAgg>>>()

const cachedDaySeries = (
  ctx: RestContext,
  ticker: string,
  date: string,
  multiplier: number,
  timespan: Timespan
): ReadonlyArray<AnyAgg> => {
  const source = cachedSecondBars(ctx.market, ticker, date)
  if (source.length === 0 || (timespan === "second" && multiplier === 1)) return source
  let byResolution = derived.get(source)
  if (byResolution === undefined) derived.set(source, (byResolution = new Map()))
  const key = `${multiplier}/${timespan}`
  let series = byResolution.get(key)
  if (series === undefined) byResolution.set(key, (series = daySeries(ctx.market, ticker, date, multiplier, timespan)))
  return series
}

/** Small memo for the luxon-backed calendar calls a request makes (a few per request, each ~10–100 µs). */
const memo = <A extends string | number, B>(f: (a: A) => B): ((a: A) => B) => {
  const m = new Map<A, B>()
  return (a) => {
    let b = m.get(a)
    if (b === undefined) {
      if (m.size > 4096) m.clear()
      m.set(a, (b = f(a)))
    }
    return b
  }
}
const nyMidnight = memo((date: string) => nyTimeMs(date, 0))
const nyDate = memo(nyDateOf)
const nextDate = memo((date: string) => addDays(date, 1))
const dateRange = (first: string, last: string): Array<string> => {
  const out: Array<string> = []
  for (let d = first; d <= last; d = nextDate(d)) out.push(d)
  return out
}

const dayNumber = (date: string) => Math.floor(Date.parse(`${date}T00:00:00Z`) / 86_400_000)

/** Multi-day bars: groups of `multiplier` calendar days aligned on the epoch day number. */
const multiDaySeries = (
  ctx: RestContext,
  ticker: string,
  dates: ReadonlyArray<string>,
  multiplier: number
): Array<AnyAgg> => {
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
  const snap = (ms: number) => (timespan === "day" ? nyMidnight(nyDate(ms)) : windowStart(ms, multiplier, timespan))
  return {
    fromMs: from._tag === "Date" ? nyMidnight(from.date) : snap(from.ms),
    toMs: to._tag === "Date" ? nyMidnight(nextDate(to.date)) - 1 : to.ms
  }
}

export const aggsHandler: Handler = (req, ctx) => {
  const [, , , ticker = "", , rawMultiplier = "", rawTimespan = "", rawFrom = "", rawTo = ""] = req.segments
  const multiplier = Number(rawMultiplier)
  if (!Number.isInteger(multiplier) || multiplier < 1)
    return badRequest(req.requestId, "multiplier must be a positive integer")
  if (!TIMESPANS.includes(rawTimespan as Timespan))
    return badRequest(req.requestId, `unsupported timespan: ${rawTimespan}`)
  const timespan = rawTimespan as Timespan
  const from = parseDateOrMs(rawFrom),
    to = parseDateOrMs(rawTo)
  if (from === undefined || to === undefined)
    return badRequest(req.requestId, "from and to must be YYYY-MM-DD or a Unix ms timestamp")

  const cursor = req.query.get("cursor")
  const q = cursor ? decodeQueryCursor(cursor) : req.query
  const limit = parseLimit(q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
  const desc = q.get("sort") === "desc"
  const adjusted = q.get("adjusted") !== "false"
  const isIndex = ticker.startsWith("I:")

  const bounds = boundsOf(from, to, multiplier, timespan)
  const fromMs = bounds.fromMs
  const served = lastServedStart(ctx.clock.now(), ctx.delayMs, multiplier, timespan, (ms) => nyMidnight(nyDate(ms)))
  const toMs = served === undefined ? bounds.toMs : Math.min(bounds.toMs, served)
  const dates = toMs < fromMs ? [] : dateRange(nyDate(fromMs), nyDate(toMs))
  const knobs = ctx.drift("aggs")
  const nextUrl = (nextT: number): string => {
    const state: Record<string, string> = { limit: String(limit), sort: desc ? "desc" : "asc" }
    if (!isIndex) state["adjusted"] = String(adjusted)
    const bounds = desc ? `${rawFrom}/${nextT}` : `${nextT}/${rawTo}`
    return `${req.origin}/v2/aggs/ticker/${ticker}/range/${multiplier}/${timespan}/${bounds}?cursor=${encodeQueryCursor(state)}`
  }

  // Fast path (no drift knobs): the page's bars are slices of their series' cached JSON bytes and
  // the envelope is written around them, in the same key order as the object below.
  if (knobs === undefined && !(timespan === "day" && multiplier > 1)) {
    const { runs, count, next } = collectRuns(
      dates,
      (date) => cachedDaySeries(ctx, ticker, date, multiplier, timespan),
      fromMs,
      toMs,
      desc,
      limit
    )
    let head = `{"ticker":${JSON.stringify(ticker)},"queryCount":${count},"resultsCount":${count}`
    if (!isIndex) head += `,"adjusted":${adjusted}`
    const chunks: Array<Uint8Array | string> = []
    if (count > 0) {
      chunks.push(`${head},"results":[`)
      runs.forEach((run, i) => {
        const bytes = serializedBars(run.series)
        if (i > 0) chunks.push(",")
        chunks.push(desc ? descendingSlice(bytes, run.from, run.to) : ascendingSlice(bytes, run.from, run.to))
      })
      head = "]"
    }
    let tail = `${head},"status":"OK","request_id":${JSON.stringify(req.requestId)}`
    if (count > 0) tail += `,"count":${count}`
    if (next !== undefined) tail += `,"next_url":${JSON.stringify(nextUrl(next.t))}`
    chunks.push(`${tail}}`)
    return okJson(chunks)
  }

  // multi-day bars straddle dates, so they form one series (drift idx 0, like every day bar)
  const picked =
    timespan === "day" && multiplier > 1
      ? collect(["all"], () => multiDaySeries(ctx, ticker, dates, multiplier), fromMs, toMs, desc, limit + 1).map(
          (p) => ({ ...p, idx: 0 })
        )
      : collect(
          dates,
          (date) => cachedDaySeries(ctx, ticker, date, multiplier, timespan),
          fromMs,
          toMs,
          desc,
          limit + 1
        )

  const page = picked.slice(0, limit)
  const envelope: Record<string, unknown> = { ticker, queryCount: page.length, resultsCount: page.length }
  if (!isIndex) envelope["adjusted"] = adjusted
  if (page.length > 0) envelope["results"] = page.map((p) => driftItem("aggs", knobs, p.bar, p.idx))
  envelope["status"] = "OK"
  envelope["request_id"] = req.requestId
  if (page.length > 0) envelope["count"] = page.length
  const next = picked[limit]
  if (next !== undefined) envelope["next_url"] = nextUrl(next.bar.t)
  return ok(envelope)
}
