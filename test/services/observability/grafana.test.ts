/** The Grafana dashboard only charts series that `/metrics` serves. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as PromMetrics from "../../../src/services/observability/PromMetrics.js"

describe("config/grafana/spy-platform.json", () => {
  it("every spy_* series of every panel is in the exposition", async () => {
    const dashboard = JSON.parse(fs.readFileSync("config/grafana/spy-platform.json", "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>
    }
    const prom = PromMetrics.make()
    // One sample of each labelled series (prom-client prints a labelled series only once it has a value).
    await Effect.runPromise(
      Effect.all([
        prom.received("spy", 1, 1),
        prom.committed("spy", 1, 10),
        prom.badRows("spy", 1),
        prom.lateRows("spy", 1),
        prom.reconnect("spy"),
        prom.connectionFailure("spy"),
        prom.queue("spy", () => ({ bytes: 1, rows: 1 }))
      ])
    )
    const text = (await Effect.runPromise(prom.exposition)).text
    // Declared series (# TYPE), a histogram's with its _bucket/_sum/_count (default metrics sample lazily, the declaration is there at once).
    const served = new Set(
      text.split("\n").flatMap((l) => {
        const m = /^# TYPE (\S+) (\S+)$/.exec(l)
        return m === null
          ? []
          : m[2] === "histogram"
            ? [m[1]!, `${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`]
            : [m[1]!]
      })
    )
    const charted = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/spy_[a-z0-9_]+/g) ?? []))
    )
    expect([...charted].filter((name) => !served.has(name))).toEqual([])
    for (const name of [
      "spy_rows_late_total",
      "spy_queue_bytes",
      "spy_queue_rows",
      "spy_reconnects_total",
      "spy_messages_received_total"
    ])
      expect(charted.has(name)).toBe(true)
  })
})
