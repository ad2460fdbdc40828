/**
 * Journal entries → batch: the column path gives the very batch the object path (JSON.parse +
 * normalizer, latest version of a key wins) gives, for clean frames and for every odd case mixed
 * in: duplicates and corrections within and across frames, a drifted correction of a clean bar,
 * a frame torn in the middle (quarantined whole, none of its events kept), late and future bars,
 * unknown and status events, quarantined events, corrupt journal lines.
 */
import { assert, describe, it } from "@effect/vitest"
import { batchRows } from "../../../src/domain/columnBatch.js"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { type Row, SCHEMAS } from "../../../src/domain/feeds.js"
import * as GapRepair from "../../../src/live/writer/GapRepair.js"
import { type Batch, ingestEntries, makeContext, newBatch } from "../../../src/live/writer/ingest.js"
import type { JournalEntry } from "../../../src/live/journal/journalLines.js"
import { classify } from "../../../src/live/writer/LateData.js"
import { eventToRow } from "../../../src/live/writer/wsRows.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)

const context = (graceSeconds = 0) =>
  makeContext({
    feed: "options",
    schema: SCHEMAS.options,
    ev: "A",
    sessionDate: DATE,
    sessionOpenMs: OPEN,
    graceSeconds,
    stepMs: 1000,
    repair: GapRepair.makeState(),
    driftSeen: new Set()
  })

const bar = (sym: string, s: number, v: number, extra: Record<string, unknown> = {}) => ({
  ev: "A",
  sym,
  v,
  av: v * 3,
  op: 5.5,
  vw: 5.25,
  o: 5.1,
  c: 5.2,
  h: 5.4,
  l: 5.0,
  a: 5.3,
  z: 7,
  s,
  e: s + 1000,
  ...extra
})

const frame = (receivedMs: number, text: string): JournalEntry => ({
  _tag: "Frame",
  receivedMs,
  raw: Buffer.from(text, "utf8")
})

/** The reference: the object path alone (what ingest did before the column path). */
const reference = (entries: ReadonlyArray<JournalEntry>, graceSeconds = 0) => {
  const rows = new Map<string, Row>()
  let quarantined = 0,
    late = 0,
    unknown = 0,
    events = 0
  for (const e of entries) {
    if (e._tag === "Corrupt") quarantined++
    if (e._tag !== "Frame") continue
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.from(e.raw).toString("utf8"))
    } catch {
      quarantined++
      continue
    }
    if (!Array.isArray(parsed)) {
      quarantined++
      continue
    }
    for (const ev of parsed as Array<Record<string, unknown>>) {
      if (ev === null || typeof ev !== "object" || Array.isArray(ev)) {
        quarantined++
        continue
      }
      if (ev["ev"] === "status") continue
      if (ev["ev"] !== "A") {
        unknown++
        continue
      }
      events++
      const n = eventToRow(ev, "options", e.receivedMs)
      if (!n.ok) {
        quarantined++
        continue
      }
      const s = n.row["window_start_ms"] as number
      const d = classify(s, n.row["window_end_ms"] as number, e.receivedMs, DATE, graceSeconds)
      if (d._tag === "LateRejected") late++
      else if (d._tag === "Future") quarantined++
      else rows.set(`${d.date}|${n.row["ticker"]}|${s}`, n.row)
    }
  }
  return { rows, quarantined, late, unknown, events }
}

const batchMap = (b: Batch) => {
  const out = new Map<string, Row>()
  for (const [date, cols] of b.rows) {
    for (const row of batchRows(SCHEMAS.options, cols.toColumnBatch())) {
      const key = `${date}|${row["ticker"]}|${row["window_start_ms"]}`
      assert.isFalse(out.has(key), `one row per key: ${key}`)
      out.set(key, row)
    }
  }
  return out
}

