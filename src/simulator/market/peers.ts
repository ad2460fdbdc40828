/**
 * The universe's stocks besides SPY (QQQ, IWM). A day of one is a Brownian bridge between its own
 * slow anchor levels, plus beta × SPY's intraday swing (so it moves with SPY, a bit more), plus
 * noise of its own; per-second bars and extended hours as SPY's. Every stream is labelled by the
 * ticker (`rngFor(seed, "QQQ-path", date)`…), so SPY's streams, bars and options never change.
 */
import type { WireAgg } from "../MarketData.js"
import { addDays, nyTimeMs } from "../../domain/calendar.js"
import { SIGMA, thinStockBars, walk } from "./extended.js"
import type { PostPricing, PricingDay } from "./options.js"
import { gaussian, normals, rngFor } from "./random.js"
import { secondBars, type UnderlyingDay } from "./underlying.js"

export interface PeerSpec {
  readonly ticker: string
  /** Mean level; the anchor swings around it by `swings` (waves of 173 and 41 days, as SPY's). */
  readonly level: number
  readonly swings: readonly [number, number]
  /** Intraday return as a multiple of SPY's. */
  readonly beta: number
  /** Own per-second noise in dollars. */
  readonly sigma: number
  /** Implied vol of its options relative to VIX (QQQ's VXN runs above VIX). */
  readonly volFactor: number
  /** Share volume relative to SPY's. */
  readonly volumeScale: number
}

export const PEERS: Readonly<Record<string, PeerSpec>> = {
  QQQ: { ticker: "QQQ", level: 500, swings: [13, 5], beta: 1.2, sigma: 0.015, volFactor: 1.2, volumeScale: 0.6 },
  IWM: { ticker: "IWM", level: 225, swings: [8, 4], beta: 1.1, sigma: 0.009, volFactor: 1.3, volumeScale: 0.45 }
}

/** SPY's mean level: the scale of SPY's noise parameters. */
const SPY_LEVEL = 575
const MISSING_SECOND = 0.05
const TAU = 2 * Math.PI

export interface PeerDay extends PricingDay {
  readonly ticker: string
  readonly bars: ReadonlyArray<WireAgg>
}

export interface PeerExtended extends PostPricing {
  readonly pre: ReadonlyArray<WireAgg>
  readonly post: ReadonlyArray<WireAgg>
}

const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000

/** The slow-moving level around which the ticker trades on a date. */
export const peerAnchor = (seed: number, spec: PeerSpec, date: string): number => {
  const phase = rngFor(seed, `${spec.ticker}-anchor`)
  const d = dayNumber(date)
  const [a, b] = spec.swings
  return spec.level + a * Math.sin((TAU * d) / 173 + TAU * phase()) + b * Math.sin((TAU * d) / 41 + TAU * phase())
}

const pathOf = (seed: number, spec: PeerSpec, spy: UnderlyingDay): { start: number; spot: Float64Array } => {
  const { date } = spy
  const spySpot = spy.spot
  const n = spySpot.length
  const rng = rngFor(seed, `${spec.ticker}-path`, date)
  const start = peerAnchor(seed, spec, date) + 0.8 * (spec.level / SPY_LEVEL) * gaussian(rng)
  const end = peerAnchor(seed, spec, addDays(date, 1))
  const spot = new Float64Array(n)
  const normal = normals(rng)
  let w = 0
  for (let i = 0; i < n; i++) {
    w += spec.sigma * normal()
    spot[i] = w
  }
  const finalWalk = w
  // SPY's swing away from the line through its first and last values, scaled to this ticker
  const s0 = spySpot[0]!,
    s1 = spySpot[n - 1]!
  const k = (spec.beta * start) / s0
  for (let i = 0; i < n; i++) {
    const f = (i + 1) / n
    const g = n > 1 ? i / (n - 1) : 0
    spot[i] = start + (end - start) * f + k * (spySpot[i]! - (s0 + (s1 - s0) * g)) + spot[i]! - f * finalWalk
  }
  return { start, spot }
}

const barsOf = (
  seed: number,
  spec: PeerSpec,
  date: string,
  openMs: number,
  start: number,
  spot: Float64Array
): Array<WireAgg> =>
  secondBars(
    rngFor(seed, `${spec.ticker}-bars`, date),
    openMs,
    start,
    spot,
    MISSING_SECOND,
    Math.round(19_900 * spec.volumeScale)
  )

/** The ticker's session on SPY's trading day (same seconds), its options' vol from SPY's VIX. */
export const generatePeerDay = (seed: number, spec: PeerSpec, spy: UnderlyingDay): PeerDay => {
  const { start, spot } = pathOf(seed, spec, spy)
  const vix = spy.vix.map((x) => x * spec.volFactor)
  return {
    ticker: spec.ticker,
    date: spy.date,
    openMs: spy.openMs,
    spot,
    vix,
    bars: barsOf(seed, spec, spy.date, spy.openMs, start, spot)
  }
}

/** Pre-market 04:00–open and after-hours close–close+4 h, thin, as SPY's (extended.ts). */
export const generatePeerExtended = (
  seed: number,
  spec: PeerSpec,
  day: PeerDay,
  spyPost: PostPricing,
  postMs: number
): PeerExtended => {
  const { date, openMs, spot } = day
  const sigma = (SIGMA * spec.level) / SPY_LEVEL
  const open = day.bars[0]?.o ?? spot[0]!
  const last = spot[spot.length - 1]!
  const preStart = nyTimeMs(date, 4)
  const preRng = rngFor(seed, `${spec.ticker}-pre`, date)
  const prePath = walk(preRng, open, Math.round((openMs - preStart) / 1000), true, sigma)
  const postRng = rngFor(seed, `${spec.ticker}-post`, date)
  const postSpot = walk(postRng, last, postMs / 1000, false, sigma)
  return {
    pre: thinStockBars(preRng, preStart, prePath, prePath[0]!),
    post: thinStockBars(postRng, spyPost.closeMs, postSpot, last),
    closeMs: spyPost.closeMs,
    postSpot,
    postVixValues: spyPost.postVixValues.map((x) => x * spec.volFactor)
  }
}
