/**
 * The report of a live day. The real live program on the TestClock (a fake Polygon WebSocket fed
 * from the SyntheticMarket, the real Metrics/Alerts/HeartbeatMonitor) from 09:29 to 11:00 with a
 * 20-minute silence planted at 10:00 (the idle watchdog reconnects every socket until the
 * connection_failures alert is raised; it is resolved once data flows again), then `report`, opened in headless Chromium offline:
 * the latency table and chart, the reconnects and the alert counts equal, value for value, what
 * `live` persisted (data/state/history/<date>.ndjson, alerts.ndjson); the reconnects also equal the
 * sockets the fake server saw opened again, and the heartbeat files' `reconnects_today`. Two bars of
 * the previous day, delivered at 10:30, are set aside as late and counted on /metrics.
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect, Fiber, Layer, TestClock, TestContext } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { TelemetryFromObservability } from "../../../src/layers/Live.js"
import { ObservabilityLive } from "../../../src/layers/Observability.js"
import { etMinute } from "../../../src/programs/report/liveDay.js"
import { liveProgram } from "../../../src/programs/live.js"
import { reportProgram } from "../../../src/programs/report.js"
import { AppSettings } from "../../../src/services/AppSettings.js"
import { parseAlertLines } from "../../../src/services/observability/alertLog.js"
import { type HistoryLine, parseHistory } from "../../../src/services/observability/historyLog.js"
import * as PromMetrics from "../../../src/services/observability/PromMetrics.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { buildTickerDay } from "../../../src/simulator/ws/events.js"
import { chromiumOrSkip, launch, offlinePage, pngColours } from "../../helpers/browser.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { liveTestLayer, realTick, realWait } from "../../live/fixtures/harness.js"

const DATE = "2025-10-28"
const chromiumPath = chromiumOrSkip()
const roots: Array<string> = []

/** A live session 09:29–11:00 on the TestClock, silent 10:00–10:20; returns the fake server. */
const liveSession = (root: string) =>
  Effect.gen(function* () {
    const settings = yield* Effect.promise(() =>
      loadTestSettings({
        storage: { root },
        live: { shutdown_before_close_s: -1, idle_timeout_s: 180 },
        flush: { interval_s: 60 },
        feeds: { news: { enabled: false } },
        sinks: { enabled: [] }
      })
    )
    const market = makeSyntheticMarket(42)
    const server = new FakeServer(market, DATE)
    const prom = PromMetrics.make()
    const telemetry = TelemetryFromObservability.pipe(
      Layer.provide(Layer.succeed(PromMetrics.PromMetrics, prom)),
      Layer.provide(ObservabilityLive),
      Layer.provide(Layer.merge(Layer.succeed(AppSettings, settings), FetchHttpClient.layer))
    )
    const { layer } = liveTestLayer(settings, fakeRest(market).service, server.connect, telemetry)
    const start = nyTimeMs(DATE, 9, 29)
    yield* TestClock.setTime(start)
    server.nowMs = start
    const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
    const subscribed = (n: number) => realWait(() => server.open().filter((s) => s.subs.size > 0).length >= n, 20_000)
    yield* subscribed(2)
    const [silentFrom, silentTo] = [nyTimeMs(DATE, 10), nyTimeMs(DATE, 10, 20)]
    for (let t = start + 60_000; t <= nyTimeMs(DATE, 11); t += 60_000) {
      yield* TestClock.adjust("60 seconds")
      if (t === nyTimeMs(DATE, 9, 31)) yield* subscribed(3)
      if (t <= silentFrom || t > silentTo) server.emitUntil(t)
      else server.nowMs = t
      if (t === nyTimeMs(DATE, 10, 30)) {
        // Two bars of the previous trading day: late, set aside (data/late), counted on /metrics.
        const previous = buildTickerDay("SPY", market.secondBars("SPY", "2025-10-27"))
        const stocks = server.open().find((x) => x.authed && x.url.includes("/stocks"))!
        stocks.deliver(
          JSON.stringify([
            previous.second(nyTimeMs("2025-10-27", 10)),
            previous.second(nyTimeMs("2025-10-27", 10) + 1000)
          ])
        )
      }
      yield* realTick
    }
    yield* Fiber.interrupt(fiber)
    return { server, settings, metrics: (yield* prom.exposition).text }
  })