const sameAsReference = (entries: ReadonlyArray<JournalEntry>, graceSeconds = 0) => {
  const b = newBatch()
  ingestEntries(b, context(graceSeconds), entries)
  const ref = reference(entries, graceSeconds)
  const got = batchMap(b)
  assert.deepStrictEqual([...got.keys()].sort(), [...ref.rows.keys()].sort())
  for (const [k, row] of ref.rows) {
    const g = got.get(k)!
    for (const col of SCHEMAS.options.columns)
      assert.strictEqual(g[col.name], row[col.name] ?? null, `${k} ${col.name}`)
  }
  assert.strictEqual(b.nRows, ref.rows.size)
  assert.deepStrictEqual(
    { quarantined: b.quarantine.length, late: b.lateRejected, unknown: b.unknown, events: b.events },
    { quarantined: ref.quarantined, late: ref.late, unknown: ref.unknown, events: ref.events }
  )
  return b
}

describe("ingest: column path = object path", () => {
  it("clean frames with duplicates and corrections within and across frames", () => {
    const tickers = ["O:SPY251029C00580000", "O:SPY251029P00580000", "O:SPY251029C00581000"]
    const entries: Array<JournalEntry> = []
    for (let k = 0; k < 40; k++) {
      const events = tickers.flatMap((t, j) => [bar(t, OPEN + k * 1000, k * 10 + j)])
      // a correction of an earlier second (out of order), and an exact duplicate in the same frame
      if (k > 3)
        events.push(
          bar(tickers[k % 3]!, OPEN + (k - 3) * 1000, 1000 + k),
          bar(tickers[0]!, OPEN + k * 1000, k * 10 + 0)
        )
      entries.push(frame(OPEN + 1000 + k * 1000, JSON.stringify(events)))
    }
    const b = sameAsReference(entries)
    assert.strictEqual(b.nRows, 120)
  })

  it("odd events and frames among clean ones", () => {
    const t = "O:SPY251029C00580000"
    const prev = nyTimeMs("2025-10-27", 15, 59, 58)
    const next = nyTimeMs("2025-10-29", 9, 30)
    const entries: Array<JournalEntry> = [
      frame(OPEN + 1000, JSON.stringify([bar(t, OPEN, 1), bar(t, OPEN + 1000, 2)])),
      // a drifted correction of a clean bar, then a clean correction of another
      frame(
        OPEN + 2000,
        JSON.stringify([
          bar(t, OPEN, 3, { new_field: "x" }),
          { ev: "status", status: "success", message: "m" },
          bar(t, OPEN + 2000, 4)
        ])
      ),
      frame(
        OPEN + 3000,
        JSON.stringify([bar(t, OPEN + 1000, 5), { ev: "AM", sym: t }, bar(t, OPEN + 3000, 6, { vw: null })])
      ),
      // torn in the middle: none of its (valid-looking) first events count
      frame(
        OPEN + 4000,
        JSON.stringify([bar(t, OPEN + 4000, 7), bar(t, OPEN, 99), bar(t, OPEN + 5000, 8)]).slice(0, 300)
      ),
      frame(OPEN + 5000, "not json"),
      frame(OPEN + 5000, JSON.stringify({ ev: "A" })),
      // late (previous day), future (next day), a quarantined one (h < l), not an object
      frame(
        OPEN + 6000,
        JSON.stringify([
          bar(t, prev, 9),
          bar(t, next, 10),
          bar(t, OPEN + 6000, 11, { h: 1, l: 2 }),
          7,
          bar(t, OPEN + 7000, 12)
        ])
      ),
      { _tag: "Corrupt", line: "[12,[{" },
      frame(
        OPEN + 8000,
        `[ ${JSON.stringify(bar(t, OPEN + 8000, 13))} , ${JSON.stringify(bar("O:SPY251029C0058\\u0031000", OPEN + 8000, 14))} ]`
      )
    ]
    const b = sameAsReference(entries)
    assert.strictEqual(b.quarantine.length, 7)
    assert.strictEqual(b.lateRejected, 1)
    assert.deepStrictEqual(b.drift.map((d) => `${d.kind}:${d.field}`).sort(), [
      "missing_field:vw",
      "unknown_field:new_field"
    ])
    const rows = batchMap(b)
    assert.strictEqual(rows.get(`${DATE}|${t}|${OPEN}`)!["extra"], JSON.stringify({ new_field: "x" }))
    assert.strictEqual(rows.get(`${DATE}|${t}|${OPEN}`)!["volume"], 3)
  })

  it("late bars within the grace go to their own date", () => {
    const t = "O:SPY251029C00580000"
    const prev = nyTimeMs("2025-10-27", 15, 59, 58)
    const b = sameAsReference([frame(prev + 3000, JSON.stringify([bar(t, prev, 1), bar(t, OPEN, 2)]))], 5)
    assert.deepStrictEqual([...b.rows.keys()].sort(), ["2025-10-27", DATE])
  })

  it("gap repair: a marker opens gaps; the connection's first bar as new as its newest closes them all, an older one only its own", () => {
    const c = context()
    const b = newBatch()
    const [t1, t2, t3] = ["O:SPY251029C00580000", "O:SPY251029P00580000", "O:SPY251029C00581000"]
    ingestEntries(b, c, [
      frame(OPEN + 4000, JSON.stringify([bar(t1, OPEN + 3000, 1), bar(t2, OPEN, 1)])),
      { _tag: "Marker", ms: OPEN + 5000, data: { conn: "options-0", epoch: 2, tickers: [t1, t2, t3] } },
      // a late bar of t2 (older than t1's last): closes t2's gap only
      frame(OPEN + 9000, JSON.stringify([bar(t2, OPEN + 2000, 2)]))
    ])
    assert.deepStrictEqual(c.repair.due, [{ ticker: t2, after: OPEN, before: OPEN + 2000 }])
    assert.deepStrictEqual([...c.repair.pending.keys()].sort(), [t1, t3])
    ingestEntries(b, c, [
      // t1's first new bar: the connection delivers from here on; t3 (no bar yet) is closed there too, that window included
      frame(OPEN + 10_000, JSON.stringify([bar(t1, OPEN + 9000, 3), bar(t3, OPEN + 5000, 3)]))
    ])
    const due = GapRepair.takeDue(c.repair)
    assert.deepStrictEqual(due, [
      { ticker: t2, after: OPEN, before: OPEN + 2000 },
      { ticker: t1, after: OPEN + 3000, before: OPEN + 9000 },
      { ticker: t3, after: OPEN - 1, before: OPEN + 9001 }
    ])
    assert.strictEqual(c.repair.pending.size, 0)
    // t3's bar at +5 s lies inside its open range: its REST row will not override it
    assert.deepStrictEqual([...c.repair.streamedInGap], [`${t3}|${OPEN + 5000}`])
    for (const r of due) GapRepair.settle(c.repair, r)
    assert.strictEqual(c.repair.open.size, 0)
    assert.strictEqual(c.repair.streamedInGap.size, 0)
  })

  it("gap repair at the start: a connection subscribed before its first bar has nothing to repair", () => {
    const c = context()
    const tickers = ["O:SPY251029C00580000", "O:SPY251029P00580000", "O:SPY251029C00581000"]
    ingestEntries(newBatch(), c, [
      { _tag: "Marker", ms: OPEN - 10_000, data: { conn: "options-0", epoch: 1, tickers } },
      frame(OPEN + 1000, JSON.stringify([bar(tickers[1]!, OPEN, 1)])),
      frame(OPEN + 60_000, JSON.stringify([bar(tickers[0]!, OPEN + 59_000, 1), bar(tickers[2]!, OPEN + 30_000, 1)]))
    ])
    assert.deepStrictEqual(GapRepair.takeDue(c.repair), [])
    assert.strictEqual(c.repair.pending.size, 0)
  })
})
