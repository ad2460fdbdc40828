/**
 * The synthetic market's universe: stocks SPY, QQQ, IWM (each with an option chain) and indices
 * I:VIX, I:SPX, I:NDX, I:RUT. SPY and I:VIX come from underlying.ts/extended.ts as before; this
 * module serves the others, generated lazily (only when asked for) and memoised per date.
 */
import type { MarketUniverse, WireAgg, WireIndexAgg } from "../MarketData.js"
import { SPY, VIX } from "../../domain/tickers.js"
import { type ExtendedDay, SPY_POST_MS, VIX_POST_MS } from "./extended.js"
import { DERIVED_INDICES, generateIndexDay, generateIndexExtended, type IndexDay } from "./indices.js"
import { makeLru } from "./lru.js"
import type { PostPricing, PricingDay } from "./options.js"
import { generatePeerDay, generatePeerExtended, PEERS, type PeerDay, type PeerExtended } from "./peers.js"
import type { UnderlyingDay } from "./underlying.js"

export const UNIVERSE: MarketUniverse = {
  stocks: [SPY, ...Object.keys(PEERS)],
  indices: [VIX, ...Object.keys(DERIVED_INDICES)],
  optionUnderlyings: [SPY, ...Object.keys(PEERS)]
}

export interface SpySide {
  readonly day: (date: string) => UnderlyingDay | undefined
  readonly extended: (date: string) => ExtendedDay | undefined
}

/** Series of the universe's tickers other than SPY and I:VIX (undefined: not one of them). */
export const makeUniverseSeries = (seed: number, spy: SpySide, days: number) => {
  const peerDays = makeLru<string, PeerDay | undefined>(days)
  const peerExt = makeLru<string, PeerExtended | undefined>(days)
  const indexDays = makeLru<string, IndexDay | undefined>(days)
  const fullDays = makeLru<string, ReadonlyArray<WireAgg | WireIndexAgg>>(days * 2)

  const peerDay = (ticker: string, date: string): PeerDay | undefined => {
    const spec = PEERS[ticker]
    if (spec === undefined) return undefined
    return peerDays.getOrCompute(`${ticker}|${date}`, () => {
      const day = spy.day(date)
      return day === undefined ? undefined : generatePeerDay(seed, spec, day)
    })
  }

  const peerExtended = (ticker: string, date: string): PeerExtended | undefined =>
    peerExt.getOrCompute(`${ticker}|${date}`, () => {
      const spec = PEERS[ticker],
        day = peerDay(ticker, date),
        ext = spy.extended(date)
      return spec === undefined || day === undefined || ext === undefined
        ? undefined
        : generatePeerExtended(seed, spec, day, ext, SPY_POST_MS)
    })

  /** What an underlying's options are priced off (SPY: its own day), undefined off the universe. */
  const pricingDay = (underlying: string, date: string): PricingDay | undefined =>
    underlying === SPY ? spy.day(date) : peerDay(underlying, date)

  const postPricing = (underlying: string, date: string): PostPricing | undefined =>
    underlying === SPY ? spy.extended(date) : peerExtended(underlying, date)

  const indexDay = (ticker: string, date: string): IndexDay | undefined => {
    const spec = DERIVED_INDICES[ticker]
    if (spec === undefined) return undefined
    return indexDays.getOrCompute(`${ticker}|${date}`, () => {
      const source = pricingDay(spec.source, date)
      return source === undefined ? undefined : generateIndexDay(seed, spec, source)
    })
  }

  /** Session bars of a stock or index of the universe (not SPY, I:VIX); undefined when it is none. */
  const regular = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> | undefined => {
    if (PEERS[ticker] !== undefined) return peerDay(ticker, date)?.bars ?? []
    if (DERIVED_INDICES[ticker] !== undefined) return indexDay(ticker, date)?.bars ?? []
    return undefined
  }

  /** The whole extended day of the same tickers. */
  const fullDay = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> | undefined => {
    const session = regular(ticker, date)
    if (session === undefined || session.length === 0) return session
    return fullDays.getOrCompute(`${ticker}|${date}`, () => {
      const index = DERIVED_INDICES[ticker]
      if (index === undefined) {
        const ext = peerExtended(ticker, date)
        return ext === undefined ? session : [...ext.pre, ...session, ...ext.post]
      }
      const ext = spy.extended(date)
      if (ext === undefined) return session
      const e = generateIndexExtended(seed, index, date, indexDay(ticker, date)!, ext.closeMs, VIX_POST_MS)
      return [...e.pre, ...session, ...e.post]
    })
  }

  return { pricingDay, postPricing, regular, fullDay, peerBars: (t: string, d: string) => peerDay(t, d)?.bars }
}
