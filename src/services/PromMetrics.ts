/**
 * Prometheus metrics of the live process (prom-client, one registry per process, never the global
 * one): events received, rows committed, bad rows, reconnects and connection failures per source, a
 * commit-latency histogram per source, the sinks' live loads, and the process's own metrics (RSS,
 * CPU, event-loop lag, heap) from `collectDefaultMetrics`. Served as text on `/metrics`.
 */
import { Context, Effect, Layer } from "effect"
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client"

export interface PromMetricsService {
  readonly events: (source: string, n: number) => Effect.Effect<void>
  readonly committed: (source: string, rows: number, latencyMs: number) => Effect.Effect<void>
  readonly badRows: (source: string, n: number) => Effect.Effect<void>
  readonly connectionFailure: (source: string) => Effect.Effect<void>
  /** The Prometheus text exposition and its content type. */
  readonly exposition: Effect.Effect<{ readonly text: string; readonly contentType: string }>
}

export class PromMetrics extends Context.Tag("spy/PromMetrics")<PromMetrics, PromMetricsService>() {}

/** Commit latency buckets, seconds: from 50 ms to the 5-minute SLA and beyond. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

export const make = (): PromMetricsService => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: "spy_" })
  const labelNames = ["source"] as const
  const events = new Counter({ name: "spy_events_received_total", help: "Data events received on the sockets (and news articles polled)", labelNames, registers: [registry] })
  const rows = new Counter({ name: "spy_rows_committed_total", help: "Rows made durable in the lake", labelNames, registers: [registry] })
  const bad = new Counter({ name: "spy_rows_bad_total", help: "Rows quarantined or failed, and failed polls", labelNames, registers: [registry] })
  const failures = new Counter({ name: "spy_connection_failures_total", help: "Connection attempts that failed (each leads to a reconnect)", labelNames, registers: [registry] })
  const latency = new Histogram({ name: "spy_commit_latency_seconds", help: "Receipt-to-durable latency of each commit", labelNames, buckets: LATENCY_BUCKETS, registers: [registry] })
  return {
    events: (source, n) => Effect.sync(() => events.inc({ source }, n)),
    committed: (source, n, latencyMs) =>
      Effect.sync(() => {
        rows.inc({ source }, n)
        latency.observe({ source }, latencyMs / 1000)
      }),
    badRows: (source, n) => Effect.sync(() => bad.inc({ source }, n)),
    connectionFailure: (source) => Effect.sync(() => failures.inc({ source })),
    exposition: Effect.promise(async () => ({ text: await registry.metrics(), contentType: registry.contentType }))
  }
}

export const layer: Layer.Layer<PromMetrics> = Layer.sync(PromMetrics, make)
