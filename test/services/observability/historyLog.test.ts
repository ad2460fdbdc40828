/** The day's history file: append-only, and a line torn by a crash costs only that line. */
import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { appendHistory, historyLineOf, parseHistory } from "../../../src/services/observability/historyLog.js"
import { PeriodCounter } from "../../../src/services/observability/period.js"
import { tempRoot } from "./_helpers.js"

describe("history log", () => {
  it("period percentiles are exact over every commit of the period; a torn line is closed and skipped", () => {
    const counter = new PeriodCounter()
    for (let i = 1; i <= 200; i++) counter.commit(i, 2)
    counter.reconnects = 3
    const first = historyLineOf("spy", "connected", counter.take(Date.parse("2025-10-28T14:05:00Z")))
    expect(first).toEqual({
      at: "2025-10-28T14:05:00.000Z",
      from: null,
      source: "spy",
      connection: "connected",
      commits: 200,
      latency_p50_ms: 100,
      latency_p95_ms: 190,
      latency_p99_ms: 198,
      latency_max_ms: 200,
      reconnects: 3,
      messages: 0,
      events: 0,
      rows: 400
    })
    const second = historyLineOf("spy", "connected", counter.take(Date.parse("2025-10-28T14:10:00Z")))
    expect(second).toMatchObject({
      from: "2025-10-28T14:05:00.000Z",
      commits: 0,
      latency_p99_ms: null,
      reconnects: 0,
      rows: 0
    })

    const file = path.join(tempRoot(), "state", "history", "2025-10-28.ndjson")
    appendHistory(file, [first])
    fs.appendFileSync(file, JSON.stringify(second).slice(0, 40)) // a crash in the middle of a write
    appendHistory(file, [second])
    expect(parseHistory(fs.readFileSync(file, "utf8"))).toEqual([first, second])
    expect(fs.readFileSync(file, "utf8").split("\n").length).toBe(4)
  })
})
