/**
 * Building minute/hour/day (or n-second) bars from the market's 1-second bars:
 * o first, c last, h max, l min, v sum, vw volume-weighted, n sum. Windows are epoch-aligned
 * (New York offsets are whole hours, so minute and hour windows line up with wall-clock time);
 * day bars are stamped 00:00 America/New_York.
 */
import type { MarketData, WireAgg, WireIndexAgg } from "../MarketData.js"
import { nyTimeMs } from "../../domain/calendar.js"
import { round4 } from "../market/rounding.js"

export type AnyAgg = WireAgg | WireIndexAgg
export type Timespan = "second" | "minute" | "hour" | "day"
export const TIMESPANS: ReadonlyArray<Timespan> = ["second", "minute", "hour", "day"]

const UNIT_MS: Readonly<Record<Exclude<Timespan, "day">, number>> = { second: 1000, minute: 60_000, hour: 3_600_000 }

const hasVolume = (bar: AnyAgg): bar is WireAgg => "v" in bar

/** One bar out of consecutive bars (non-empty), stamped `t`. */
export const combineBars = (group: ReadonlyArray<AnyAgg>, t: number): AnyAgg => {
  const first = group[0]!
  let h = first.h,
    l = first.l
  for (const b of group) {
    if (b.h > h) h = b.h
    if (b.l < l) l = b.l
  }
  const o = first.o,
    c = group[group.length - 1]!.c
  if (!hasVolume(first)) return { o, c, h, l, t }
  let v = 0,
    n = 0,
    notional = 0
  for (const b of group as ReadonlyArray<WireAgg>) {
    v += b.v
    n += b.n
    notional += b.vw * b.v
  }
  const vw = Math.min(h, Math.max(l, round4(v > 0 ? notional / v : (h + l) / 2)))
  return { v, vw, o, c, h, l, t, n }
}

/** Groups sorted bars by `windowOf(t)` and combines each group. */
export const aggregateBars = (bars: ReadonlyArray<AnyAgg>, windowOf: (t: number) => number): Array<AnyAgg> => {
  const out: Array<AnyAgg> = []
  let start = 0
  while (start < bars.length) {
    const w = windowOf(bars[start]!.t)
    let end = start + 1
    while (end < bars.length && windowOf(bars[end]!.t) === w) end++
    out.push(combineBars(bars.slice(start, end), w))
    start = end
  }
  return out
}

/**
 * A NY date's bars at `multiplier × timespan` (for `day`, the single day bar; grouping several
 * days is done by the caller). Indices into this array are the drift `idx` of aggs.
 */
export const daySeries = (
  market: MarketData,
  ticker: string,
  date: string,
  multiplier: number,
  timespan: Timespan
): ReadonlyArray<AnyAgg> => {
  const bars = market.secondBars(ticker, date)
  if (bars.length === 0) return bars
  if (timespan === "day") return [combineBars(bars, nyTimeMs(date, 0))]
  if (timespan === "second" && multiplier === 1) return bars
  const width = UNIT_MS[timespan] * multiplier
  return aggregateBars(bars, (t) => t - (t % width))
}

/** Window start of `ms` at a sub-day resolution. */
export const windowStart = (ms: number, multiplier: number, timespan: Exclude<Timespan, "day">): number => {
  const width = UNIT_MS[timespan] * multiplier
  return ms - (ms % width)
}
