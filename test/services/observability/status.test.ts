import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { checkProblems, formatAge, formatStatus, formatTable, statusProgram } from "../../../src/programs/status.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import { settingsFor, tempRoot } from "./_helpers.js"

const NOW = Date.parse("2025-10-28T14:20:00.000Z")

describe("status", () => {
  it("formats ages", () => {
    assert.deepStrictEqual(
      [formatAge(0), formatAge(45_900), formatAge(245_000), formatAge(7_380_000), formatAge(-5)],
      ["0s", "45s", "4m 05s", "2h 03m", "0s"]
    )
  })

  it("formats an aligned table", () => {
    assert.strictEqual(
      formatTable(
        ["A", "NUM", "C"],
        [
          ["xx", "1", ""],
          ["y", "100", "z"]
        ],
        new Set([1])
      ),
      ["A   NUM  C", "xx    1", "y   100  z"].join("\n")
    )
  })

  it("formats the whole status", () => {
    const text = formatStatus({
      nowMs: NOW,
      staleAfterS: 900,
      livePid: 4242,
      heartbeats: [
        {
          source: "vix",
          last_heartbeat: "2025-10-28T14:00:00.000Z",
          messages_received_last_5min: 0,
          total_messages_today: 12,
          connection_status: "reconnecting",
          last_commit_at: null,
          last_commit_latency_ms: null
        },
        {
          source: "spy",
          last_heartbeat: "2025-10-28T14:15:00.000Z",
          messages_received_last_5min: 300,
          total_messages_today: 1800,
          connection_status: "connected",
          last_commit_at: "2025-10-28T14:19:58.000Z",
          last_commit_latency_ms: 812.4,
          event_loop_lag_p99_ms: 4.2,
          event_loop_lag_max_ms: 31
        }
      ],
      openAlerts: [
        {
          at: "2025-10-28T14:15:00.000Z",
          kind: "stale_heartbeat",
          source: "vix",
          message: "no data from vix for 900 s during market hours",
          details: {},
          open: true
        }
      ]
    })
    assert.strictEqual(
      text,
      [
        "live: running (pid 4242)",
        "",
        "SOURCE  LAST HEARTBEAT                      AGE  MSGS 5M  MSGS TODAY  CONNECTION    LAST COMMIT               COMMIT LATENCY",
        "spy     2025-10-28T14:15:00.000Z         5m 00s      300        1800  connected     2025-10-28T14:19:58.000Z          812 ms",
        "vix     2025-10-28T14:00:00.000Z  20m 00s STALE        0          12  reconnecting  -                                      -",
        "event loop lag (last heartbeat period, 2025-10-28T14:15:00.000Z): p99 4.2 ms, max 31 ms",
        "",
        "open alerts (1):",
        "SINCE                     KIND             SOURCE  MESSAGE",
        "2025-10-28T14:15:00.000Z  stale_heartbeat  vix     no data from vix for 900 s during market hours"
      ].join("\n")
    )
    assert.strictEqual(
      formatStatus({ nowMs: NOW, staleAfterS: 900, livePid: null, heartbeats: [], openAlerts: [] }),
      ["live: not running", "", "no heartbeats yet", "", "open alerts: none"].join("\n")
    )
  })

  it("says the feed's delay and the bars outside the session per source", () => {
    const beat = (source: string, outside: number) => ({
      source,
      last_heartbeat: "2025-10-28T14:15:00.000Z",
      messages_received_last_5min: 300,
      total_messages_today: 1800,
      connection_status: "connected",
      last_commit_at: null,
      last_commit_latency_ms: null,
      outside_session_today: outside,
      feed: "delayed" as const,
      feed_delay_s: 900
    })
    const text = formatStatus({
      nowMs: NOW,
      staleAfterS: 900,
      livePid: 7,
      heartbeats: [beat("vix", 1190), beat("spy", 66), { ...beat("news", 0), outside_session_today: undefined }],
      openAlerts: []
    })
    assert.strictEqual(
      text,
      [
        "live: running (pid 7)",
        "feed: delayed by 900 s (bars arrive 15m 00s after they end; the session is judged on the feed clock, wall clock - 900 s)",
        "",
        "SOURCE  LAST HEARTBEAT               AGE  MSGS 5M  MSGS TODAY  OUTSIDE SESSION  CONNECTION  LAST COMMIT  COMMIT LATENCY",
        "news    2025-10-28T14:15:00.000Z  5m 00s      300        1800                -  connected   -                         -",
        "spy     2025-10-28T14:15:00.000Z  5m 00s      300        1800               66  connected   -                         -",
        "vix     2025-10-28T14:15:00.000Z  5m 00s      300        1800             1190  connected   -                         -",
        "",
        "open alerts: none"
      ].join("\n")
    )
    const realtime = formatStatus({
      nowMs: NOW,
      staleAfterS: 900,
      livePid: null,
      heartbeats: [{ ...beat("spy", 0), feed: "realtime", feed_delay_s: 0 }],
      openAlerts: []
    })
    assert.strictEqual(realtime.split("\n")[1], "feed: realtime")
  })

  it.effect("reads heartbeat files, open alerts and the pid file", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const state = path.join(root, "state")
      fs.mkdirSync(path.join(state, "heartbeat"), { recursive: true })
      fs.writeFileSync(
        path.join(state, "heartbeat", "spy.json"),
        JSON.stringify({
          source: "spy",
          last_heartbeat: "2025-10-28T14:15:00.000Z",
          messages_received_last_5min: 3,
          total_messages_today: 9,
          connection_status: "connected",
          memory_usage_mb: 80.5,
          last_commit_at: null,
          last_commit_latency_ms: null
        })
      )
      fs.writeFileSync(path.join(state, "heartbeat", "spy.json.tmp-1-1"), "{")
      const line = (o: object) => JSON.stringify(o) + "\n"
      fs.writeFileSync(
        path.join(state, "alerts.ndjson"),
        line({
          at: "2025-10-28T14:00:00.000Z",
          kind: "error_rate",
          source: "spy",
          message: "e",
          details: {},
          open: true
        }) +
          line({ at: "2025-10-28T14:01:00.000Z", kind: "schema_drift", message: "d", details: {}, open: true }) +
          line({
            at: "2025-10-28T14:02:00.000Z",
            kind: "error_rate",
            source: "spy",
            message: "resolved: e",
            details: {},
            open: false
          }) +
          "{torn"
      )
      fs.writeFileSync(path.join(state, "live.pid"), "999999999\n")
      yield* TestClock.setTime(NOW)
      const text = yield* statusProgram().pipe(Effect.provide(AppSettings.layerValue(settingsFor(root))))
      assert.strictEqual(
        text,
        [
          "live: not running",
          "",
          "SOURCE  LAST HEARTBEAT               AGE  MSGS 5M  MSGS TODAY  CONNECTION  LAST COMMIT  COMMIT LATENCY",
          "spy     2025-10-28T14:15:00.000Z  5m 00s        3           9  connected   -                         -",
          "",
          "open alerts (1):",
          "SINCE                     KIND          SOURCE  MESSAGE",
          "2025-10-28T14:01:00.000Z  schema_drift  -       d"
        ].join("\n")
      )
    })
  )

  it("--check: a stale heartbeat of a source that did not close, and each open alert, are problems; a closed or fresh source is not", () => {
    const beat = (source: string, at: string, connection_status: string) => ({
      source,
      last_heartbeat: at,
      connection_status
    })
    const input = {
      nowMs: NOW,
      staleAfterS: 900,
      livePid: null,
      heartbeats: [
        beat("spy", "2025-10-28T14:05:00.001Z", "connected"), // 14m 59.999s: fresh
        beat("vix", "2025-10-28T14:05:00.000Z", "connected"), // exactly 900 s: stale
        beat("options", "2025-10-28T09:00:00.000Z", "closed") // old, but the session ended cleanly
      ],
      openAlerts: [] as Array<never>
    }
    assert.deepStrictEqual(checkProblems(input), ["heartbeat of vix is 15m 00s old (connected)"])
    const alert = {
      at: "2025-10-28T14:00:00.000Z",
      kind: "error_rate",
      source: "spy",
      message: "2% bad rows",
      details: {},
      open: true
    }
    assert.deepStrictEqual(checkProblems({ ...input, heartbeats: [], openAlerts: [alert] }), [
      "open alert error_rate (spy) since 2025-10-28T14:00:00.000Z: 2% bad rows"
    ])
    assert.deepStrictEqual(checkProblems({ ...input, heartbeats: [input.heartbeats[0]!, input.heartbeats[2]!] }), [])
  })

  it.effect("status --check fails with the problems when the files hold one", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      fs.mkdirSync(path.join(root, "state", "heartbeat"), { recursive: true })
      fs.writeFileSync(
        path.join(root, "state", "heartbeat", "spy.json"),
        JSON.stringify({ source: "spy", last_heartbeat: "2025-10-28T13:00:00.000Z", connection_status: "connected" })
      )
      yield* TestClock.setTime(NOW)
      const layer = AppSettings.layerValue(settingsFor(root))
      const failed = yield* Effect.flip(statusProgram({ check: true }).pipe(Effect.provide(layer)))
      assert.deepStrictEqual(failed.problems, ["heartbeat of spy is 1h 20m old (connected)"])
      fs.writeFileSync(
        path.join(root, "state", "heartbeat", "spy.json"),
        JSON.stringify({ source: "spy", last_heartbeat: "2025-10-28T13:00:00.000Z", connection_status: "closed" })
      )
      const text = yield* statusProgram({ check: true }).pipe(Effect.provide(layer))
      assert.include(text, "spy")
    })
  )
})
