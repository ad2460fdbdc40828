/**
 * Metrics + Alerts + HeartbeatMonitor (+ the Prometheus registry of `/metrics` and the last bars of `/`), built from AppSettings. The host provides AppSettings and
 * an HttpClient (for the optional alert webhook), e.g. `NodeHttpClient.layerUndici` or
 * `FetchHttpClient.layer`.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Layer from "effect/Layer"
import * as Alerts from "../services/observability/Alerts.js"
import type { AppSettings } from "../services/AppSettings.js"
import * as HeartbeatMonitor from "../services/observability/HeartbeatMonitor.js"
import * as Metrics from "../services/observability/Metrics.js"
import * as PromMetrics from "../services/observability/PromMetrics.js"
import * as LastBars from "../services/observability/status/LastBars.js"

export const ObservabilityLive: Layer.Layer<
  Metrics.Metrics | Alerts.Alerts | HeartbeatMonitor.HeartbeatMonitor | PromMetrics.PromMetrics | LastBars.LastBars,
  never,
  AppSettings | HttpClient.HttpClient
> = HeartbeatMonitor.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(Metrics.layer, Alerts.layer, PromMetrics.layer, LastBars.layer))
)
