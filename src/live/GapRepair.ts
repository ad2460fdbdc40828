/**
 * Gap repair after a reconnect. The socket writes a marker into the journal each time a
 * connection (re)subscribes; from then on, for every ticker of that connection, the first bar
 * after the last one seen before the marker closes a gap, and the bars strictly between the two
 * are fetched over REST (PolygonRest.aggs) and merged as source `repair`. The state rides in the
 * writer's checkpoint, so a crash neither loses nor repeats a repair.
 */
import { Effect } from "effect"
import type { Row } from "../domain/feeds.js"
import type { PolygonRestService } from "../services/PolygonRest.js"
import type { RepairRange } from "./liveFiles.js"
import { type LiveFeed, repairRow } from "./wsRows.js"

export interface RepairState {
  readonly lastStart: Map<string, number>
  readonly pending: Map<string, number>
  due: Array<RepairRange>
}

export const makeState = (
  lastStart: Readonly<Record<string, number>> = {},
  pending: Readonly<Record<string, number>> = {},
  due: ReadonlyArray<RepairRange> = []
): RepairState => ({
  lastStart: new Map(Object.entries(lastStart)),
  pending: new Map(Object.entries(pending)),
  due: [...due]
})

/** A connection (re)subscribed these tickers: anything after their last bar may be missing. */
export const onMarker = (s: RepairState, tickers: ReadonlyArray<string>, sessionOpenMs: number): void => {
  for (const t of tickers) {
    if (s.pending.has(t)) continue
    s.pending.set(t, s.lastStart.get(t) ?? sessionOpenMs - 1)
  }
}

/** A bar arrived: it may close a pending gap (`lastStart` not touched). */
export const closePending = (s: RepairState, ticker: string, start: number, stepMs: number): void => {
  const from = s.pending.get(ticker)
  if (from !== undefined && start > from) {
    if (start - from > stepMs) s.due.push({ ticker, after: from, before: start })
    s.pending.delete(ticker)
  }
}

/** A bar arrived: it may close a pending gap. */
export const onBar = (s: RepairState, ticker: string, start: number, stepMs: number): void => {
  closePending(s, ticker, start, stepMs)
  const last = s.lastStart.get(ticker)
  if (last === undefined || start > last) s.lastStart.set(ticker, start)
}

/** End of the session: pending gaps run to the close. */
export const closeAll = (s: RepairState, endMs: number, stepMs: number): void => {
  for (const [ticker, from] of s.pending) if (endMs - from > stepMs) s.due.push({ ticker, after: from, before: endMs })
  s.pending.clear()
}

export const toRecord = (m: ReadonlyMap<string, number>): Record<string, number> => Object.fromEntries(m)

/** Fetch one range over REST: the bars strictly inside it, as `repair` rows. */
export const fetchRange = (
  rest: PolygonRestService,
  feed: LiveFeed,
  timespan: "second" | "minute",
  range: RepairRange,
  receivedAtMs: number
) =>
  rest.aggs({ ticker: range.ticker, timespan, from: range.after + 1, to: range.before - 1 }).pipe(
    Effect.map((items) => {
      const rows: Array<Row> = []
      for (const item of items) {
        const n = repairRow(item, range.ticker, feed, receivedAtMs)
        if (!n.ok) continue
        const s = n.row["window_start_ms"] as number
        if (s > range.after && s < range.before) rows.push(n.row)
      }
      return rows
    })
  )
