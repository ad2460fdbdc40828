/**
 * What the live status page and `/healthz` show, from the live process's own Metrics (current to
 * the event, unlike the heartbeat files written every `heartbeat.interval_s`) and open alerts.
 * A source is unhealthy while it is not connected (connecting, reconnecting, disconnected, a failing
 * poll) or silent for longer than twice `live.idle_timeout_s`; any open alert is a problem too.
 */
import { Clock, Effect } from "effect"
import type { AlertRecord } from "../alertLog.js"
import type { MetricsService, SourceSnapshot } from "../Metrics.js"

const HEALTHY: ReadonlySet<string> = new Set(["connected", "polling", "closed"])

export interface LiveHealth {
  readonly nowMs: number
  readonly sources: ReadonlyArray<SourceSnapshot>
  readonly openAlerts: ReadonlyArray<AlertRecord>
  readonly problems: ReadonlyArray<string>
}

export const healthProblems = (
  nowMs: number,
  sources: ReadonlyArray<SourceSnapshot>,
  openAlerts: ReadonlyArray<AlertRecord>,
  idleTimeoutS: number
): ReadonlyArray<string> => [
  ...sources.flatMap((s) => [
    ...(HEALTHY.has(s.connectionStatus) ? [] : [`${s.source}: ${s.connectionStatus}`]),
    ...(s.connectionStatus === "connected" &&
    s.lastMessageAtMs !== null &&
    nowMs - s.lastMessageAtMs > 2 * idleTimeoutS * 1000
      ? [`${s.source}: no message for ${Math.round((nowMs - s.lastMessageAtMs) / 1000)} s`]
      : [])
  ]),
  ...openAlerts.map((a) => `alert ${a.kind}${a.source ? ` (${a.source})` : ""}: ${a.message}`)
]

export const liveHealth = (
  metrics: MetricsService,
  sources: ReadonlyArray<string>,
  openAlerts: Effect.Effect<ReadonlyArray<AlertRecord>>,
  idleTimeoutS: number
) =>
  Effect.gen(function* () {
    const nowMs = yield* Clock.currentTimeMillis
    const snaps = yield* Effect.forEach(sources, (s) => metrics.snapshot(s))
    const alerts = yield* openAlerts
    return {
      nowMs,
      sources: snaps,
      openAlerts: alerts,
      problems: healthProblems(nowMs, snaps, alerts, idleTimeoutS)
    } satisfies LiveHealth
  })
