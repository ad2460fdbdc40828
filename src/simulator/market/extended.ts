/**
 * Extended-hours bars around a trading day's regular session, as Polygon's REST aggregates carry
 * them: SPY pre-market 04:00–09:30 and after-hours close–close+4h (16:00–20:00; 13:00–17:00 on an
 * early close) with thin activity; SPY options until close+15 min (16:15); I:VIX values 03:15–09:25
 * and close–close+15 min (Cboe's global-trading-hours dissemination; whether Polygon's `I:VIX`
 * aggregates carry exactly these windows is UNCONFIRMED).
 *
 * Every series here draws from its own RNG stream (labels "…-pre"/"…-post"), so the regular
 * session's bars (underlying.ts, options.ts) are byte-identical with or without extended hours.
 */
import type { WireAgg, WireIndexAgg } from "../MarketData.js"
import { nyTimeMs } from "../../domain/calendar.js"
import { bitsOf, normals, rngFor } from "./random.js"
import { round2, vwapWithin } from "./rounding.js"
import type { UnderlyingDay } from "./underlying.js"

/** Chance that SPY trades in a given extended-hours second (regular session: 0.95). */
export const SPY_EXTENDED_TRADE = 0.04
/** Option trades after the close are this fraction as likely as in the session. */
export const OPTION_POST_FACTOR = 0.25
export const SPY_POST_MS = 4 * 3_600_000
export const OPTION_POST_MS = 15 * 60_000
export const VIX_POST_MS = 15 * 60_000

export interface ExtendedDay {
  readonly preSpy: ReadonlyArray<WireAgg>
  readonly postSpy: ReadonlyArray<WireAgg>
  readonly preVix: ReadonlyArray<WireIndexAgg>
  readonly postVix: ReadonlyArray<WireIndexAgg>
  /** Epoch ms of the first after-hours second (the regular close). */
  readonly closeMs: number
  /** SPY and VIX at the end of each after-hours second, for pricing options until close+15 min. */
  readonly postSpot: Float64Array
  readonly postVixValues: Float64Array
}

/** SPY's per-second step outside the session (other tickers scale it to their level). */
export const SIGMA = 0.02

/** A walk of `seconds` values; `backward` walks away from `anchor` towards the past. */
export const walk = (
  rng: () => number,
  anchor: number,
  seconds: number,
  backward: boolean,
  sigma = SIGMA
): Float64Array => {
  const out = new Float64Array(seconds)
  const normal = normals(rng)
  let x = anchor
  for (let k = 0; k < seconds; k++) {
    const i = backward ? seconds - 1 - k : k
    if (!backward) x += sigma * normal()
    out[i] = x
    if (backward) x += sigma * normal()
  }
  return out
}

/** Thin stock bars over a path: bar i opens at path[i-1] (or `first`) and closes at path[i]. */
export const thinStockBars = (
  rng: () => number,
  startMs: number,
  path: Float64Array,
  first: number
): Array<WireAgg> => {
  const bars: Array<WireAgg> = []
  for (let i = 0; i < path.length; i++) {
    const bits = bitsOf(rng())
    if ((bits & 0xffff) >= SPY_EXTENDED_TRADE * 0x10000) continue
    const size = rng(),
      vwFraction = rng()
    const o = round2(i === 0 ? first : path[i - 1]!),
      c = round2(path[i]!)
    const h = round2(Math.max(o, c) + (((bits >>> 16) & 0xff) < 64 ? 0.01 : 0))
    const l = round2(Math.min(o, c) - (bits >>> 24 < 64 ? 0.01 : 0))
    const v = 1 + Math.floor(size * size * 2_000)
    const n = Math.max(1, Math.round(v / 150))
    bars.push({ v, vw: vwapWithin(l, h, vwFraction), o, c, h, l, t: startMs + i * 1000, n })
  }
  return bars
}

/** Index bars over values: one per second, bar i opens at values[i-1] (or `first`), wicks a cent at times. */
export const indexBars = (
  rng: () => number,
  startMs: number,
  values: Float64Array,
  first: number
): Array<WireIndexAgg> => {
  const bars: Array<WireIndexAgg> = []
  let previous = first
  for (let i = 0; i < values.length; i++) {
    const o = round2(previous),
      c = round2(values[i]!)
    const wicks = bitsOf(rng())
    const up = (wicks & 0xffff) < 0.1 * 0x10000 ? 0.01 : 0,
      down = wicks >>> 16 < 0.1 * 0x10000 ? 0.01 : 0
    bars.push({ o, c, h: round2(Math.max(o, c) + up), l: round2(Math.min(o, c) - down), t: startMs + i * 1000 })
    previous = values[i]!
  }
  return bars
}

/** The pre-market window of index values (I:VIX's, which every index of the universe shares): 03:15–09:25 ET. */
export const indexPreWindow = (date: string): readonly [number, number] => [
  nyTimeMs(date, 3, 15),
  nyTimeMs(date, 9, 25)
]

const clampVix = (x: number): number => Math.min(25, Math.max(14, x))

/** The extended hours of a generated regular day (undefined day = closed market = nothing). */
export const generateExtendedDay = (seed: number, day: UnderlyingDay): ExtendedDay => {
  const { date, openMs, spot, vix } = day
  const closeMs = openMs + spot.length * 1000
  const open = day.spyBars[0]?.o ?? spot[0]!
  const last = spot[spot.length - 1]!,
    lastVix = vix[vix.length - 1]!

  const preStart = nyTimeMs(date, 4)
  const preRng = rngFor(seed, "SPY-pre", date)
  const prePath = walk(preRng, open, Math.round((openMs - preStart) / 1000), true)
  const preSpy = thinStockBars(preRng, preStart, prePath, prePath[0]!)

  const postRng = rngFor(seed, "SPY-post", date)
  const postSpot = walk(postRng, last, SPY_POST_MS / 1000, false)
  const postSpy = thinStockBars(postRng, closeMs, postSpot, last)

  const [vixPreStart, vixPreEnd] = indexPreWindow(date)
  const vixPreRng = rngFor(seed, "VIX-pre", date)
  const preValues = walk(vixPreRng, vix[0]!, Math.round((vixPreEnd - vixPreStart) / 1000), true).map(clampVix)
  const preVix = indexBars(vixPreRng, vixPreStart, preValues, preValues[0]!)

  const vixPostRng = rngFor(seed, "VIX-post", date)
  const postVixValues = walk(vixPostRng, lastVix, VIX_POST_MS / 1000, false).map(clampVix)
  const postVix = indexBars(vixPostRng, closeMs, postVixValues, lastVix)

  return { preSpy, postSpy, preVix, postVix, closeMs, postSpot, postVixValues }
}
