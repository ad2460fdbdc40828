/**
 * Journal entries → the writer's in-memory batch: frames decoded, events validated and put into
 * columns (latest version of a key wins), late bars and bad input set aside, gap-repair state fed.
 * Synchronous and allocation-light: this is the hot path between the journal and Parquet.
 *
 * A frame's clean aggregate events go straight from its bytes into columns (frameDecoder.ts);
 * any other event, and any frame that is not a well-formed JSON array, takes the object path
 * (JSON.parse + the normalizer), which decides quarantine, drift, late data and unknown events
 * exactly as it always has.
 */
import type { FeedSchema, Row } from "../../domain/feeds.js"
import type { DriftFinding } from "../../domain/normalize.js"
import { SymbolTable } from "../../lib/symbolTable.js"
import { FrameDecoder } from "./frameDecoder.js"
import * as GapRepair from "./GapRepair.js"
import type { JournalEntry } from "../journal/journalLines.js"
import { classify, dayBounds, lateLine } from "./LateData.js"
import { LiveColumns } from "./liveColumns.js"
import { onSubscriptionMarker } from "../contracts/recenterRepair.js"
import { eventToRow, type LiveFeed } from "./wsRows.js"

export interface Batch {
  /** trading date → its rows */
  readonly rows: Map<string, LiveColumns>
  nRows: number
  readonly late: Map<string, Array<string>>
  readonly quarantine: Array<string>
  readonly receipts: Array<number>
  frames: number
  events: number
  unknown: number
  lateRejected: number
  /** Bars not kept for falling outside the regular session (`session.hours: regular`). */
  outsideSession: number
  readonly drift: Array<DriftFinding>
}

export const newBatch = (): Batch => ({
  rows: new Map(),
  nRows: 0,
  late: new Map(),
  quarantine: [],
  receipts: [],
  frames: 0,
  events: 0,
  unknown: 0,
  lateRejected: 0,
  outsideSession: 0,
  drift: []
})

export interface IngestContext {
  readonly feed: LiveFeed
  readonly schema: FeedSchema
  readonly ev: "A" | "AM"
  readonly sessionDate: string
  readonly sessionOpenMs: number
  readonly graceSeconds: number
  /** A delayed feed's delay: a bar's lateness is measured on the feed clock (receipt − delay). */
  readonly feedDelayMs?: number | undefined
  readonly stepMs: number
  /** `session.hours: regular`: whether a bar starting at this ms is inside its date's session (undefined keeps all). */
  readonly inSession?: ((startMs: number) => boolean) | undefined
  readonly repair: GapRepair.RepairState
  /** `feed|kind|field` already reported in this process. */
  readonly driftSeen: Set<string>
  readonly symbols: SymbolTable
  readonly decoder: FrameDecoder
  /** Last window start per symbol id seen since the last `syncLastStart` (NaN: none). */
  lastById: Float64Array
  /** Columns of committed batches, reused by the next batches (at most SPARE_COLUMNS). */
  readonly spare: Array<LiveColumns>
}

export const SPARE_COLUMNS = 2

export const makeContext = (base: Omit<IngestContext, "symbols" | "decoder" | "lastById" | "spare">): IngestContext => {
  const symbols = new SymbolTable()
  const day = dayBounds(base.sessionDate)
  return {
    ...base,
    symbols,
    decoder: new FrameDecoder(base.schema, symbols, base.ev, day.startMs, day.endMs),
    lastById: new Float64Array(64).fill(NaN),
    spare: []
  }
}

const MAX_RAW = 64 * 1024
/** Everything a batch holds in memory, set-aside lines included, so a flood of late or bad events also triggers a flush. */
export const pendingEntries = (b: Batch): number => b.nRows + b.quarantine.length + b.lateRejected

const quarantineLine = (receivedMs: number, reason: string, raw: string) =>
  JSON.stringify({
    received_at_ms: receivedMs,
    reason,
    raw: raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw,
    truncated: raw.length > MAX_RAW
  })

const columnsOf = (b: Batch, c: IngestContext, date: string): LiveColumns => {
  let cols = b.rows.get(date)
  if (cols === undefined) b.rows.set(date, (cols = c.spare.pop()?.reset() ?? new LiveColumns(c.schema, c.symbols)))
  return cols
}

/** Put a row into the batch, replacing an earlier version of the same key (unless `replace` is false). */
export const putRow = (b: Batch, c: IngestContext, date: string, row: Row, replace = true): void => {
  if (columnsOf(b, c, date).putRow(row, replace)) b.nRows++
}

/** A bar of the session: its ticker's last start, and a pending gap it may close. */
const trackBar = (c: IngestContext, id: number, start: number): void => {
  if (id >= c.lastById.length) {
    const wider = new Float64Array(Math.max(id + 1, c.lastById.length * 2)).fill(NaN)
    wider.set(c.lastById)
    c.lastById = wider
  }
  if (!(start <= c.lastById[id]!)) c.lastById[id] = start
  if (c.repair.pending.size > 0) {
    GapRepair.closePending(c.repair, c.symbols.names[id]!, start, c.stepMs)
    GapRepair.watchNew(c.repair)
  }
  if (c.repair.open.size > 0) GapRepair.noteStreamed(c.repair, c.symbols.names[id]!, start)
}