describe.runIf(chromiumPath !== undefined)("the report of a live day", () => {
  it("shows the persisted commit latency per period, reconnects and alerts, exactly", async () => {
    const root = await tempRoot("report-live-")
    roots.push(root)
    const { server, settings, metrics } = await Effect.runPromise(
      Effect.scoped(liveSession(root)).pipe(Effect.provide(TestContext.TestContext))
    )
    const result = await Effect.runPromise(
      reportProgram({ date: DATE }).pipe(
        Effect.provide(Layer.succeed(AppSettings, settings)),
        Effect.provide(NodeContext.layer)
      )
    )

    const history = parseHistory(await fs.readFile(path.join(root, "state/history", `${DATE}.ndjson`), "utf8"))
    const alerts = parseAlertLines(await fs.readFile(path.join(root, "state/alerts.ndjson"), "utf8"))
    const feeds = ["spy", "vix", "options"] as const
    const sumOf = (source: string) => history.filter((h) => h.source === source).reduce((n, h) => n + h.reconnects, 0)
    // The persisted reconnects are the sockets opened again (every socket after each shard's first), and the heartbeat's count.
    const cluster = { spy: "stocks", vix: "indices", options: "options" } as const
    for (const feed of feeds) {
      const sockets = server.sockets.filter((s) => s.url.includes(`/${cluster[feed]}`))
      const shards = new Set(sockets.map((s) => s.url)).size
      expect({ feed, reconnects: sumOf(feed) }).toEqual({ feed, reconnects: sockets.length - shards })
      const beat = JSON.parse(await fs.readFile(path.join(root, "state/heartbeat", `${feed}.json`), "utf8")) as {
        reconnects_today: number
      }
      expect(beat.reconnects_today).toBe(sumOf(feed))
    }
    const lateDir = path.join(root, "late/spy/date=2025-10-27")
    const lateLines = (
      await Promise.all((await fs.readdir(lateDir)).map((f) => fs.readFile(path.join(lateDir, f), "utf8")))
    )
      .join("")
      .split("\n")
      .filter((l) => l !== "")
    expect(lateLines.length).toBe(2)
    expect(/^spy_rows_late_total\{source="spy"\} (\S+)$/m.exec(metrics)?.[1]).toBe("2")
    // The silence outlasted max_consecutive_connection_failures (3) reconnects: raised, then resolved once data flowed.
    const failures = alerts.filter((a) => a.kind === "connection_failures" && a.source === "spy")
    expect(failures.map((a) => a.open)).toEqual([true, false])

    const browser = await launch(chromiumPath!)
    try {
      const { page, blocked } = await offlinePage(browser)
      await page.goto(pathToFileURL(result.html).toString())
      await page.waitForSelector(`#chart-latency[data-rendered="true"] svg`, { timeout: 30_000 })
      const cellsOf = (h: HistoryLine) => [
        etMinute(h.at),
        h.source,
        String(h.commits),
        ...[h.latency_p50_ms, h.latency_p95_ms, h.latency_p99_ms, h.latency_max_ms].map((x) =>
          x === null ? "-" : String(x)
        ),
        String(h.reconnects)
      ]
      const table = await page
        .locator("#latency tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) =>
            Array.from(
              (r as unknown as { children: ArrayLike<{ textContent: string | null }> }).children,
              (c) => c.textContent ?? ""
            )
          )
        )
      expect(table).toEqual(history.map(cellsOf))
      const labels = await page
        .locator(`#chart-latency [aria-label$=" ms"]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""))
      const expected = history.flatMap((h) =>
        (
          [
            ["p50", h.latency_p50_ms],
            ["p95", h.latency_p95_ms],
            ["p99", h.latency_p99_ms]
          ] as const
        ).flatMap(([p, ms]) => (ms === null ? [] : [`${h.source} ${p} until ${etMinute(h.at)} ET: ${ms} ms`]))
      )
      expect(labels.sort()).toEqual(expected.sort())
      for (const feed of feeds) {
        expect(
          await page.locator(`#reconnects tr[data-source="${feed}"] td[data-field="reconnects_total"]`).textContent()
        ).toBe(String(sumOf(feed)))
      }
      const counted = new Map<string, [number, number, number]>()
      for (const a of alerts.filter((x) => x.at.startsWith(DATE))) {
        const key = `${a.kind}|${a.source ?? ""}`
        const c = counted.get(key) ?? [0, 0, 0]
        c[a.event === true ? 2 : a.open ? 0 : 1]++
        counted.set(key, c)
      }
      const shown = await page.locator("#alert-counts tbody tr").evaluateAll((rows) =>
        rows.map((r) => {
          const cells = Array.from(
            (r as unknown as { children: ArrayLike<{ textContent: string | null }> }).children,
            (c) => c.textContent ?? ""
          )
          return [`${cells[0]}|${cells[1]}`, [Number(cells[2]), Number(cells[3]), Number(cells[4])]] as const
        })
      )
      expect(new Map(shown)).toEqual(counted)
      expect(blocked).toEqual([])
      const png = result.pngs.find((p) => p.endsWith("-latency.png"))!
      expect(await pngColours(page, await fs.readFile(png))).toBeGreaterThan(3)
    } finally {
      await browser.close()
    }
  }, 180_000)

  afterAll(async () => {
    for (const r of roots) await fs.rm(r, { recursive: true, force: true })
  })
})
