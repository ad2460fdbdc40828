/**
 * The LiveSinkLoader of `live` (src/live/LiveSinkLoader.ts), from Settings: every
 * `sinks.live_load_interval_s` (0 = off) the day's new durable lake files go into each sink of
 * `sinks.enabled`. Each round opens a sink through src/layers/Sinks.ts with only that sink enabled
 * and closes it afterwards; the sinks' own alerts (commit latency over the SLA) go where live's go.
 */
import { Context, Effect, Layer } from "effect"
import type { SinkName } from "../config/Settings.js"
import { FEEDS } from "../sql/tables.js"
import { LiveSinkLoader, make } from "../live/LiveSinkLoader.js"
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

export const layer: Layer.Layer<LiveSinkLoader, never, AppSettings> = Layer.effect(
  LiveSinkLoader,
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const only = (sink: SinkName) => Layer.succeed(AppSettings, { ...settings, sinks: { ...settings.sinks, enabled: [sink] } })
    return make({
      root: settings.storage.root,
      intervalMs: settings.sinks.liveLoadIntervalS * 1000,
      sinks: settings.sinks.enabled,
      feeds: FEEDS,
      acquire: (sink) =>
        Effect.map(Layer.build(Sinks.layer.pipe(Layer.provide(Layer.merge(only(sink), sinkAlerts)))), (ctx) => Context.get(ctx, SinkRouter))
    })
  })
)
