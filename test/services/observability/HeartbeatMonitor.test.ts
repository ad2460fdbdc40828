import { assert, describe, it } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ObservabilityLive } from "../../../src/layers/Observability.js"
import { Alerts } from "../../../src/services/observability/Alerts.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import { HeartbeatMonitor } from "../../../src/services/observability/HeartbeatMonitor.js"
import { Metrics } from "../../../src/services/observability/Metrics.js"
import type { EventLoopLag } from "../../../src/services/observability/eventLoopLag.js"
import { parseHistory } from "../../../src/services/observability/historyLog.js"
import { alertLines, observabilityLayer, readJson, settingsFor, T0, tempRoot } from "./_helpers.js"

const iso = (ms: number) => new Date(ms).toISOString()

describe("HeartbeatMonitor", () => {
  it.scoped("writes every field of each source's heartbeat at each interval (event-loop lag: the period's)", () => {
    const root = tempRoot()
    const lags: Array<EventLoopLag> = []
    const file = path.join(root, "state", "heartbeat", "spy.json")
    return Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        const metrics = yield* Metrics
        const monitor = yield* HeartbeatMonitor
        yield* monitor.register("spy")
        yield* monitor.register("vix")
        yield* metrics.setConnection("spy", "connected")
        yield* metrics.recordMessages("spy", 40)
        yield* metrics.recordEvents("spy", 600)
        yield* metrics.recordCommit("spy", 1200, 600)
        yield* TestClock.adjust("299 seconds")
        lags.push({ p99Ms: 12.5, maxMs: 80 }) // measured during the period that ends at the next beat
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(readJson(file), {
          source: "spy",
          last_heartbeat: "2025-10-28T14:05:00.000Z",
          messages_received_last_5min: 0,
          total_messages_today: 40,
          connection_status: "connected",
          memory_usage_mb: 123.4,
          last_message_at: "2025-10-28T14:00:00.000Z",
          last_commit_at: "2025-10-28T14:00:00.000Z",
          last_commit_latency_ms: 1200,
          commit_latency_p50_ms: null,
          commit_latency_p95_ms: null,
          commit_latency_p99_ms: null,
          events_per_second: 0,
          event_loop_lag_p99_ms: 12.5,
          event_loop_lag_max_ms: 80,
          outside_session_today: 0,
          feed: "realtime",
          feed_delay_s: 0,
          total_events_today: 600,
          rows_committed_today: 600,
          reconnects_today: 0
        })
        yield* TestClock.adjust("200 seconds")
        yield* metrics.recordMessages("spy", 2)
        yield* metrics.recordCommit("spy", 300, 2)
        yield* metrics.recordEvents("spy", 30)
        yield* metrics.setConnection("spy", "reconnecting")
        yield* metrics.setConnection("spy", "connected")
        lags.push({ p99Ms: 3, maxMs: 9.4 })
        yield* TestClock.adjust("100 seconds")
        const beat = readJson(file) as Record<string, unknown>
        assert.deepStrictEqual(Object.keys(beat).slice(0, 6), [
          "source",
          "last_heartbeat",
          "messages_received_last_5min",
          "total_messages_today",
          "connection_status",
          "memory_usage_mb"
        ])
        assert.deepStrictEqual(beat, {
          source: "spy",
          last_heartbeat: "2025-10-28T14:10:00.000Z",
          messages_received_last_5min: 2,
          total_messages_today: 42,
          connection_status: "connected",
          memory_usage_mb: 123.4,
          last_message_at: "2025-10-28T14:08:20.000Z",
          last_commit_at: "2025-10-28T14:08:20.000Z",
          last_commit_latency_ms: 300,
          commit_latency_p50_ms: 300,
          commit_latency_p95_ms: 300,
          commit_latency_p99_ms: 300,
          events_per_second: 0,
          event_loop_lag_p99_ms: 3,
          event_loop_lag_max_ms: 9.4,
          outside_session_today: 0,
          feed: "realtime",
          feed_delay_s: 0,
          total_events_today: 630,
          rows_committed_today: 602,
          reconnects_today: 1
        })
        // The day's history: one line per source and period (the loop's first beat ran at 14:00, after the records above).
        const zero = {
          commits: 0,
          latency_p50_ms: null,
          latency_p95_ms: null,
          latency_p99_ms: null,
          latency_max_ms: null,
          reconnects: 0,
          messages: 0,
          events: 0,
          rows: 0
        }
        const period = (at: string, from: string | null) => ({
          at: `2025-10-28T${at}:00.000Z`,
          from: from === null ? null : `2025-10-28T${from}:00.000Z`
        })
        assert.deepStrictEqual(
          parseHistory(fs.readFileSync(path.join(root, "state", "history", "2025-10-28.ndjson"), "utf8")),
          [
            {
              ...period("14:00", null),
              source: "spy",
              connection: "connected",
              commits: 1,
              latency_p50_ms: 1200,
              latency_p95_ms: 1200,
              latency_p99_ms: 1200,
              latency_max_ms: 1200,
              reconnects: 0,
              messages: 40,
              events: 600,
              rows: 600
            },
            { ...period("14:00", null), source: "vix", connection: "disconnected", ...zero },
            { ...period("14:05", "14:00"), source: "spy", connection: "connected", ...zero },
            { ...period("14:05", "14:00"), source: "vix", connection: "disconnected", ...zero },
            {
              ...period("14:10", "14:05"),
              source: "spy",
              connection: "connected",
              commits: 1,
              latency_p50_ms: 300,
              latency_p95_ms: 300,
              latency_p99_ms: 300,
              latency_max_ms: 300,
              reconnects: 1,
              messages: 2,
              events: 30,
              rows: 2
            },
            { ...period("14:10", "14:05"), source: "vix", connection: "disconnected", ...zero }
          ]
        )
        assert.strictEqual(
          (readJson(path.join(root, "state", "heartbeat", "vix.json")) as { last_heartbeat: string }).last_heartbeat,
          "2025-10-28T14:10:00.000Z"
        )
        const leftovers = fs.readdirSync(path.dirname(file)).filter((n) => n.includes(".tmp"))
        assert.deepStrictEqual(leftovers, [])
      }).pipe(
        Effect.provide(
          observabilityLayer(settingsFor(root), {
            eventLoopLag: () => lags.shift() ?? null,
            historyFile: (date) => path.join(root, "state", "history", `${date}.ndjson`)
          })
        )
      )
    })
  })

  it.scoped("a stalled source raises exactly one stale_heartbeat at 15 minutes, not at 14:59", () => {
    const root = tempRoot()
    return Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        const metrics = yield* Metrics
        const monitor = yield* HeartbeatMonitor
        const alerts = yield* Alerts
        yield* monitor.register("spy")
        yield* metrics.recordMessages("spy", 5)
        yield* TestClock.adjust("899 seconds")
        assert.deepStrictEqual(alertLines(root), [])
        assert.deepStrictEqual(yield* alerts.openAlerts, [])
        yield* TestClock.adjust("1 second")
        const expected = {
          at: iso(T0 + 900_000),
          kind: "stale_heartbeat",
          source: "spy",
          message: "no data from spy for 900 s during market hours",
          details: { source: "spy", reason: "no_data", last_message_at: iso(T0), stale_after_s: 900 },
          open: true
        }
        assert.deepStrictEqual(alertLines(root), [expected])
        yield* TestClock.adjust("14 minutes")
        assert.deepStrictEqual(alertLines(root), [expected])
        assert.deepStrictEqual(yield* alerts.openAlerts, [expected])
        yield* metrics.recordMessages("spy", 1)
        yield* TestClock.adjust("60 seconds")
        const lines = alertLines(root)
        assert.strictEqual(lines.length, 2)
        assert.deepStrictEqual(
          [lines[1]!["kind"], lines[1]!["source"], lines[1]!["open"], lines[1]!["at"]],
          ["stale_heartbeat", "spy", false, iso(T0 + 30 * 60_000)]
        )
        assert.deepStrictEqual(yield* alerts.openAlerts, [])
      }).pipe(Effect.provide(observabilityLayer(settingsFor(root))))
    })
  })

  it.scoped(
    "a delayed feed: the files say the delay and the bars outside the session; the data stall is judged on the feed clock",
    () => {
      const root = tempRoot()
      const WALL_0930 = Date.parse("2025-10-28T13:30:00.000Z") // 09:30 ET on the wall clock, 09:15 on the feed's
      return Effect.gen(function* () {
        yield* TestClock.setTime(WALL_0930)
        yield* Effect.gen(function* () {
          const metrics = yield* Metrics
          yield* (yield* HeartbeatMonitor).register("spy")
          yield* metrics.recordOutsideSession("spy", 37)
          yield* metrics.recordOutsideSession("spy", 5)
          yield* (yield* HeartbeatMonitor).beat
          const beat = readJson(path.join(root, "state", "heartbeat", "spy.json")) as Record<string, unknown>
          assert.deepStrictEqual(
            [beat["feed"], beat["feed_delay_s"], beat["outside_session_today"]],
            ["delayed", 900, 42]
          )
          // The feed opens at 09:45 wall (09:30 feed); the last check before it (09:44 wall) restarts the stall clock:
          // no data for 15 minutes from there is 09:59 wall. A real-time feed would have alerted at 09:45.
          yield* TestClock.adjust("28 minutes")
          assert.deepStrictEqual(alertLines(root), [])
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual(
            alertLines(root).map((a) => [a["at"], a["kind"], a["message"]]),
            [["2025-10-28T13:59:00.000Z", "stale_heartbeat", "no data from spy for 900 s during market hours"]]
          )
        }).pipe(Effect.provide(observabilityLayer(settingsFor(root), { feed: { feed: "delayed", feedDelayS: 900 } })))
      })
    }
  )

  it.scoped("no data-stall alert while the market is closed", () => {
    const root = tempRoot()
    return Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-10-25T14:00:00.000Z")) // Saturday
      yield* Effect.gen(function* () {
        yield* (yield* HeartbeatMonitor).register("spy")
        yield* TestClock.adjust("20 minutes")
        assert.deepStrictEqual(alertLines(root), [])
      }).pipe(Effect.provide(observabilityLayer(settingsFor(root))))
    })
  })

  it.scoped("error-rate alert above 1% and not at 1%; connection failures above 3; commit SLA", () => {
    const root = tempRoot()
    return Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        const metrics = yield* Metrics
        const monitor = yield* HeartbeatMonitor
        const kinds = () => alertLines(root).map((l) => `${l["kind"]}/${l["source"]}/${l["open"]}`)
        for (let i = 0; i < 99; i++) yield* metrics.recordSuccess("options")
        yield* metrics.recordError("options")
        for (let i = 0; i < 3; i++) yield* metrics.recordConnectionFailure("options")
        yield* metrics.recordCommit("sink:postgres", 300_000, 10)
        yield* monitor.check
        assert.deepStrictEqual(kinds(), [])
        yield* metrics.recordError("options")
        yield* metrics.recordConnectionFailure("options")
        yield* metrics.recordCommit("sink:postgres", 300_001, 10)
        yield* metrics.recordCommit("sink:postgres", 300_001, 10)
        yield* monitor.check
        assert.deepStrictEqual(kinds(), [
          "error_rate/options/true",
          "connection_failures/options/true",
          "commit_latency_sla/sink:postgres/true"
        ])
        const errorLine = alertLines(root)[0]!
        assert.deepStrictEqual(errorLine, {
          at: iso(T0),
          kind: "error_rate",
          source: "options",
          message: "error rate of options over 1%",
          details: { source: "options", errors: 2, total: 101, error_rate_pct: 200 / 101 },
          open: true
        })
        yield* monitor.check
        assert.strictEqual(kinds().length, 3)
        yield* metrics.resetConnectionFailures("options")
        yield* monitor.check
        assert.deepStrictEqual(kinds().slice(3), ["connection_failures/options/false"])
      }).pipe(Effect.provide(observabilityLayer(settingsFor(root))))
    })
  })

  it.scoped("heartbeats that cannot be written raise stale_heartbeat (no_heartbeat) after 15 minutes", () => {
    const root = tempRoot()
    fs.mkdirSync(path.join(root, "state"), { recursive: true })
    fs.writeFileSync(path.join(root, "state", "heartbeat"), "not a directory")
    return Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        yield* (yield* HeartbeatMonitor).register("sink:postgres", { stallAlert: false })
        yield* TestClock.adjust("14 minutes")
        assert.deepStrictEqual(alertLines(root), [])
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(alertLines(root), [
          {
            at: iso(T0 + 900_000),
            kind: "stale_heartbeat",
            source: "sink:postgres",
            message: "no heartbeat from sink:postgres for 900 s",
            details: { source: "sink:postgres", reason: "no_heartbeat", last_heartbeat: iso(T0), stale_after_s: 900 },
            open: true
          }
        ])
      }).pipe(Effect.provide(observabilityLayer(settingsFor(root))))
    })
  })

  it.scoped("ObservabilityLive composes the three services from AppSettings", () => {
    const root = tempRoot()
    const live = ObservabilityLive.pipe(
      Layer.provide(
        Layer.merge(AppSettings.layerValue(settingsFor(root, { heartbeat: { interval_s: 60 } })), FetchHttpClient.layer)
      )
    )
    return Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        yield* (yield* HeartbeatMonitor).register("news", { stallAlert: false })
        yield* (yield* Metrics).recordMessages("news", 3)
        yield* TestClock.adjust("60 seconds")
        const beat = readJson(path.join(root, "state", "heartbeat", "news.json")) as Record<string, unknown>
        assert.deepStrictEqual(
          [beat["last_heartbeat"], beat["total_messages_today"], typeof beat["memory_usage_mb"]],
          ["2025-10-28T14:01:00.000Z", 3, "number"]
        )
        assert.strictEqual(beat["memory_usage_mb"], Math.round((beat["memory_usage_mb"] as number) * 10) / 10)
        assert.deepStrictEqual(yield* (yield* Alerts).openAlerts, [])
      }).pipe(Effect.provide(live))
    })
  })
})
