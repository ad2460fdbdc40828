/**
 * Everything `live` needs, built from Settings (programs/liveRun.ts runs it).
 * With `--clock-start/--clock-speed` (or `clock.start`/`clock.speed`) the whole run, layers
 * included, uses a simulated Effect Clock; with `polygon.rest_url`/`ws_url` = `builtin` the
 * simulator is started in-process on the same simulated time (makeSimClock). A simulated clock is
 * anchored in data/state/clock-anchor.json: a restart with the same start and speed resumes it.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { apiKeyOf, simulatorDelayS } from "../config/Settings.js"
import { LiveTelemetry, type LiveTelemetryService } from "../live/telemetry.js"
import { Alerts } from "../services/observability/Alerts.js"
import { AppSettings } from "../services/AppSettings.js"
import * as ContractRegistry from "../live/contracts/ContractRegistry.js"
import * as FeedSocket from "../live/socket/FeedSocket.js"
import * as RemoteFeedSocket from "../live/socket/RemoteFeedSocket.js"
import { FeedEndpoint, layerWs } from "../live/socket/FeedSocket.js"
import { HeartbeatMonitor } from "../services/observability/HeartbeatMonitor.js"
import * as MarketClock from "../services/MarketClock.js"
import { Metrics } from "../services/observability/Metrics.js"
import { PolygonRest } from "../services/polygon/PolygonRest.js"
import { PromMetrics } from "../services/observability/PromMetrics.js"
import { LastBars } from "../services/observability/status/LastBars.js"
import { serveStatus } from "../services/observability/status/StatusServer.js"
import * as PolygonRestLive from "../services/polygon/PolygonRestLive.js"
import { makeSimClock } from "../simulator/SimClock.js"
import { simulatorResource } from "../simulator/server.js"
import { LakeLayer } from "./Backfill.js"
import { ClientLayer } from "./Cluster.js"
import * as LiveSinks from "./LiveSinks.js"
import { ObservabilityLive } from "./Observability.js"
import { BUILTIN, BUILTIN_KEY, MissingApiKey, restConnectionAlerts } from "./Polygon.js"

/** LiveTelemetry forwarded to Metrics (heartbeats read them), the Prometheus registry, Alerts and the last bars of the status page. */
export const TelemetryFromObservability: Layer.Layer<
  LiveTelemetry,
  never,
  Metrics | Alerts | HeartbeatMonitor | PromMetrics | LastBars
> = Layer.effect(
  LiveTelemetry,
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const prom = yield* PromMetrics
    const lastBars = yield* LastBars
    const alerts = yield* Alerts
    const heartbeats = yield* HeartbeatMonitor
    return {
      register: (source) => heartbeats.register(source),
      received: (source, frames, events) =>
        Effect.all(
          [
            metrics.recordMessages(source, frames),
            metrics.recordEvents(source, events),
            prom.received(source, frames, events)
          ],
          { discard: true }
        ),
      commit: (source, rows, at, receipts) => {
        const latencyMs = receipts.length === 0 ? 0 : at - Math.min(...receipts.slice(0, 100_000))
        return Effect.all(
          [
            metrics.recordCommit(source, latencyMs, rows),
            metrics.recordSuccess(source, rows),
            prom.committed(source, rows, latencyMs)
          ],
          { discard: true }
        )
      },
      late: (source, rows) => prom.lateRows(source, rows),
      lastBars: (_source, bars) => lastBars.record(bars),
      queue: (source, depth) => prom.queue(source, depth),
      connection: (source, state) =>
        Effect.zipRight(
          metrics.setConnection(source, state),
          state === "reconnecting" ? prom.reconnect(source) : Effect.void
        ),
      connectionFailure: (source) =>
        Effect.zipRight(metrics.recordConnectionFailure(source), prom.connectionFailure(source)),
      connectionOk: (source) => metrics.resetConnectionFailures(source),
      error: (source, n = 1) => Effect.zipRight(metrics.recordError(source, n), prom.badRows(source, n)),
      outsideSession: (source, n) => metrics.recordOutsideSession(source, n),
      alert: (kind, message, details) => Effect.asVoid(alerts.raise(kind, message, details)),
      resolveAlert: (kind, source) => Effect.asVoid(alerts.resolve(kind, source))
    } satisfies LiveTelemetryService
  })
)

