/**
 * The replayed windows of each trading date, cached per date: the regular sessions as the market
 * defines them (its holidays), or with `extended` the whole extended day (03:15 ET, when I:VIX
 * starts, to close + 4 h, when SPY's after-hours end): every bar of `extendedSecondBars` falls in it.
 */
import {
  addDays,
  holidayIndex,
  type MarketHoliday,
  nyDateOf,
  nyTimeMs,
  type Session,
  sessionOf
} from "../../domain/calendar.js"
import type { MarketData } from "../MarketData.js"

export const makeSessions = (market: MarketData, extended = false) => {
  const years = new Map<number, ReadonlyMap<string, MarketHoliday>>()
  const byDate = new Map<string, Session | null>()
  const sessionOn = (date: string): Session | undefined => {
    let s = byDate.get(date)
    if (s === undefined) {
      const year = Number(date.slice(0, 4))
      let holidays = years.get(year)
      if (!holidays) years.set(year, (holidays = holidayIndex(market.holidays(year))))
      const regular = sessionOf(date, holidays)
      s =
        regular === undefined
          ? null
          : extended
            ? { ...regular, openMs: nyTimeMs(date, 3, 15), closeMs: regular.closeMs + 4 * 3_600_000 }
            : regular
      byDate.set(date, s)
    }
    return s ?? undefined
  }
  let last: Session | undefined
  return {
    sessionOn,
    /** The session with open ≤ ms < close, if any. */
    containing: (ms: number): Session | undefined => {
      if (last && ms >= last.openMs && ms < last.closeMs) return last
      const s = sessionOn(nyDateOf(ms))
      return s && ms >= s.openMs && ms < s.closeMs ? (last = s) : undefined
    },
    /** The first session open at or after ms. */
    nextOpenAtOrAfter: (ms: number): number => {
      let d = nyDateOf(ms)
      for (let i = 0; i < 4000; i++, d = addDays(d, 1)) {
        const s = sessionOn(d)
        if (s && s.openMs >= ms) return s.openMs
      }
      throw new Error(`no trading session within 4000 days after ${new Date(ms).toISOString()}`)
    }
  }
}
