/**
 * Trading-calendar math in America/New_York. Pure functions: no clock reads here,
 * callers pass epoch milliseconds obtained from Effect's Clock.
 */
import { DateTime } from "luxon"

export const NY = "America/New_York"

/** A market holiday or early close, as `/v1/marketstatus/upcoming` reports it. */
export interface MarketHoliday {
  readonly date: string // YYYY-MM-DD
  readonly name: string
  readonly status: "closed" | "early-close"
  /** ISO UTC, only for early closes */
  readonly open?: string
  readonly close?: string
}

export interface Session {
  readonly date: string
  readonly openMs: number
  readonly closeMs: number
  readonly earlyClose: boolean
}

export const isoDate = (d: DateTime): string => d.toISODate()!

/** The trading date (America/New_York) an epoch-ms instant belongs to. */
export const nyDateOf = (ms: number): string => DateTime.fromMillis(ms, { zone: NY }).toISODate()!

/** Epoch ms of a wall-clock time on a date in New York. */
export const nyTimeMs = (date: string, hour: number, minute = 0, second = 0): number =>
  DateTime.fromISO(date, { zone: NY }).set({ hour, minute, second, millisecond: 0 }).toMillis()

export const isWeekend = (date: string): boolean => DateTime.fromISO(date, { zone: NY }).weekday >= 6

export const addDays = (date: string, n: number): string =>
  DateTime.fromISO(date, { zone: "UTC" }).plus({ days: n }).toISODate()!

/** Inclusive list of calendar dates between two ISO dates. */
export const datesBetween = (start: string, end: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(d)
  return out
}

/** Index holidays by date for fast lookup. */
export const holidayIndex = (holidays: ReadonlyArray<MarketHoliday>): ReadonlyMap<string, MarketHoliday> =>
  new Map(holidays.map((h) => [h.date, h]))

export const isTradingDay = (date: string, holidays: ReadonlyMap<string, MarketHoliday>): boolean =>
  !isWeekend(date) && holidays.get(date)?.status !== "closed"

/** Regular session 09:30–16:00 ET, or 09:30–13:00 on an early close. Undefined when closed. */
export const sessionOf = (date: string, holidays: ReadonlyMap<string, MarketHoliday>): Session | undefined => {
  if (!isTradingDay(date, holidays)) return undefined
  const h = holidays.get(date)
  const early = h?.status === "early-close"
  const closeMs = early && h?.close ? Date.parse(h.close) : nyTimeMs(date, 16)
  return { date, openMs: nyTimeMs(date, 9, 30), closeMs, earlyClose: early }
}

export const tradingDaysBetween = (
  start: string,
  end: string,
  holidays: ReadonlyMap<string, MarketHoliday>
): ReadonlyArray<string> => datesBetween(start, end).filter((d) => isTradingDay(d, holidays))

export const nextTradingDay = (date: string, holidays: ReadonlyMap<string, MarketHoliday>): string => {
  let d = addDays(date, 1)
  while (!isTradingDay(d, holidays)) d = addDays(d, 1)
  return d
}

export const previousTradingDay = (date: string, holidays: ReadonlyMap<string, MarketHoliday>): string => {
  let d = addDays(date, -1)
  while (!isTradingDay(d, holidays)) d = addDays(d, -1)
  return d
}

/** The next session opening strictly after `nowMs` (or the current one if `nowMs` is before its open). */
export const nextOpen = (nowMs: number, holidays: ReadonlyMap<string, MarketHoliday>): Session => {
  let d = nyDateOf(nowMs)
  for (;;) {
    const s = sessionOf(d, holidays)
    if (s && s.openMs > nowMs) return s
    d = addDays(d, 1)
  }
}

/** The session containing `nowMs`, if the market is open then. */
export const openSessionAt = (nowMs: number, holidays: ReadonlyMap<string, MarketHoliday>): Session | undefined => {
  const s = sessionOf(nyDateOf(nowMs), holidays)
  return s && nowMs >= s.openMs && nowMs < s.closeMs ? s : undefined
}
