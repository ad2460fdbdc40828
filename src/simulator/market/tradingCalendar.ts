/**
 * The NYSE calendar for any date, with holiday tables computed once per year.
 * (The domain helpers take one holiday map; a date walk may cross a year boundary.)
 */
import { addDays, holidayIndex, isWeekend, type MarketHoliday, type Session, sessionOf } from "../../domain/calendar.js"
import { nyseHolidays } from "../../domain/nyseHolidays.js"

const byYear = new Map<number, ReadonlyMap<string, MarketHoliday>>()

const holidaysOfYear = (year: number): ReadonlyMap<string, MarketHoliday> => {
  let index = byYear.get(year)
  if (index === undefined) {
    index = holidayIndex(nyseHolidays(year))
    byYear.set(year, index)
  }
  return index
}

const yearOf = (date: string): number => Number(date.slice(0, 4))

export const holidayOn = (date: string): MarketHoliday | undefined => holidaysOfYear(yearOf(date)).get(date)

/** Per-date answers, memoised: the luxon-backed domain helpers cost tens of µs a call, and every request asks. */
const tradingDays = new Map<string, boolean>()
const sessions = new Map<string, Session | undefined>()
const MEMO_LIMIT = 20_000

export const isTradingDay = (date: string): boolean => {
  let open = tradingDays.get(date)
  if (open === undefined) {
    if (tradingDays.size >= MEMO_LIMIT) tradingDays.clear()
    open = !isWeekend(date) && holidayOn(date)?.status !== "closed"
    tradingDays.set(date, open)
  }
  return open
}

/** The regular session of a date (early close 13:00), undefined when the market is closed. Shared: do not mutate. */
export const sessionOn = (date: string): Session | undefined => {
  if (sessions.has(date)) return sessions.get(date)
  if (sessions.size >= MEMO_LIMIT) sessions.clear()
  const session = sessionOf(date, holidaysOfYear(yearOf(date)))
  sessions.set(date, session)
  return session
}

export const nextTradingDay = (date: string): string => {
  let d = addDays(date, 1)
  while (!isTradingDay(d)) d = addDays(d, 1)
  return d
}

export const previousTradingDay = (date: string): string => {
  let d = addDays(date, -1)
  while (!isTradingDay(d)) d = addDays(d, -1)
  return d
}

/** `count` trading days starting at `date` (included when it is a trading day). */
export const tradingDaysFrom = (date: string, count: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  let d = isTradingDay(date) ? date : nextTradingDay(date)
  while (out.length < count) {
    out.push(d)
    d = nextTradingDay(d)
  }
  return out
}
