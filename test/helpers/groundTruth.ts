/** What the simulator serves, computed straight from its MarketData: the ground truth of lake tests. */
import { holidayIndex, nextTradingDay } from "../../src/domain/calendar.js"
import { selectContracts } from "../../src/domain/contractSelection.js"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import type { SyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"

export interface ExpectedBar {
  readonly ticker: string
  readonly t: number
  readonly o: number
  readonly h: number
  readonly l: number
  readonly c: number
  readonly v?: number
}

export const chosenContracts = (
  market: SyntheticMarket,
  date: string,
  bandPct = 0.01,
  maxContracts = 100,
  underlying = "SPY"
) => {
  const year = Number(date.slice(0, 4))
  const holidays = holidayIndex([...nyseHolidays(year), ...nyseHolidays(year + 1)])
  const open = market.officialOpen(date, underlying)
  return selectContracts(market.contracts(date, underlying), open, nextTradingDay(date, holidays), {
    bandPct,
    maxContracts
  })
}

export const expectedBars = (market: SyntheticMarket, ticker: string, date: string): ReadonlyArray<ExpectedBar> =>
  market
    .secondBars(ticker, date)
    .map((b) => ({ ticker, t: b.t, o: b.o, h: b.h, l: b.l, c: b.c, ...("v" in b ? { v: b.v } : {}) }))

/** The whole extended day the simulator's REST serves by default (pre-market, session, after-hours). */
export const expectedExtendedBars = (
  market: SyntheticMarket,
  ticker: string,
  date: string
): ReadonlyArray<ExpectedBar> =>
  market.extendedSecondBars!(ticker, date).map((b) => ({
    ticker,
    t: b.t,
    o: b.o,
    h: b.h,
    l: b.l,
    c: b.c,
    ...("v" in b ? { v: b.v } : {})
  }))

/** The bar of `bars` (sorted by t) in force at `s`: the latest with t ≤ s. */
export const asOf = <B extends { t: number }>(bars: ReadonlyArray<B>, s: number): B | undefined => {
  let lo = 0
  let hi = bars.length - 1
  let found: B | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (bars[mid]!.t <= s) {
      found = bars[mid]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}
