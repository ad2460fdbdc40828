/**
 * `session.hours`: which bars the lake keeps. `regular` keeps bars with
 * open ≤ window_start_ms < close of the date's regular session (09:30:00–16:00:00 America/New_York,
 * 13:00 on early closes) and counts the rest; `extended` keeps every bar. Applied right after
 * normalization, to row objects and to column batches alike (backfill and live), to bar feeds only:
 * news articles are not bars.
 */
import { type MarketHoliday, nyDateOf, sessionOf } from "./calendar.js"
import type { ColumnBatch } from "./columnBatch.js"
import type { Row } from "./feeds.js"

export type SessionHours = "regular" | "extended"

export interface SessionWindow {
  readonly openMs: number
  readonly closeMs: number
}

/** The window rows of `date` must fall in; undefined = keep everything (extended hours). */
export const sessionWindow = (
  hours: SessionHours,
  date: string,
  holidays: ReadonlyMap<string, MarketHoliday>
): SessionWindow | undefined => {
  if (hours === "extended") return undefined
  const s = sessionOf(date, holidays)
  // a closed date has no session: nothing of it is inside (an empty window)
  return s === undefined ? { openMs: 0, closeMs: 0 } : { openMs: s.openMs, closeMs: s.closeMs }
}

/**
 * A filter for rows of any date (live: a socket may deliver bars of one date only, but a window
 * per date keeps this exact across midnight and in tests that span days).
 */
export const sessionFilterFor = (hours: SessionHours, holidays: ReadonlyMap<string, MarketHoliday>) => {
  if (hours === "extended") return undefined
  const byDate = new Map<string, SessionWindow>()
  let last: (SessionWindow & { readonly dayStart: number; readonly dayEnd: number }) | undefined
  return (startMs: number): boolean => {
    // the same session answers every bar of its day without a calendar call
    if (last !== undefined && startMs >= last.dayStart && startMs < last.dayEnd)
      return startMs >= last.openMs && startMs < last.closeMs
    const date = nyDateOf(startMs)
    let w = byDate.get(date)
    if (w === undefined) byDate.set(date, (w = sessionWindow("regular", date, holidays)!))
    // New York midnight to midnight (trading days never change their UTC offset: DST starts and ends on Sundays)
    if (w.closeMs > w.openMs) last = { ...w, dayStart: w.openMs - 9.5 * 3_600_000, dayEnd: w.openMs + 14.5 * 3_600_000 }
    return startMs >= w.openMs && startMs < w.closeMs
  }
}

export interface Kept<A> {
  readonly kept: A
  readonly outside: number
}

/** Rows whose `window_start_ms` is inside the window, and how many were not. */
export const keepRows = (rows: ReadonlyArray<Row>, inside: (startMs: number) => boolean): Kept<Array<Row>> => {
  const kept: Array<Row> = []
  for (const row of rows) if (inside(row["window_start_ms"] as number)) kept.push(row)
  return { kept, outside: rows.length - kept.length }
}

/** The batch restricted to rows inside the window (the same batch when none is outside). */
export const keepBatch = (batch: ColumnBatch, inside: (startMs: number) => boolean): Kept<ColumnBatch> => {
  const starts = batch.doubles.find(([name]) => name === "window_start_ms")?.[1]
  if (starts === undefined) return { kept: batch, outside: 0 }
  const keep: Array<number> = []
  for (let i = 0; i < batch.length; i++) if (inside(starts[i]!)) keep.push(i)
  if (keep.length === batch.length) return { kept: batch, outside: 0 }
  const pick = (values: Float64Array): Float64Array => {
    const out = new Float64Array(keep.length)
    for (let j = 0; j < keep.length; j++) out[j] = values[keep[j]!]!
    return out
  }
  const kept: ColumnBatch = {
    ...batch,
    length: keep.length,
    doubles: batch.doubles.map(([name, values]) => [name, pick(values)] as const),
    ...(batch.coded === undefined ? {} : { coded: batch.coded.map((c) => ({ ...c, codes: pick(c.codes) })) })
  }
  return { kept, outside: batch.length - keep.length }
}
