/**
 * Journal lines → the writer's in-memory batch: frames parsed, events validated and mapped to
 * rows (latest version of a key wins), late bars and bad input set aside, gap-repair state fed.
 * Synchronous and allocation-light: this is the hot path between the journal and Parquet.
 */
import type { Row } from "../domain/feeds.js"
import type { DriftFinding } from "../domain/normalize.js"
import * as GapRepair from "./GapRepair.js"
import { decodeLine } from "./Journal.js"
import { classify, lateLine } from "./LateData.js"
import { onSubscriptionMarker } from "./recenterRepair.js"
import { eventToRow, type LiveFeed } from "./wsRows.js"

export interface Batch {
  /** trading date → `ticker|window_start_ms` → row */
  readonly rows: Map<string, Map<string, Row>>
  nRows: number
  readonly late: Map<string, Array<string>>
  readonly quarantine: Array<string>
  readonly receipts: Array<number>
  frames: number
  events: number
  unknown: number
  lateRejected: number
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
  drift: []
})

export interface IngestContext {
  readonly feed: LiveFeed
  readonly ev: "A" | "AM"
  readonly sessionDate: string
  readonly sessionOpenMs: number
  readonly graceSeconds: number
  readonly stepMs: number
  readonly repair: GapRepair.RepairState
  /** `feed|kind|field` already reported in this process. */
  readonly driftSeen: Set<string>
}

const MAX_RAW = 64 * 1024
/** Everything a batch holds in memory, set-aside lines included, so a flood of late or bad events also triggers a flush. */
export const pendingEntries = (b: Batch): number => b.nRows + b.quarantine.length + b.lateRejected

const quarantineLine = (receivedMs: number, reason: string, raw: string) =>
  JSON.stringify({ received_at_ms: receivedMs, reason, raw: raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw, truncated: raw.length > MAX_RAW })

/** Put a row into the batch, replacing an earlier version of the same key. */
export const putRow = (b: Batch, date: string, row: Row, replace = true): void => {
  let byKey = b.rows.get(date)
  if (!byKey) b.rows.set(date, (byKey = new Map()))
  const key = `${row["ticker"]}|${row["window_start_ms"]}`
  const had = byKey.has(key)
  if (had && !replace) return
  byKey.set(key, row)
  if (!had) b.nRows++
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
  const decision = classify(start, end, receivedMs, c.sessionDate, c.graceSeconds)
  switch (decision._tag) {
    case "Current":
      putRow(b, decision.date, row)
      GapRepair.onBar(c.repair, row["ticker"] as string, start, c.stepMs)
      return
    case "LateAccepted":
      putRow(b, decision.date, row)
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

/** Ingest journal lines into the batch. */
export const ingestLines = (b: Batch, c: IngestContext, lines: ReadonlyArray<string>): void => {
  for (const line of lines) {
    if (line.length === 0) continue
    const entry = decodeLine(line)
    if (entry._tag === "Corrupt") {
      b.quarantine.push(quarantineLine(0, "torn or corrupt journal line", line))
      continue
    }
    if (entry._tag === "Marker") {
      const tickers = entry.data["tickers"]
      if (Array.isArray(tickers)) GapRepair.onMarker(c.repair, tickers as Array<string>, c.sessionOpenMs)
      else onSubscriptionMarker(c.repair, entry.data, c.stepMs)
      continue
    }
    b.frames++
    b.receipts.push(entry.receivedMs)
    let parsed: unknown
    try {
      parsed = JSON.parse(entry.raw)
    } catch {
      b.quarantine.push(quarantineLine(entry.receivedMs, "malformed JSON frame", entry.raw))
      continue
    }
    if (!Array.isArray(parsed)) {
      b.quarantine.push(quarantineLine(entry.receivedMs, "frame is not a JSON array", entry.raw))
      continue
    }
    for (const ev of parsed) {
      if (ev === null || typeof ev !== "object" || Array.isArray(ev)) {
        b.quarantine.push(quarantineLine(entry.receivedMs, "event is not an object", JSON.stringify(ev)))
        continue
      }
      const kind = (ev as Record<string, unknown>)["ev"]
      if (kind === "status") continue
      if (kind !== c.ev) {
        b.unknown++
        continue
      }
      b.events++
      ingestEvent(b, c, ev as Record<string, unknown>, entry.receivedMs)
    }
  }
}
