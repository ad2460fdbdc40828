/**
 * Gap repair after a reconnect. The socket writes a marker into the journal each time a
 * connection (re)subscribes; from then on each of its tickers has a gap open from its last bar
 * seen before the marker. The connection's first bar at least as new as anything it had before
 * shows it delivers again: every open gap of that connection closes there (a bar older than that,
 * a late correction, closes only its own ticker's gap), and the bars strictly inside each gap are
 * fetched over REST (PolygonRest.aggs) and merged as source `repair`; a bar streamed inside such
 * a range meanwhile (late, corrected) wins over the REST row. The state rides in the writer's
 * checkpoint, so a crash neither loses nor repeats a repair.
 */
import { Effect } from "effect"
import type { Row } from "../../domain/feeds.js"
import type { PolygonRestService } from "../../services/polygon/PolygonRest.js"
import type { RepairRange } from "./liveFiles.js"
import { type LiveFeed, repairRow } from "./wsRows.js"

export interface RepairState {
  readonly lastStart: Map<string, number>
  readonly pending: Map<string, number>
  /** Ranges found since the writer last took them. */
  due: Array<RepairRange>
  /** How many of `due` are already in `open`. */
  watched: number
  /**
   * Ranges found and not yet repaired, per ticker. A bar streamed inside one of them (a late or
   * corrected bar) is remembered in `streamedInGap` (`ticker|start`), so the range's REST row,
   * committed later, never overrides it.
   */
  readonly open: Map<string, Array<RepairRange>>
  readonly streamedInGap: Set<string>
  /** The connection (marker) each pending ticker was last subscribed with. */
  readonly groupOf: Map<string, Group>
}

/** The tickers of one (re)subscribed connection, and the newest bar any of them had then. */
interface Group {
  readonly tickers: ReadonlyArray<string>
  readonly newest: number
}

export const makeState = (
  lastStart: Readonly<Record<string, number>> = {},
  pending: Readonly<Record<string, number>> = {},
  due: ReadonlyArray<RepairRange> = [],
  open: ReadonlyArray<RepairRange> = []
): RepairState => {
  const s: RepairState = {
    lastStart: new Map(Object.entries(lastStart)),
    pending: new Map(Object.entries(pending)),
    due: [...due],
    watched: 0,
    open: new Map(),
    streamedInGap: new Set(),
    groupOf: new Map()
  }
  for (const r of open) watch(s, r)
  return s
}

const watch = (s: RepairState, r: RepairRange): void => {
  const list = s.open.get(r.ticker)
  if (list === undefined) s.open.set(r.ticker, [r])
  else list.push(r)
}

/** Ranges added to `due` since the last call become open (watched for streamed bars). */
export const watchNew = (s: RepairState): void => {
  for (let i = s.watched; i < s.due.length; i++) watch(s, s.due[i]!)
  s.watched = s.due.length
}

/** The writer takes the ranges found (they stay open until `settle`). */
export const takeDue = (s: RepairState): Array<RepairRange> => {
  watchNew(s)
  s.watched = 0
  return s.due.splice(0)
}

/** A bar streamed for `ticker`: remembered when it falls inside an open range. */
export const noteStreamed = (s: RepairState, ticker: string, start: number): void => {
  const list = s.open.get(ticker)
  if (list === undefined) return
  for (const r of list) if (start > r.after && start < r.before) s.streamedInGap.add(`${ticker}|${start}`)
}

/** A range's repair is committed: it is no longer open. */
export const settle = (s: RepairState, r: RepairRange): void => {
  const list = s.open.get(r.ticker)
  if (list === undefined) return
  const rest = list.filter((x) => x !== r && !(x.after === r.after && x.before === r.before))
  if (rest.length === 0) s.open.delete(r.ticker)
  else s.open.set(r.ticker, rest)
  for (const key of s.streamedInGap) {
    const bar = key.lastIndexOf("|")
    const start = Number(key.slice(bar + 1))
    if (key.slice(0, bar) === r.ticker && start > r.after && start < r.before) s.streamedInGap.delete(key)
  }
}

/** A connection (re)subscribed these tickers: anything after their last bar may be missing. */
export const onMarker = (s: RepairState, tickers: ReadonlyArray<string>, sessionOpenMs: number): void => {
  let newest = -Infinity
  for (const t of tickers) {
    if (!s.pending.has(t)) s.pending.set(t, s.lastStart.get(t) ?? sessionOpenMs - 1)
    newest = Math.max(newest, s.lastStart.get(t) ?? -Infinity)
  }
  const group: Group = { tickers, newest }
  for (const t of tickers) s.groupOf.set(t, group)
}

/**
 * A bar arrived: it may close pending gaps (`lastStart` not touched). A connection that delivers
 * a bar as new as any it had before delivers every later one for all its tickers: the gaps of all
 * of them close there (their own first bars may come much later, or never), the bar's window
 * included for the others. A bar older than that (a late correction) closes its own gap only.
 * (The grouping lives in memory only: after a restart, each ticker's own first bar closes its gap.)
 */
export const closePending = (s: RepairState, ticker: string, start: number, stepMs: number): void => {
  const from = s.pending.get(ticker)
  if (from === undefined || start <= from) return
  const group = s.groupOf.get(ticker)
  s.groupOf.delete(ticker)
  const close = (t: string, after: number, before: number) => {
    if (before - after > stepMs) s.due.push({ ticker: t, after, before })
    s.pending.delete(t)
  }
  close(ticker, from, start)
  if (group === undefined || start < group.newest) return
  for (const t of group.tickers) {
    if (s.groupOf.get(t) !== group) continue
    s.groupOf.delete(t)
    const after = s.pending.get(t)
    if (after !== undefined && after <= start) close(t, after, start + 1)
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
  s.groupOf.clear()
}

/**
 * The tail of the day (the socket stopped before the close): every subscribed ticker not already
 * pending misses everything after its last bar, up to the close. Pending ones are `closeAll`'s.
 */
export const tailToClose = (
  s: RepairState,
  tickers: ReadonlyArray<string>,
  openMs: number,
  closeMs: number,
  stepMs: number
): void => {
  for (const ticker of tickers) {
    if (s.pending.has(ticker)) continue
    const after = s.lastStart.get(ticker) ?? openMs - 1
    if (closeMs - after > stepMs) s.due.push({ ticker, after, before: closeMs })
  }
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
