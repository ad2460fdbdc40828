/**
 * Late data in real-time mode: a bar whose trading date is before today's session is rejected
 * (default), or accepted while it is at most `late_data.grace_seconds` past its window's end.
 * Rejected bars go to `data/late/<feed>/date=D/` (counted, never logged one by one).
 */
import { DateTime } from "luxon"
import { NY, nyDateOf } from "../../domain/calendar.js"

/** The trading date's New York day as [start, end) epoch ms: a window start inside it is `Current` (no date formatting per bar). */
export const dayBounds = (date: string): { readonly startMs: number; readonly endMs: number } => {
  const start = DateTime.fromISO(date, { zone: NY }).startOf("day")
  return { startMs: start.toMillis(), endMs: start.plus({ days: 1 }).toMillis() }
}

export type LateDecision =
  | { readonly _tag: "Current"; readonly date: string }
  | { readonly _tag: "LateAccepted"; readonly date: string }
  | { readonly _tag: "LateRejected"; readonly date: string }
  | { readonly _tag: "Future"; readonly date: string }

export const classify = (
  windowStartMs: number,
  windowEndMs: number,
  receivedMs: number,
  sessionDate: string,
  graceSeconds: number
): LateDecision => {
  const date = nyDateOf(windowStartMs)
  if (date === sessionDate) return { _tag: "Current", date }
  if (date > sessionDate) return { _tag: "Future", date }
  return graceSeconds > 0 && receivedMs - windowEndMs <= graceSeconds * 1000
    ? { _tag: "LateAccepted", date }
    : { _tag: "LateRejected", date }
}

/** The line stored for a rejected bar. */
export const lateLine = (receivedMs: number, date: string, event: unknown): string =>
  JSON.stringify({ received_at_ms: receivedMs, trading_date: date, reason: "late", event })
