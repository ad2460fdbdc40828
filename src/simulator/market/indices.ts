/**
 * The universe's indices besides I:VIX, each derived from its ETF's path so they move together:
 * I:SPX ≈ 10.03 × SPY, I:NDX ≈ 41 × QQQ, I:RUT ≈ 10 × IWM, plus a small tracking noise of their
 * own. One value a second in the session; pre-market and after-hours windows as I:VIX's
 * (03:15–09:25 and close–close+15 min), walks from their own streams.
 */
import type { WireIndexAgg } from "../MarketData.js"
import { indexBars, indexPreWindow, SIGMA, walk } from "./extended.js"
import { normals, rngFor } from "./random.js"
import type { PricingDay } from "./options.js"

export interface IndexSpec {
  readonly ticker: string
  /** The ETF whose path the index follows. */
  readonly source: string
  readonly ratio: number
  /** Per-second step of the tracking noise (an AR(1) process, index points). */
  readonly noise: number
}

export const DERIVED_INDICES: Readonly<Record<string, IndexSpec>> = {
  "I:SPX": { ticker: "I:SPX", source: "SPY", ratio: 10.03, noise: 0.06 },
  "I:NDX": { ticker: "I:NDX", source: "QQQ", ratio: 41, noise: 0.3 },
  "I:RUT": { ticker: "I:RUT", source: "IWM", ratio: 10, noise: 0.03 }
}

export interface IndexDay {
  readonly bars: ReadonlyArray<WireIndexAgg>
  readonly values: Float64Array
}

export interface IndexExtended {
  readonly pre: ReadonlyArray<WireIndexAgg>
  readonly post: ReadonlyArray<WireIndexAgg>
}

export const generateIndexDay = (seed: number, spec: IndexSpec, source: PricingDay): IndexDay => {
  const rng = rngFor(seed, spec.ticker, source.date)
  const normal = normals(rng)
  const values = new Float64Array(source.spot.length)
  let noise = 0
  for (let i = 0; i < values.length; i++) {
    noise = 0.98 * noise + spec.noise * normal()
    values[i] = source.spot[i]! * spec.ratio + noise
  }
  return { values, bars: indexBars(rng, source.openMs, values, values[0]!) }
}

/** Index steps outside the session: SPY's, relative to the level. */
const sigmaAt = (level: number): number => (SIGMA * level) / 575

export const generateIndexExtended = (
  seed: number,
  spec: IndexSpec,
  date: string,
  day: IndexDay,
  closeMs: number,
  postMs: number
): IndexExtended => {
  const first = day.values[0]!,
    last = day.values[day.values.length - 1]!
  const [preStart, preEnd] = indexPreWindow(date)
  const preRng = rngFor(seed, `${spec.ticker}-pre`, date)
  const preValues = walk(preRng, first, Math.round((preEnd - preStart) / 1000), true, sigmaAt(first))
  const postRng = rngFor(seed, `${spec.ticker}-post`, date)
  const postValues = walk(postRng, last, postMs / 1000, false, sigmaAt(last))
  return {
    pre: indexBars(preRng, preStart, preValues, preValues[0]!),
    post: indexBars(postRng, closeMs, postValues, last)
  }
}
