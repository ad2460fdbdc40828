/**
 * The LiveSinkLoader of `live` (src/live/sinks/LiveSinkLoader.ts), from Settings: every
 * `sinks.live_load_interval_s` (0 = off) the day's new durable lake files go into each sink of
 * `sinks.enabled`. Each round opens a sink through src/layers/Sinks.ts with only that sink enabled
 * and closes it afterwards (`layer`: on this thread; `layerWorker`: in a worker thread per sink and
 * round, what `live` uses); the sinks' own alerts (commit latency over the SLA) go where live's go.
 */
import { Context, Effect, Layer } from "effect"
import type { Settings, SinkName } from "../config/Settings.js"
import { FEEDS } from "../sql/tables.js"
import { LiveSinkLoader, type LiveSinkLoaderConfig, make } from "../live/sinks/LiveSinkLoader.js"
import * as SinkWorker from "../live/sinks/SinkWorkerClient.js"
import { LiveTelemetry } from "../live/telemetry.js"
import { AppSettings } from "../services/AppSettings.js"
import { SinkAlerts } from "../services/sinks/Sink.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import * as Sinks from "./Sinks.js"

/** SinkMetrics' alerts through LiveTelemetry (the platform's Alerts in `live`). */
const sinkAlerts: Layer.Layer<SinkAlerts, never, LiveTelemetry> = Layer.effect(
  SinkAlerts,
  Effect.map(LiveTelemetry, (t) => ({ raise: (kind, message, details) => t.alert(kind, message, details) }))
)

const build = (
  acquire: (settings: Settings) => LiveSinkLoaderConfig["acquire"]
): Layer.Layer<LiveSinkLoader, never, AppSettings> =>
  Layer.effect(
    LiveSinkLoader,
    Effect.map(AppSettings, (settings) =>
      make({
        root: settings.storage.root,
        intervalMs: settings.sinks.liveLoadIntervalS * 1000,
        sinks: settings.sinks.enabled,
        feeds: FEEDS,
        acquire: acquire(settings)
      })
    )
  )

/** In process (the TestClock tests): each round builds src/layers/Sinks.ts with only that sink on this thread. */
export const layer: Layer.Layer<LiveSinkLoader, never, AppSettings> = build((settings) => {
  const only = (sink: SinkName) =>
    Layer.succeed(AppSettings, { ...settings, sinks: { ...settings.sinks, enabled: [sink] } })
  return (sink) =>
    Effect.map(Layer.build(Sinks.layer.pipe(Layer.provide(Layer.merge(only(sink), sinkAlerts)))), (ctx) =>
      Context.get(ctx, SinkRouter)
    )
})

/**
 * What `live` runs: each round loads each sink in its own worker thread (src/programs/sinkWorker.ts,
 * the built dist/programs/sinkWorker.js), so a round never delays the sockets' frames. The worker uses
 * the real clock (a sink's transaction timeouts and retries are real-time budgets).
 */
export const layerWorker = (
  options: { readonly script?: URL | string; readonly stopGraceMs?: number } = {}
): Layer.Layer<LiveSinkLoader, never, AppSettings> =>
  build((settings) => (sink) => SinkWorker.acquire({ settings, sink, ...options }))

/** `live`'s: `layerWorker` unless `sinks.live_load_worker` is false. */
export const layerFromSettings: Layer.Layer<LiveSinkLoader, never, AppSettings> = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) => (s.sinks.liveLoadWorker ? layerWorker() : layer))
)
