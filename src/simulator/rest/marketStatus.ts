/**
 * `GET /v1/marketstatus/upcoming` and `/v1/marketstatus/now` (polygon-wire.md §9): bare JSON,
 * no envelope, computed from the market's holiday table and the simulated clock.
 */
import { DateTime } from "luxon"
import { holidayIndex, NY, nyDateOf, nyTimeMs, sessionOf } from "../../domain/calendar.js"
import { type Handler, ok } from "./http.js"

const EXCHANGES = ["NYSE", "NASDAQ"] as const

export const upcomingHandler: Handler = (_req, ctx) => {
  const today = nyDateOf(ctx.clock.now())
  const year = Number(today.slice(0, 4))
  const holidays = [...ctx.market.holidays(year), ...ctx.market.holidays(year + 1)].filter((h) => h.date >= today)
  return ok(holidays.flatMap((h) => EXCHANGES.map((exchange) => ({ exchange, ...h }))))
}

type MarketState = "open" | "extended-hours" | "closed"

/** Regular session → open; 04:00–open and close–20:00 on a trading day → extended hours. */
export const marketStateAt = (
  nowMs: number,
  holidays: Parameters<typeof sessionOf>[1]
): { state: MarketState; earlyHours: boolean; afterHours: boolean } => {
  const date = nyDateOf(nowMs)
  const session = sessionOf(date, holidays)
  if (session === undefined) return { state: "closed", earlyHours: false, afterHours: false }
  if (nowMs >= session.openMs && nowMs < session.closeMs) return { state: "open", earlyHours: false, afterHours: false }
  if (nowMs >= nyTimeMs(date, 4) && nowMs < session.openMs)
    return { state: "extended-hours", earlyHours: true, afterHours: false }
  if (nowMs >= session.closeMs && nowMs < nyTimeMs(date, 20))
    return { state: "extended-hours", earlyHours: false, afterHours: true }
  return { state: "closed", earlyHours: false, afterHours: false }
}

/** FX trades around the clock except Friday 17:00 to Sunday 17:00 New York time. */
const fxState = (now: DateTime): "open" | "closed" =>
  (now.weekday === 5 && now.hour >= 17) || now.weekday === 6 || (now.weekday === 7 && now.hour < 17) ? "closed" : "open"

export const nowHandler: Handler = (_req, ctx) => {
  const nowMs = ctx.clock.now()
  const now = DateTime.fromMillis(nowMs, { zone: NY })
  const { state, earlyHours, afterHours } = marketStateAt(nowMs, holidayIndex(ctx.market.holidays(now.year)))
  return ok({
    market: state,
    earlyHours,
    afterHours,
    serverTime: now.toFormat("yyyy-MM-dd'T'HH:mm:ssZZ"),
    exchanges: { nyse: state, nasdaq: state, otc: state === "open" ? "open" : "closed" },
    currencies: { fx: fxState(now), crypto: "open" }
  })
}
