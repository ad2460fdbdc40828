import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Settings, SettingsConfig } from "../../../src/config/Settings.js"
import * as Alerts from "../../../src/services/observability/Alerts.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as HeartbeatMonitor from "../../../src/services/observability/HeartbeatMonitor.js"
import * as Metrics from "../../../src/services/observability/Metrics.js"
import * as PromMetrics from "../../../src/services/observability/PromMetrics.js"
import * as LastBars from "../../../src/services/observability/status/LastBars.js"

export const tempRoot = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "obs-"))

export const settingsFor = (root: string, extra: Record<string, unknown> = {}): Settings =>
  Effect.runSync(Effect.withConfigProvider(SettingsConfig, ConfigProvider.fromJson({ storage: { root }, ...extra })))

/** Metrics + Alerts + a HeartbeatMonitor with a fixed memory figure, from settings. */
export const observabilityLayer = (settings: Settings, options: Partial<HeartbeatMonitor.HeartbeatOptions> = {}) => {
  const base = Layer.mergeAll(Metrics.layer, Alerts.layer, PromMetrics.layer, LastBars.layer).pipe(
    Layer.provideMerge(Layer.merge(AppSettings.layerValue(settings), FetchHttpClient.layer))
  )
  const monitor = Layer.scoped(
    HeartbeatMonitor.HeartbeatMonitor,
    HeartbeatMonitor.make({
      heartbeatFile: (source) => path.join(settings.storage.root, "state", "heartbeat", `${source}.json`),
      intervalS: settings.heartbeat.intervalS,
      staleAfterS: settings.heartbeat.staleAfterS,
      commitSlaS: settings.alerts.commitSlaS,
      errorRatePct: settings.alerts.errorRatePct,
      maxConsecutiveConnectionFailures: settings.alerts.maxConsecutiveConnectionFailures,
      memoryUsageMb: () => 123.44,
      ...options
    })
  )
  return monitor.pipe(Layer.provideMerge(base))
}

export const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, "utf8"))

export const alertLines = (root: string): ReadonlyArray<Record<string, unknown>> => {
  const file = path.join(root, "state", "alerts.ndjson")
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** 2025-10-28 10:00 New York (a Tuesday, market open). */
export const T0 = Date.parse("2025-10-28T14:00:00.000Z")