/** Fold the last starts seen into the repair state (before a marker reads it, and for a checkpoint). */
export const syncLastStart = (c: IngestContext): void => {
  const last = c.lastById
  const names = c.symbols.names
  for (let id = 0; id < names.length && id < last.length; id++) {
    const v = last[id]!
    if (v !== v) continue
    const cur = c.repair.lastStart.get(names[id]!)
    if (cur === undefined || v > cur) c.repair.lastStart.set(names[id]!, v)
  }
}

const ingestEvent = (b: Batch, c: IngestContext, ev: Record<string, unknown>, receivedMs: number) => {
  const n = eventToRow(ev, c.feed, receivedMs)
  for (const d of n.drift) {
    const k = `${d.feed}|${d.kind}|${d.field}`
    if (!c.driftSeen.has(k)) {
      c.driftSeen.add(k)
      b.drift.push(d)
    }
  }
  if (!n.ok) {
    b.quarantine.push(quarantineLine(receivedMs, n.reason, JSON.stringify(ev)))
    return
  }
  const row = n.row
  const start = row["window_start_ms"] as number
  const end = typeof row["window_end_ms"] === "number" ? row["window_end_ms"] : start + c.stepMs
  const decision = classify(start, end, receivedMs - (c.feedDelayMs ?? 0), c.sessionDate, c.graceSeconds)
  if (
    (decision._tag === "Current" || decision._tag === "LateAccepted") &&
    c.inSession !== undefined &&
    !c.inSession(start)
  ) {
    b.outsideSession++
    return
  }
  switch (decision._tag) {
    case "Current":
      putRow(b, c, decision.date, row)
      trackBar(c, c.symbols.internString(row["ticker"] as string), start)
      return
    case "LateAccepted":
      putRow(b, c, decision.date, row)
      return
    case "LateRejected": {
      let list = b.late.get(decision.date)
      if (!list) b.late.set(decision.date, (list = []))
      list.push(lateLine(receivedMs, decision.date, ev))
      b.lateRejected++
      return
    }
    case "Future":
      b.quarantine.push(quarantineLine(receivedMs, `window start on ${decision.date}, after today`, JSON.stringify(ev)))
  }
}

/** One event through the object path. */
const objectEvent = (b: Batch, c: IngestContext, ev: unknown, receivedMs: number) => {
  if (ev === null || typeof ev !== "object" || Array.isArray(ev)) {
    b.quarantine.push(quarantineLine(receivedMs, "event is not an object", JSON.stringify(ev)))
    return
  }
  const kind = (ev as Record<string, unknown>)["ev"]
  if (kind === "status") return
  if (kind !== c.ev) {
    b.unknown++
    return
  }
  b.events++
  ingestEvent(b, c, ev as Record<string, unknown>, receivedMs)
}

const text = (raw: Uint8Array) => Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("utf8")

const ingestFrame = (b: Batch, c: IngestContext, raw: Uint8Array, receivedMs: number) => {
  b.frames++
  b.receipts.push(receivedMs)
  if (c.decoder.decode(raw, 0, raw.length, receivedMs)) {
    const { rows, order, objects } = c.decoder.frame
    const starts = rows.numeric[rows.startSlot]!
    let cols: LiveColumns | undefined
    for (let j = 0; j < order.length; j++) {
      const k = order[j]!
      if (k < 0) {
        objectEvent(b, c, objects[-k - 1], receivedMs)
        continue
      }
      b.events++
      if (c.inSession !== undefined && !c.inSession(starts[k]!)) {
        b.outsideSession++
        continue
      }
      cols ??= columnsOf(b, c, c.sessionDate)
      if (cols.putFrom(rows, k, true)) b.nRows++
      trackBar(c, rows.ticker[k]!, starts[k]!)
    }
    return
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text(raw))
  } catch {
    b.quarantine.push(quarantineLine(receivedMs, "malformed JSON frame", text(raw)))
    return
  }
  if (!Array.isArray(parsed)) {
    b.quarantine.push(quarantineLine(receivedMs, "frame is not a JSON array", text(raw)))
    return
  }
  for (const ev of parsed) objectEvent(b, c, ev, receivedMs)
}

/** Ingest journal entries into the batch. */
export const ingestEntries = (b: Batch, c: IngestContext, entries: ReadonlyArray<JournalEntry>): void => {
  for (const entry of entries) {
    if (entry._tag === "Corrupt") {
      b.quarantine.push(quarantineLine(0, "torn or corrupt journal line", entry.line))
    } else if (entry._tag === "Marker") {
      // Markers read the last starts: the ones the column path kept per symbol id are folded in first.
      syncLastStart(c)
      const tickers = entry.data["tickers"]
      if (Array.isArray(tickers)) GapRepair.onMarker(c.repair, tickers as Array<string>, c.sessionOpenMs)
      else onSubscriptionMarker(c.repair, entry.data, c.stepMs)
      GapRepair.watchNew(c.repair)
    } else ingestFrame(b, c, entry.raw, entry.receivedMs)
  }
}
