/**
 * The live HTTP endpoints over the real observability services (TestClock, real HTTP on a free
 * port): counts on /status.json and /metrics rise with the telemetry and equal the heartbeat files
 * written at the same moment; /healthz is 200, then 503 naming the source once its connection
 * drops; late rows, queue depth and reconnects on /metrics; the page renders in headless Chromium
 * with the same numbers and the contract set with each contract's last bar.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { TelemetryFromObservability } from "../../../src/layers/Live.js"
import { LiveTelemetry } from "../../../src/live/telemetry.js"
import { HeartbeatMonitor } from "../../../src/services/observability/HeartbeatMonitor.js"
import { serveStatus } from "../../../src/services/observability/status/StatusServer.js"
import { chromiumOrSkip, launch } from "../../helpers/browser.js"
import { observabilityLayer, readJson, settingsFor, T0, tempRoot } from "./_helpers.js"

const get = (port: number, p: string) =>
  Effect.promise(async () => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`)
    return { status: r.status, text: await r.text() }
  })

const metric = (text: string, name: string, source: string) =>
  Number(new RegExp(`^${name}\\{source="${source}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN)

describe("live status endpoints", () => {
  it.scoped(
    "/status.json and /metrics equal the heartbeat files; /healthz turns 503 on a dropped connection; the page renders",
    () => {
      const root = tempRoot()
      return Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        yield* Effect.gen(function* () {
          const telemetry = yield* LiveTelemetry
          const monitor = yield* HeartbeatMonitor
          const port = yield* serveStatus
          for (const source of ["spy", "options"]) {
            yield* telemetry.register(source)
            yield* telemetry.connection(source, "connected")
          }
          const check = Effect.gen(function* () {
            yield* monitor.beat
            const json = JSON.parse((yield* get(port, "/status.json")).text) as {
              sources: Array<{ source: string; totalMessagesToday: number; totalEventsToday: number }>
            }
            const metrics = (yield* get(port, "/metrics")).text
            for (const source of ["spy", "options"]) {
              const beat = readJson(path.join(root, "state", "heartbeat", `${source}.json`)) as Record<string, number>
              const s = json.sources.find((x) => x.source === source)!
              assert.strictEqual(s.totalMessagesToday, beat["total_messages_today"])
              assert.strictEqual(metric(metrics, "spy_events_received_total", source), s.totalEventsToday)
            }
            return json
          })
          yield* telemetry.received("spy", 10, 40)
          yield* telemetry.received("options", 5, 300)
          yield* telemetry.commit("options", 300, T0, [T0])
          const first = yield* check
          yield* TestClock.adjust("10 seconds")
          yield* telemetry.received("spy", 7, 28)
          yield* telemetry.received("options", 1, 100)
          const second = yield* check
          assert.deepStrictEqual(
            [first, second].map((j) => j.sources.map((s) => [s.source, s.totalMessagesToday, s.totalEventsToday])),
            [
              [
                ["spy", 10, 40],
                ["options", 5, 300]
              ],
              [
                ["spy", 17, 68],
                ["options", 6, 400]
              ]
            ]
          )
          assert.strictEqual(metric((yield* get(port, "/metrics")).text, "spy_rows_committed_total", "options"), 300)
          // Late rows, queue depth (read at scrape time), messages and reconnects.
          const depth = { bytes: 1234, rows: 56 }
          yield* telemetry.queue("spy", () => depth)
          yield* telemetry.late("options", 3)
          yield* telemetry.late("options", 4)
          let m = (yield* get(port, "/metrics")).text
          assert.deepStrictEqual(
            [
              metric(m, "spy_rows_late_total", "options"),
              metric(m, "spy_queue_bytes", "spy"),
              metric(m, "spy_queue_rows", "spy"),
              metric(m, "spy_messages_received_total", "spy")
            ],
            [7, 1234, 56, 17]
          )
          depth.bytes = 0
          m = (yield* get(port, "/metrics")).text
          assert.strictEqual(metric(m, "spy_queue_bytes", "spy"), 0)

          assert.deepStrictEqual(yield* get(port, "/healthz"), { status: 200, text: "ok\n" })
          yield* telemetry.connection("options", "reconnecting")
          assert.deepStrictEqual(yield* get(port, "/healthz"), { status: 503, text: "options: reconnecting\n" })
          assert.strictEqual(metric((yield* get(port, "/metrics")).text, "spy_reconnects_total", "options"), 1)

          // The contract set with each contract's last bar (the newest window wins, an older one is ignored).
          const [put, call, quiet] = ["O:SPY251028P00680000", "O:SPY251028C00690000", "O:SPY251028C00685000"]
          fs.mkdirSync(path.join(root, "raw/contracts/date=2025-10-28"), { recursive: true })
          fs.writeFileSync(
            path.join(root, "raw/contracts/date=2025-10-28/contracts.json"),
            JSON.stringify({ contracts: [put, call, quiet].map((ticker) => ({ ticker })) })
          )
          yield* telemetry.lastBars("options", [
            { ticker: put, windowStartMs: T0 - 5000, close: 1.25 },
            { ticker: call, windowStartMs: T0 - 2000, close: 3.5 }
          ])
          yield* telemetry.lastBars("options", [
            { ticker: put, windowStartMs: T0 - 1000, close: 1.3 },
            { ticker: call, windowStartMs: T0 - 3000, close: 9 }
          ])

          const chromium = chromiumOrSkip()
          if (chromium === undefined) return
          const html = (yield* get(port, "/")).text
          const browser = yield* Effect.promise(() => launch(chromium))
          yield* Effect.addFinalizer(() => Effect.promise(() => browser.close()))
          const page = yield* Effect.promise(() => browser.newPage())
          yield* Effect.promise(() => page.goto(`http://127.0.0.1:${port}/`))
          assert.strictEqual(yield* Effect.promise(() => page.locator("#health").textContent()), "UNHEALTHY")
          assert.strictEqual(
            yield* Effect.promise(() =>
              page.locator('tr[data-source="spy"] td[data-field="messages_today"]').textContent()
            ),
            "17"
          )
          assert.strictEqual(
            yield* Effect.promise(() =>
              page.locator('tr[data-source="options"] td[data-field="connection"]').textContent()
            ),
            "reconnecting"
          )
          assert.include(html, "options: reconnecting")
          const contracts = yield* Effect.promise(() =>
            page
              .locator("#contracts tbody tr")
              .evaluateAll((rows) =>
                rows.map((r) =>
                  Array.from(
                    (r as unknown as { children: ArrayLike<{ textContent: string | null }> }).children,
                    (c) => c.textContent ?? ""
                  )
                )
              )
          )
          // Calls then puts, strikes ascending; ages on the platform clock (T0 + 10 s); New York times.
          assert.deepStrictEqual(contracts, [
            [quiet, "685", "-", "-", "-"],
            [call, "690", "09:59:58", "3.5", "12"],
            [put, "680", "09:59:59", "1.3", "11"]
          ])
        }).pipe(
          Effect.provide(
            TelemetryFromObservability.pipe(
              Layer.provideMerge(observabilityLayer(settingsFor(root, { http: { port: 0 } })))
            )
          )
        )
      })
    }
  )
})
