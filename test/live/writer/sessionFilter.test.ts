/**
 * `session.hours: regular` in live ingest: bars starting before 09:30:00 or at/after the close are
 * counted and not kept, on the column path and the object path alike; `extended` keeps them all.
 */
import { assert, describe, it } from "@effect/vitest"
import { batchRows } from "../../../src/domain/columnBatch.js"
import { holidayIndex, nyTimeMs } from "../../../src/domain/calendar.js"
import { SCHEMAS } from "../../../src/domain/feeds.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import { keepBatch, keepRows, sessionFilterFor } from "../../../src/domain/sessionFilter.js"
import * as GapRepair from "../../../src/live/writer/GapRepair.js"
import { ingestEntries, makeContext, newBatch } from "../../../src/live/writer/ingest.js"
import type { JournalEntry } from "../../../src/live/journal/journalLines.js"

const DATE = "2025-11-28" // early close 13:00
const OPEN = nyTimeMs(DATE, 9, 30),
  CLOSE = nyTimeMs(DATE, 13)
const holidays = holidayIndex(nyseHolidays(2025))

const bar = (s: number, extra: Record<string, unknown> = {}) => ({
  ev: "A",
  sym: "SPY",
  v: 10,
  av: 30,
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
const frame = (events: ReadonlyArray<unknown>): JournalEntry => ({
  _tag: "Frame",
  receivedMs: CLOSE + 60_000,
  raw: Buffer.from(JSON.stringify(events), "utf8")
})
const STARTS = [OPEN - 1000, OPEN, CLOSE - 1000, CLOSE, nyTimeMs(DATE, 4), nyTimeMs(DATE, 16, 5)]
const INSIDE = [OPEN, CLOSE - 1000]

const ingest = (inSession: ((t: number) => boolean) | undefined, entries: ReadonlyArray<JournalEntry>) => {
  const ctx = makeContext({
    feed: "spy",
    schema: SCHEMAS.spy,
    ev: "A",
    sessionDate: DATE,
    sessionOpenMs: OPEN,
    graceSeconds: 0,
    stepMs: 1000,
    inSession,
    repair: GapRepair.makeState(),
    driftSeen: new Set()
  })
  const b = newBatch()
  ingestEntries(b, ctx, entries)
  const cols = b.rows.get(DATE)
  const starts =
    cols === undefined
      ? []
      : batchRows(SCHEMAS.spy, cols.toColumnBatch())
          .map((r) => r["window_start_ms"] as number)
          .sort((x, y) => x - y)
  return { starts, outside: b.outsideSession, objectPath: b.drift.length > 0 }
}

describe("session filter", () => {
  const inSession = sessionFilterFor("regular", holidays)!

  it("knows the session of every date, early closes included", () => {
    assert.deepStrictEqual(STARTS.map(inSession), [false, true, true, false, false, false])
    assert.isTrue(inSession(nyTimeMs("2025-11-26", 15, 59, 59)))
    assert.isFalse(inSession(nyTimeMs("2025-11-27", 10))) // Thanksgiving: closed
    assert.isUndefined(sessionFilterFor("extended", holidays))
  })

  it("live ingest keeps the session on the column path and on the object path, and counts the rest", () => {
    const clean = frame(STARTS.map((s) => bar(s)))
    // an unknown field sends each event through the object path (normalizer + drift)
    const odd = frame(STARTS.map((s) => bar(s, { zz: 1 })))
    for (const [entries, objectPath] of [
      [[clean], false],
      [[odd], true]
    ] as const) {
      assert.deepStrictEqual(ingest(inSession, entries), { starts: INSIDE, outside: 4, objectPath })
      assert.deepStrictEqual(ingest(undefined, entries), {
        starts: [...STARTS].sort((x, y) => x - y),
        outside: 0,
        objectPath
      })
    }
  })

  it("filters rows and column batches alike", () => {
    const rows = STARTS.map((t) => ({ window_start_ms: t, ticker: "SPY" }))
    assert.deepStrictEqual(keepRows(rows, inSession), {
      kept: INSIDE.map((t) => ({ window_start_ms: t, ticker: "SPY" })),
      outside: 4
    })
    const batch = {
      length: STARTS.length,
      doubles: [
        ["window_start_ms", Float64Array.from(STARTS)],
        ["open", Float64Array.from(STARTS.map((_, i) => i))]
      ] as const,
      constants: { ticker: "SPY" }
    }
    const { kept, outside } = keepBatch(batch, inSession)
    assert.strictEqual(outside, 4)
    assert.deepStrictEqual(
      kept.doubles.map(([n, v]) => [n, [...v]]),
      [
        ["window_start_ms", INSIDE],
        ["open", [1, 2]]
      ]
    )
    assert.strictEqual(keepBatch(batch, () => true).kept, batch)
  })
})