/** REST and WebSocket endpoints: the real API (key from the environment) or the in-process simulator. */
export const endpoints = (clockStartMs: number | undefined, speed: number) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const { restUrl, wsUrl } = settings.polygon
    let sim: { url: string; wsUrl: string } | undefined
    if (restUrl === BUILTIN || wsUrl === BUILTIN) {
      sim = yield* simulatorResource({
        port: 0,
        seed: settings.simulator.seed,
        apiKey: BUILTIN_KEY,
        clock: makeSimClock({ startMs: clockStartMs, speed }),
        rateLimit: { limit: settings.simulator.rateLimit },
        extendedHours: settings.simulator.extendedHours,
        delayS: simulatorDelayS(settings)
      })
      yield* Effect.logInfo(`Started the built-in Polygon simulator at ${sim.url} (seed ${settings.simulator.seed})`)
    }
    const key = apiKeyOf(settings)
    const needKey = restUrl !== BUILTIN || wsUrl !== BUILTIN
    if (needKey && Option.isNone(key)) {
      return yield* new MissingApiKey({
        message: "no API key is set: export POLYGON_API_KEY (or MASSIVE_API_KEY) or put it in .env"
      })
    }
    const realKey = Option.map(key, (k) => k.key)
    return {
      rest:
        restUrl === BUILTIN
          ? { baseUrl: sim!.url, apiKey: Redacted.make(BUILTIN_KEY) }
          : { baseUrl: restUrl, apiKey: Option.getOrThrow(realKey) },
      ws:
        wsUrl === BUILTIN
          ? { baseUrl: sim!.wsUrl, apiKey: BUILTIN_KEY }
          : { baseUrl: wsUrl, apiKey: Redacted.value(Option.getOrThrow(realKey)) }
    }
  })

/**
 * The layers liveProgram needs, given resolved endpoints. Requires AppSettings and an HttpClient.
 * With `remote` (`live --cluster`) the sockets are the cluster runners' (RemoteFeedSocket).
 */
export const liveLayer = (
  ep: Effect.Effect.Success<ReturnType<typeof endpoints>>,
  clockSpeed?: number,
  remote?: RemoteFeedSocket.RemoteOptions
) => {
  const rest = Layer.scoped(
    PolygonRest,
    Effect.gen(function* () {
      const s = yield* AppSettings
      return yield* PolygonRestLive.make({
        ...ep.rest,
        retry: s.retry,
        maxConcurrency: s.polygon.maxConcurrency,
        pageLimit: s.polygon.pageLimit,
        requestsPerMinute: s.polygon.requestsPerMinute,
        connectionFailures: restConnectionAlerts(yield* Alerts, s.alerts.maxConsecutiveConnectionFailures)
      })
    })
  ).pipe(Layer.provide(ObservabilityLive))
  const base = Layer.mergeAll(
    LakeLayer.pipe(Layer.provide(ObservabilityLive)),
    rest,
    ObservabilityLive,
    layerWs,
    Layer.succeed(FeedEndpoint, ep.ws)
  )
  const clockAndContracts = ContractRegistry.layer.pipe(Layer.provideMerge(MarketClock.layer))
  const services = Layer.mergeAll(clockAndContracts, TelemetryFromObservability, LiveSinks.layerFromSettings).pipe(
    Layer.provideMerge(base)
  )
  const sockets =
    remote === undefined
      ? FeedSocket.layer(clockSpeed)
      : RemoteFeedSocket.layer(remote).pipe(Layer.provide(ClientLayer))
  return sockets.pipe(Layer.provideMerge(services))
}

/** The status page, /metrics and /healthz for the life of the run (`http.port` 0 = off); a port in use is a warning, never a stop. */
export const statusEndpoints = Effect.gen(function* () {
  const settings = yield* AppSettings
  if (settings.http.port <= 0) return
  yield* serveStatus.pipe(
    Effect.catchAll((e) =>
      Effect.logWarning(`status page not served on ${settings.http.host}:${settings.http.port}: ${e.message}`)
    )
  )
})
