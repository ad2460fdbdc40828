/**
 * Option chains of the universe's stocks (daily expirations, $1 strikes around the open; SPY's
 * by default) and sparse per-second option bars priced off the underlying's path and its implied
 * vol (VIX points: VIX itself for SPY) with a Bachelier (normal) model.
 */
import type { WireAgg, WireContract } from "../MarketData.js"
import { formatOptionTicker, type OptionSymbol, SPY } from "../../domain/tickers.js"
import { type ExtendedDay, OPTION_POST_FACTOR, OPTION_POST_MS } from "./extended.js"
import { hashString, rngFor } from "./random.js"
import { round2, vwapWithin } from "./rounding.js"
import { sessionOn, tradingDaysFrom } from "./tradingCalendar.js"
import type { UnderlyingDay } from "./underlying.js"

export interface ChainSpec {
  readonly asOf: string
  readonly expirations: ReadonlyArray<string>
  readonly lowStrike: number
  readonly highStrike: number
}

export const EXPIRATIONS_LISTED = 5

export const chainSpec = (asOf: string, open: number): ChainSpec => ({
  asOf,
  expirations: tradingDaysFrom(asOf, EXPIRATIONS_LISTED),
  lowStrike: Math.floor(open * 0.9),
  highStrike: Math.ceil(open * 1.1)
})

const contractOf = (underlying: string, expiration: string, right: "call" | "put", strike: number): WireContract => ({
  cfi: "OCASPS",
  contract_type: right,
  exercise_style: "american",
  expiration_date: expiration,
  primary_exchange: "BATO",
  shares_per_contract: 100,
  strike_price: strike,
  ticker: formatOptionTicker({ underlying, expiration, right, strike }),
  underlying_ticker: underlying
})

export const chainContracts = (spec: ChainSpec, underlying: string = SPY): Array<WireContract> => {
  const out: Array<WireContract> = []
  for (const expiration of spec.expirations)
    for (let strike = spec.lowStrike; strike <= spec.highStrike; strike++)
      for (const right of ["call", "put"] as const) out.push(contractOf(underlying, expiration, right, strike))
  return out.sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0))
}

export const isListed = (spec: ChainSpec, s: OptionSymbol, underlying: string = SPY): boolean =>
  s.underlying === underlying &&
  Number.isInteger(s.strike) &&
  s.strike >= spec.lowStrike &&
  s.strike <= spec.highStrike &&
  spec.expirations.includes(s.expiration)

const YEAR_MS = 365.25 * 86_400_000
const MIN_T = 60_000 / YEAR_MS
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI)

/** Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7). */
const normCdf = (x: number): number => {
  const z = Math.abs(x) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * z)
  const erf =
    1 -
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z)
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf)
}

/** Bachelier price: intrinsic plus a time value that shrinks smoothly away from the money. */
export const optionPrice = (
  right: "call" | "put",
  spot: number,
  strike: number,
  vol: number,
  years: number
): number => {
  const s = spot * vol * Math.sqrt(Math.max(years, MIN_T))
  const moneyness = right === "call" ? spot - strike : strike - spot
  const d = moneyness / s
  return Math.max(0.01, moneyness * normCdf(d) + s * INV_SQRT_2PI * Math.exp(-0.5 * d * d))
}

/** Probability that a contract trades in a given second: busier near the money. */
export const tradeProbability = (strike: number, spot: number): number =>
  0.45 * Math.exp(-Math.abs(strike - spot) / 2.5) + 0.01

/** The largest value `tradeProbability` can take (distance 0), computed the same way. */
const MAX_TRADE_PROBABILITY = tradeProbability(0, 0)

/** What options are priced off: the underlying's price and implied vol (in VIX points) at the end of each session second. */
export type PricingDay = Pick<UnderlyingDay, "date" | "openMs" | "spot" | "vix">

/** The after-hours paths options are priced off until close+15 min. */
export type PostPricing = Pick<ExtendedDay, "closeMs" | "postSpot" | "postVixValues">

export const optionBars = (seed: number, ticker: string, s: OptionSymbol, day: PricingDay): Array<WireAgg> => {
  const expiryMs = sessionOn(s.expiration)?.closeMs ?? Date.parse(`${s.expiration}T21:00:00Z`)
  // rngFor(seed, ticker, date)'s mulberry32 stream, stepped inline: the per-second draw is the hot loop
  let a = hashString(`${seed}|${ticker}|${day.date}`) >>> 0
  const rng = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const spot = day.spot,
    vix = day.vix,
    strike = s.strike,
    right = s.right
  // the price of second i is needed as one bar's close and the next bar's open: computed once
  let pricedIndex = -1,
    priced = 0
  const priceAt = (i: number): number => {
    if (i !== pricedIndex) {
      priced = optionPrice(right, spot[i]!, strike, vix[i]! / 100, (expiryMs - (day.openMs + (i + 1) * 1000)) / YEAR_MS)
      pricedIndex = i
    }
    return priced
  }
  const bars: Array<WireAgg> = []
  for (let i = 0; i < spot.length; i++) {
    // a draw at or above the largest possible probability never trades: skip the exp (same stream, same bars)
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296
    if (u >= MAX_TRADE_PROBABILITY || u >= tradeProbability(strike, spot[i]!)) continue
    bars.push(optionBar(rng, round2(priceAt(i === 0 ? 0 : i - 1)), round2(priceAt(i)), day.openMs + i * 1000, 50, 5))
  }
  return bars
}

/** One traded second from its open and close: high/low a tick outside them at times, size and trades skewed small (the rng draws in a fixed order). */
const optionBar = (rng: () => number, o: number, c: number, t: number, maxSize: number, maxTrades: number): WireAgg => {
  const h = round2(Math.max(o, c) + (rng() < 0.2 ? 0.01 : 0))
  const l = Math.max(0.01, round2(Math.min(o, c) - (rng() < 0.2 ? 0.01 : 0)))
  const size = rng()
  const v = 1 + Math.floor(size * size * maxSize)
  const n = 1 + Math.floor(rng() * Math.min(v, maxTrades))
  return { v, vw: vwapWithin(l, h, rng()), o, c, h, l, t, n }
}

/**
 * After-the-close option bars (close to close+15 min, as SPY's options trade until 16:15 ET),
 * priced off the underlying's after-hours paths, from their own stream so session bars never change.
 */
export const optionPostBars = (
  seed: number,
  ticker: string,
  s: OptionSymbol,
  day: PricingDay,
  ext: PostPricing
): Array<WireAgg> => {
  const expiryMs = sessionOn(s.expiration)?.closeMs ?? Date.parse(`${s.expiration}T21:00:00Z`)
  const rng = rngFor(seed, ticker, day.date, "post")
  const seconds = OPTION_POST_MS / 1000
  const price = (i: number) =>
    i < 0
      ? optionPrice(
          s.right,
          day.spot[day.spot.length - 1]!,
          s.strike,
          day.vix[day.vix.length - 1]! / 100,
          (expiryMs - ext.closeMs) / YEAR_MS
        )
      : optionPrice(
          s.right,
          ext.postSpot[i]!,
          s.strike,
          ext.postVixValues[i]! / 100,
          (expiryMs - (ext.closeMs + (i + 1) * 1000)) / YEAR_MS
        )
  const bars: Array<WireAgg> = []
  for (let i = 0; i < seconds; i++) {
    if (rng() >= OPTION_POST_FACTOR * tradeProbability(s.strike, ext.postSpot[i]!)) continue
    bars.push(optionBar(rng, round2(price(i - 1)), round2(price(i)), ext.closeMs + i * 1000, 20, 3))
  }
  return bars
}
