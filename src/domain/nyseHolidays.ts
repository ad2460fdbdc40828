/**
 * The NYSE holiday and early-close rules, computed for any year. The simulator serves these
 * from `/v1/marketstatus/upcoming`; the platform itself always asks the API.
 */
import { DateTime } from "luxon"
import { type MarketHoliday, NY } from "./calendar.js"

const d = (y: number, m: number, day: number) => DateTime.fromObject({ year: y, month: m, day }, { zone: NY })
const nthWeekday = (y: number, m: number, weekday: number, n: number) => {
  let x = d(y, m, 1)
  while (x.weekday !== weekday) x = x.plus({ days: 1 })
  return x.plus({ weeks: n - 1 })
}
const lastWeekday = (y: number, m: number, weekday: number) => {
  let x = d(y, m, 1).endOf("month").startOf("day")
  while (x.weekday !== weekday) x = x.minus({ days: 1 })
  return x
}
/** Saturday holidays are observed Friday, Sunday holidays Monday (NYSE rule 7.2). */
const observed = (x: DateTime) => (x.weekday === 6 ? x.minus({ days: 1 }) : x.weekday === 7 ? x.plus({ days: 1 }) : x)

const easterSunday = (y: number) => {
  // Anonymous Gregorian algorithm
  const a = y % 19,
    b = Math.floor(y / 100),
    c = y % 100
  const dd = Math.floor(b / 4),
    e = b % 4,
    f = Math.floor((b + 8) / 25),
    g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - dd - g + 15) % 30,
    i = Math.floor(c / 4),
    k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7,
    m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31),
    day = ((h + l - 7 * m + 114) % 31) + 1
  return d(y, month, day)
}

const closed = (x: DateTime, name: string): MarketHoliday => ({ date: x.toISODate()!, name, status: "closed" })
const early = (x: DateTime, name: string): MarketHoliday => ({
  date: x.toISODate()!,
  name,
  status: "early-close",
  open: x.set({ hour: 9, minute: 30 }).toUTC().toISO({ suppressMilliseconds: false })!,
  close: x.set({ hour: 13 }).toUTC().toISO({ suppressMilliseconds: false })!
})

export const nyseHolidays = (year: number): ReadonlyArray<MarketHoliday> => {
  const out: Array<MarketHoliday> = []
  const newYear = d(year, 1, 1)
  if (newYear.weekday !== 6) out.push(closed(observed(newYear), "New Years Day"))
  out.push(closed(nthWeekday(year, 1, 1, 3), "Martin Luther King, Jr. Day"))
  out.push(closed(nthWeekday(year, 2, 1, 3), "Washington's Birthday"))
  out.push(closed(easterSunday(year).minus({ days: 2 }), "Good Friday"))
  out.push(closed(lastWeekday(year, 5, 1), "Memorial Day"))
  if (year >= 2022) out.push(closed(observed(d(year, 6, 19)), "Juneteenth"))
  const july4 = d(year, 7, 4)
  out.push(closed(observed(july4), "Independence Day"))
  const july3 = d(year, 7, 3)
  if (july3.weekday <= 4 && july4.weekday <= 5 && july4.weekday !== 1) out.push(early(july3, "Independence Day"))
  out.push(closed(nthWeekday(year, 9, 1, 1), "Labor Day"))
  const thanksgiving = nthWeekday(year, 11, 4, 4)
  out.push(closed(thanksgiving, "Thanksgiving"))
  out.push(early(thanksgiving.plus({ days: 1 }), "Thanksgiving"))
  const xmas = d(year, 12, 25)
  out.push(closed(observed(xmas), "Christmas"))
  const xmasEve = d(year, 12, 24)
  if (xmasEve.weekday <= 4) out.push(early(xmasEve, "Christmas"))
  // A Saturday New Year's Day of next year is not observed on Dec 31 (NYSE rule).
  return out.sort((a, b) => a.date.localeCompare(b.date))
}
