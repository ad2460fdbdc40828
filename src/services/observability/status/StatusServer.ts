/**
 * The live process's HTTP endpoints (`http.port`, 127.0.0.1 unless `http.host` says otherwise):
 * `/` the status page, `/status.json` the same as JSON, `/metrics` Prometheus text, `/healthz`
 * 200 while healthy, 503 with the reasons otherwise. Scoped: the server closes with the session.
 */
import { Effect, Runtime } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { nyDateOf } from "../../../domain/calendar.js"
import { lakePaths } from "../../../domain/paths.js"
import { Alerts } from "../Alerts.js"
import { AppSettings } from "../../AppSettings.js"
import { HeartbeatMonitor } from "../HeartbeatMonitor.js"
import { Metrics } from "../Metrics.js"
import { PromMetrics } from "../PromMetrics.js"
import { parseOptionTicker } from "../../../domain/tickers.js"
import { LastBars, type LastBarsService } from "./LastBars.js"
import { liveHealth } from "./health.js"
import { type ContractLine, statusPage } from "./page.js"

interface Reply {
  readonly status: number
  readonly type: string
  readonly body: string
}

const readTickers = (file: string) =>
  Effect.promise(() =>
    fs.readFile(file, "utf8").then(
      (t) =>
        ((JSON.parse(t) as { contracts?: ReadonlyArray<{ ticker: string }> }).contracts ?? []).map((c) => c.ticker),
      () => [] as ReadonlyArray<string>
    )
  )

/** The contract set, calls then puts, strikes ascending, each with its last bar. */
const contractLines = (file: string, lastBars: LastBarsService) =>
  Effect.flatMap(readTickers(file), (tickers) =>
    Effect.forEach(tickers, (ticker) =>
      Effect.map(lastBars.get(ticker), (last): ContractLine & { right: string } => {
        const o = parseOptionTicker(ticker)
        return { ticker, strike: o?.strike ?? null, right: o?.right ?? "", last }
      })
    ).pipe(
      Effect.map((lines) =>
        [...lines].sort(
          (a, b) =>
            a.right.localeCompare(b.right) || (a.strike ?? 0) - (b.strike ?? 0) || a.ticker.localeCompare(b.ticker)
        )
      )
    )
  )

/**
 * Serves the endpoints; the page shows the contract set of the platform clock's New York date, each
 * contract with the newest bar this process committed.
 * Returns the bound port. A port that cannot be bound (in use) fails: the caller logs it and streams on.
 */
export const serveStatus = Effect.gen(function* () {
  const settings = yield* AppSettings
  const metrics = yield* Metrics
  const alerts = yield* Alerts
  const heartbeats = yield* HeartbeatMonitor
  const prom = yield* PromMetrics
  const lastBars = yield* LastBars
  const runtime = yield* Effect.runtime<never>()
  const health = Effect.flatMap(heartbeats.registered, (sources) =>
    liveHealth(metrics, sources, alerts.openAlerts, settings.live.idleTimeoutS)
  )

  const route = (url: string): Effect.Effect<Reply> => {
    const path = new URL(url, "http://localhost").pathname
    switch (path) {
      case "/metrics":
        return Effect.map(prom.exposition, (m) => ({ status: 200, type: m.contentType, body: m.text }))
      case "/healthz":
        return Effect.map(health, (h) =>
          h.problems.length === 0
            ? { status: 200, type: "text/plain", body: "ok\n" }
            : { status: 503, type: "text/plain", body: `${h.problems.join("\n")}\n` }
        )
      case "/status.json":
        return Effect.map(health, (h) => ({ status: 200, type: "application/json", body: JSON.stringify(h) }))
      case "/":
        return Effect.flatMap(health, (h) => {
          const date = nyDateOf(h.nowMs)
          return Effect.map(contractLines(lakePaths(settings.storage.root).contractsJson(date), lastBars), (c) => ({
            status: 200,
            type: "text/html; charset=utf-8",
            body: statusPage(h, c, date)
          }))
        })
      default:
        return Effect.succeed({ status: 404, type: "text/plain", body: "not found\n" })
    }
  }

  const server = http.createServer((req, res) => {
    Runtime.runPromise(runtime)(route(req.url ?? "/")).then(
      (r) => res.writeHead(r.status, { "content-type": r.type, "cache-control": "no-store" }).end(r.body),
      () => res.writeHead(500).end()
    )
  })
  yield* Effect.acquireRelease(
    Effect.async<void, Error>((resume) => {
      server.once("error", (e) => resume(Effect.fail(e)))
      server.listen(settings.http.port, settings.http.host, () => resume(Effect.void))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )
  const port = (server.address() as AddressInfo).port
  yield* Effect.logInfo(`Status page on http://${settings.http.host}:${port}/ (/metrics, /healthz, /status.json)`)
  return port
})
