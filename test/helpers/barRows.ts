/** Lake rows of the bar feeds for writer tests: a bar of `ticker` at `second` past 09:30 New York of `date`. */
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { Row } from "../../src/domain/feeds.js"

const opens = new Map<string, number>()
const openOf = (date: string): number => {
  let ms = opens.get(date)
  if (ms === undefined) opens.set(date, (ms = nyTimeMs(date, 9, 30))) // luxon: too slow per row
  return ms
}

export const barRow = (date: string, ticker: string, second: number, received: number, close = 1): Row => ({
  ticker,
  window_start_ms: openOf(date) + second * 1000,
  open: 1,
  high: 2,
  low: 0.5,
  close,
  volume: 10,
  vwap: 1,
  transactions: 1,
  window_end_ms: null,
  accumulated_volume: null,
  official_open: null,
  day_vwap: null,
  avg_trade_size: null,
  otc: null,
  source: "ws",
  received_at_ms: received,
  extra: null
})
