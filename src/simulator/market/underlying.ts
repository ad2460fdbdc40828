/**
 * One trading day of SPY and I:VIX per-second bars. SPY follows a Brownian bridge from the
 * day's anchor level to the next calendar day's, so consecutive days join up roughly;
 * VIX moves against SPY's intraday return.
 */
import type { WireAgg, WireIndexAgg } from "../MarketData.js"
import { addDays } from "../../domain/calendar.js"
import { bitsOf, gaussian, normals, rngFor } from "./random.js"
import { round2, vwapWithin } from "./rounding.js"
import { sessionOn } from "./tradingCalendar.js"

export interface UnderlyingDay {
  readonly date: string
  /** Epoch ms of the session's first second. */
  readonly openMs: number
  /** SPY price at the end of each session second (also for seconds without a bar). */
  readonly spot: Float64Array
  /** VIX value at the end of each session second. */
  readonly vix: Float64Array
  readonly spyBars: ReadonlyArray<WireAgg>
  readonly vixBars: ReadonlyArray<WireIndexAgg>
}

const SPY_SECOND_SIGMA = 0.035
const SPY_MISSING_SECOND = 0.05
const TAU = 2 * Math.PI

const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000

/** The slow-moving SPY level around which a day trades (≈ 551–599). */
export const spyAnchor = (seed: number, date: string): number => {
  const phase = rngFor(seed, "anchor")
  const d = dayNumber(date)
  return 575 + 17 * Math.sin((TAU * d) / 173 + TAU * phase()) + 7 * Math.sin((TAU * d) / 41 + TAU * phase())
}

const vixBase = (seed: number, date: string): number =>
  19 + 3.5 * Math.sin((TAU * dayNumber(date)) / 97 + TAU * rngFor(seed, "vix-anchor")())

const spotPath = (seed: number, date: string, seconds: number): { start: number; spot: Float64Array } => {
  const rng = rngFor(seed, "SPY-path", date)
  const start = spyAnchor(seed, date) + 0.8 * gaussian(rng)
  const end = spyAnchor(seed, addDays(date, 1))
  const spot = new Float64Array(seconds)
  const normal = normals(rng)
  let walk = 0
  for (let i = 0; i < seconds; i++) {
    walk += SPY_SECOND_SIGMA * normal()
    spot[i] = walk
  }
  const finalWalk = walk
  for (let i = 0; i < seconds; i++) {
    const f = (i + 1) / seconds
    spot[i] = start + (end - start) * f + spot[i]! - f * finalWalk
  }
  return { start, spot }
}

/**
 * Per-second bars along `spot` (each second's close; `start` opens the first), drawn from `rng`:
 * about `missing` of the seconds have no bar; volumes are 100 + up to `maxExtra`.
 */
export const secondBars = (
  rng: () => number,
  openMs: number,
  start: number,
  spot: Float64Array,
  missing: number,
  maxExtra: number
): Array<WireAgg> => {
  const bars: Array<WireAgg> = []
  for (let i = 0; i < spot.length; i++) {
    // one draw decides presence and wicks (16 + 8 + 8 bits), one the VWAP, one the sizes
    const bits = bitsOf(rng())
    if ((bits & 0xffff) < missing * 0x10000) continue
    const vwFraction = rng(),
      size = rng()
    const wickUp = ((bits >>> 16) & 0xff) / 256,
      wickDown = (bits >>> 24) / 256
    const tradeSize = (bitsOf(size) & 0xffff) / 0x10000
    const o = round2(i === 0 ? start : spot[i - 1]!)
    const c = round2(spot[i]!)
    const h = round2(Math.max(o, c) + (wickUp < 0.3 ? 0.01 * Math.ceil(wickUp * 10) : 0))
    const l = round2(Math.min(o, c) - (wickDown < 0.3 ? 0.01 * Math.ceil(wickDown * 10) : 0))
    const v = 100 + Math.floor(size * size * size * maxExtra)
    const n = Math.max(1, Math.round(v / (80 + tradeSize * 220)))
    bars.push({ v, vw: vwapWithin(l, h, vwFraction), o, c, h, l, t: openMs + i * 1000, n })
  }
  return bars
}

const spyBarsOf = (seed: number, date: string, openMs: number, start: number, spot: Float64Array): Array<WireAgg> =>
  secondBars(rngFor(seed, "SPY-bars", date), openMs, start, spot, SPY_MISSING_SECOND, 19_900)

const vixPathAndBars = (seed: number, date: string, openMs: number, start: number, spot: Float64Array) => {
  const rng = rngFor(seed, "VIX", date)
  const base = vixBase(seed, date)
  const vix = new Float64Array(spot.length)
  const bars: Array<WireIndexAgg> = []
  const normal = normals(rng)
  let noise = 0
  let previous = Math.min(25, Math.max(14, base))
  for (let i = 0; i < spot.length; i++) {
    noise = 0.999 * noise + 0.01 * normal()
    const value = Math.min(25, Math.max(14, base - 0.45 * (spot[i]! - start) + noise))
    vix[i] = value
    const o = round2(previous),
      c = round2(value)
    const wicks = bitsOf(rng())
    const wickUp = (wicks & 0xffff) < 0.1 * 0x10000 ? 0.01 : 0
    const wickDown = wicks >>> 16 < 0.1 * 0x10000 ? 0.01 : 0
    bars.push({ o, c, h: round2(Math.max(o, c) + wickUp), l: round2(Math.min(o, c) - wickDown), t: openMs + i * 1000 })
    previous = value
  }
  return { vix, bars }
}

/** The day's series, or undefined when the market is closed on `date`. */
export const generateUnderlyingDay = (seed: number, date: string): UnderlyingDay | undefined => {
  const session = sessionOn(date)
  if (session === undefined) return undefined
  const seconds = Math.round((session.closeMs - session.openMs) / 1000)
  const { start, spot } = spotPath(seed, date, seconds)
  const spyBars = spyBarsOf(seed, date, session.openMs, start, spot)
  const { vix, bars: vixBars } = vixPathAndBars(seed, date, session.openMs, start, spot)
  return { date, openMs: session.openMs, spot, vix, spyBars, vixBars }
}
