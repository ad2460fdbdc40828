/**
 * The default simulator market: stocks SPY, QQQ, IWM with daily-expiry options, indices I:VIX,
 * I:SPX, I:NDX, I:RUT (universe.ts) and news, all derived from (seed, date, ticker) alone. Series
 * are memoised in bounded LRU caches and shared, so callers must not mutate them.
 */
import type { MarketData, WireAgg, WireArticle, WireContract, WireIndexAgg } from "../MarketData.js"
import { parseOptionTicker, SPY, VIX } from "../../domain/tickers.js"
import { nyseHolidays } from "../../domain/nyseHolidays.js"
import { makeLru } from "./lru.js"
import { generateNews } from "./news.js"
import { type ExtendedDay, generateExtendedDay } from "./extended.js"
import { chainContracts, chainSpec, type ChainSpec, isListed, optionBars, optionPostBars } from "./options.js"
import { isTradingDay, previousTradingDay } from "./tradingCalendar.js"
import { generateUnderlyingDay, type UnderlyingDay } from "./underlying.js"
import { makeUniverseSeries, UNIVERSE } from "./universe.js"

export interface SyntheticMarketOptions {
  /** Entries per cache (underlying days hold ~45k bars each, so keep this modest). */
  readonly underlyingDays?: number
  readonly optionDays?: number
}

export interface SyntheticMarket extends MarketData {
  readonly seed: number
  /**
   * A stock's official open of `date` (first bar's o; default SPY); for a closed date, the
   * previous session's close. NaN for a ticker off the universe's stocks.
   */
  readonly officialOpen: (date: string, underlying?: string) => number
  /** The chain parameters (expirations, strike range) of an underlying (default SPY) listed on `asOf`. */
  readonly chainSpec: (asOf: string, underlying?: string) => ChainSpec
}

export const makeSyntheticMarket = (seed: number, options: SyntheticMarketOptions = {}): SyntheticMarket => {
  const underlyingCache = makeLru<string, UnderlyingDay | undefined>(options.underlyingDays ?? 16)
  const optionCache = makeLru<string, ReadonlyArray<WireAgg>>(options.optionDays ?? 64)
  const specCache = makeLru<string, ChainSpec>(256)
  const contractsCache = makeLru<string, ReadonlyArray<WireContract>>(48)
  const newsCache = makeLru<string, ReadonlyArray<WireArticle>>(64)
  const extendedCache = makeLru<string, ExtendedDay | undefined>(options.underlyingDays ?? 16)
  const fullDayCache = makeLru<string, ReadonlyArray<WireAgg | WireIndexAgg>>(options.optionDays ?? 64)

  const underlying = (date: string) => underlyingCache.getOrCompute(date, () => generateUnderlyingDay(seed, date))

  const extended = (date: string) =>
    extendedCache.getOrCompute(date, () => {
      const day = underlying(date)
      return day === undefined ? undefined : generateExtendedDay(seed, day)
    })

  const others = makeUniverseSeries(seed, { day: underlying, extended }, options.underlyingDays ?? 16)
  const hasOptions = (u: string): boolean => UNIVERSE.optionUnderlyings.includes(u)
  const stockBars = (u: string, date: string): ReadonlyArray<WireAgg> | undefined =>
    u === SPY ? underlying(date)?.spyBars : others.peerBars(u, date)

  const officialOpen = (date: string, u: string = SPY): number => {
    if (!hasOptions(u)) return NaN
    if (!isTradingDay(date)) {
      const bars = stockBars(u, previousTradingDay(date))!
      return bars[bars.length - 1]!.c
    }
    return stockBars(u, date)![0]!.o
  }

  // SPY's specs keep their plain date keys; the others' are prefixed by the underlying
  const spec = (asOf: string, u: string = SPY) =>
    specCache.getOrCompute(u === SPY ? asOf : `${u}|${asOf}`, () => chainSpec(asOf, officialOpen(asOf, u)))

  const optionSeries = (ticker: string, date: string): ReadonlyArray<WireAgg> => {
    const symbol = parseOptionTicker(ticker)
    if (symbol === undefined || !isTradingDay(date) || !hasOptions(symbol.underlying)) return []
    const u = symbol.underlying
    if (!isListed(spec(date, u), symbol, u)) return []
    return optionCache.getOrCompute(`${ticker}|${date}`, () =>
      optionBars(seed, ticker, symbol, others.pricingDay(u, date)!)
    )
  }

  const regular = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    if (ticker === SPY) return underlying(date)?.spyBars ?? []
    if (ticker === VIX) return underlying(date)?.vixBars ?? []
    if (ticker.startsWith("O:")) return optionSeries(ticker, date)
    return others.regular(ticker, date) ?? []
  }

  /** Pre-market + session + after-hours; the session part is the very `regular` series. */
  const fullDay = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    const other = ticker === SPY || ticker === VIX || ticker.startsWith("O:") ? undefined : others.fullDay(ticker, date)
    if (other !== undefined) return other
    const session = regular(ticker, date)
    const ext = extended(date)
    if (ext === undefined) return session
    return fullDayCache.getOrCompute(`${ticker}|${date}`, () => {
      if (ticker === SPY) return [...ext.preSpy, ...session, ...ext.postSpy]
      if (ticker === VIX) return [...ext.preVix, ...session, ...ext.postVix]
      const symbol = parseOptionTicker(ticker)
      if (symbol === undefined || !hasOptions(symbol.underlying)) return session
      const u = symbol.underlying
      if (!isListed(spec(date, u), symbol, u)) return session
      const post = others.postPricing(u, date)!
      return [...session, ...optionPostBars(seed, ticker, symbol, others.pricingDay(u, date)!, post)]
    })
  }

  return {
    seed,
    officialOpen,
    chainSpec: spec,
    holidays: nyseHolidays,
    secondBars: regular,
    extendedSecondBars: fullDay,
    universe: UNIVERSE,
    contracts: (asOf, u = SPY) =>
      hasOptions(u) ? contractsCache.getOrCompute(`${u}|${asOf}`, () => chainContracts(spec(asOf, u), u)) : [],
    news: (date) => newsCache.getOrCompute(date, () => generateNews(seed, date))
  }
}

/** A stock's (default SPY) official open for any MarketData (its first bar's o), undefined on a closed day. */
export const officialOpen = (market: MarketData, date: string, ticker: string = SPY): number | undefined => {
  const first = market.secondBars(ticker, date)[0] as WireAgg | undefined
  return first?.o
}
