/**
 * The default simulator market: SPY, I:VIX, SPY daily-expiry options and news, all derived
 * from (seed, date, ticker) alone. Series are memoised in bounded LRU caches and shared, so
 * callers must not mutate them.
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

export interface SyntheticMarketOptions {
  /** Entries per cache (underlying days hold ~45k bars each, so keep this modest). */
  readonly underlyingDays?: number
  readonly optionDays?: number
}

export interface SyntheticMarket extends MarketData {
  readonly seed: number
  /** SPY's official open of `date` (first bar's o); for a closed date, the previous session's close. */
  readonly officialOpen: (date: string) => number
  /** The chain parameters (expirations, strike range) listed on `asOf`. */
  readonly chainSpec: (asOf: string) => ChainSpec
}

export const makeSyntheticMarket = (seed: number, options: SyntheticMarketOptions = {}): SyntheticMarket => {
  const underlyingCache = makeLru<string, UnderlyingDay | undefined>(options.underlyingDays ?? 16)
  const optionCache = makeLru<string, ReadonlyArray<WireAgg>>(options.optionDays ?? 64)
  const specCache = makeLru<string, ChainSpec>(256)
  const contractsCache = makeLru<string, ReadonlyArray<WireContract>>(16)
  const newsCache = makeLru<string, ReadonlyArray<WireArticle>>(64)
  const extendedCache = makeLru<string, ExtendedDay | undefined>(options.underlyingDays ?? 16)
  const fullDayCache = makeLru<string, ReadonlyArray<WireAgg | WireIndexAgg>>(options.optionDays ?? 64)

  const underlying = (date: string) => underlyingCache.getOrCompute(date, () => generateUnderlyingDay(seed, date))

  const officialOpen = (date: string): number => {
    if (!isTradingDay(date)) {
      const bars = underlying(previousTradingDay(date))!.spyBars
      return bars[bars.length - 1]!.c
    }
    return underlying(date)!.spyBars[0]!.o
  }

  const spec = (asOf: string) => specCache.getOrCompute(asOf, () => chainSpec(asOf, officialOpen(asOf)))

  const optionSeries = (ticker: string, date: string): ReadonlyArray<WireAgg> => {
    const symbol = parseOptionTicker(ticker)
    if (symbol === undefined || !isTradingDay(date) || !isListed(spec(date), symbol)) return []
    return optionCache.getOrCompute(`${ticker}|${date}`, () => optionBars(seed, ticker, symbol, underlying(date)!))
  }

  const extended = (date: string) =>
    extendedCache.getOrCompute(date, () => {
      const day = underlying(date)
      return day === undefined ? undefined : generateExtendedDay(seed, day)
    })

  const regular = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    if (ticker === SPY) return underlying(date)?.spyBars ?? []
    if (ticker === VIX) return underlying(date)?.vixBars ?? []
    if (ticker.startsWith("O:")) return optionSeries(ticker, date)
    return []
  }

  /** Pre-market + session + after-hours; the session part is the very `regular` series. */
  const fullDay = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    const session = regular(ticker, date)
    const ext = extended(date)
    if (ext === undefined) return session
    return fullDayCache.getOrCompute(`${ticker}|${date}`, () => {
      if (ticker === SPY) return [...ext.preSpy, ...session, ...ext.postSpy]
      if (ticker === VIX) return [...ext.preVix, ...session, ...ext.postVix]
      const symbol = parseOptionTicker(ticker)
      if (symbol === undefined || !isListed(spec(date), symbol)) return session
      return [...session, ...optionPostBars(seed, ticker, symbol, underlying(date)!, ext)]
    })
  }

  return {
    seed,
    officialOpen,
    chainSpec: spec,
    holidays: nyseHolidays,
    secondBars: regular,
    extendedSecondBars: fullDay,
    contracts: (asOf) => contractsCache.getOrCompute(asOf, () => chainContracts(spec(asOf))),
    news: (date) => newsCache.getOrCompute(date, () => generateNews(seed, date))
  }
}

/** SPY's official open for any MarketData (first SPY bar's o), undefined on a closed day. */
export const officialOpen = (market: MarketData, date: string): number | undefined => {
  const first = market.secondBars(SPY, date)[0] as WireAgg | undefined
  return first?.o
}
