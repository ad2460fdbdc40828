/**
 * Prometheus metrics of the live process (prom-client, one registry per process, never the global
 * one): messages and events received, rows committed, bad rows, late rows set aside, reconnects and
 * connection failures per source, a commit-latency histogram per source, each feed's queue depth
 * (journal bytes not yet committed, rows in the batch being filled: read at scrape time), the sinks'
 * live loads, and the process's own metrics (RSS, CPU, event-loop lag, heap) from
 * `collectDefaultMetrics`. Served as text on `/metrics`.
 */
import { Context, Effect, Layer } from "effect"
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"

/** What a feed's writer holds that is not in the lake yet. */
export interface QueueDepth {
  /** Journal bytes received and not yet committed (the journal is the queue). */
  readonly bytes: number
  /** Rows decoded into the batch being filled. */
  readonly rows: number
}

export interface PromMetricsService {
  readonly received: (source: string, messages: number, events: number) => Effect.Effect<void>
  readonly committed: (source: string, rows: number, latencyMs: number) => Effect.Effect<void>
  readonly badRows: (source: string, n: number) => Effect.Effect<void>
  readonly lateRows: (source: string, n: number) => Effect.Effect<void>
  readonly reconnect: (source: string) => Effect.Effect<void>
  readonly connectionFailure: (source: string) => Effect.Effect<void>
  readonly queue: (source: string, depth: () => QueueDepth) => Effect.Effect<void>
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
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers: [registry] })
  const messages = counter(
    "spy_messages_received_total",
    "WebSocket frames received (the heartbeat's total_messages_today)"
  )
  const events = counter("spy_events_received_total", "Data events received on the sockets (and news articles polled)")
  const rows = counter("spy_rows_committed_total", "Rows made durable in the lake")
  const bad = counter("spy_rows_bad_total", "Rows quarantined or failed, and failed polls")
  const late = counter("spy_rows_late_total", "Late rows set aside in data/late (their trading day is over)")
  const reconnects = counter("spy_reconnects_total", "Reconnections started (every shard's)")
  const failures = counter(
    "spy_connection_failures_total",
    "Connection attempts that failed (each leads to a reconnect)"
  )
  const latency = new Histogram({
    name: "spy_commit_latency_seconds",
    help: "Receipt-to-durable latency of each commit",
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry]
  })
  const probes = new Map<string, () => QueueDepth>()
  const gauge = (name: string, help: string, read: (d: QueueDepth) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const [source, probe] of probes) this.set({ source }, read(probe()))
      }
    })
  gauge("spy_queue_bytes", "Journal bytes received and not yet committed to the lake", (d) => d.bytes)
  gauge("spy_queue_rows", "Rows decoded into the batch being filled (not yet cut for a commit)", (d) => d.rows)
  const inc = (c: Counter<"source">) => (source: string, n: number) => Effect.sync(() => c.inc({ source }, n))
  return {
    received: (source, m, e) =>
      Effect.sync(() => {
        messages.inc({ source }, m)
        events.inc({ source }, e)
      }),
    committed: (source, n, latencyMs) =>
      Effect.sync(() => {
        rows.inc({ source }, n)
        latency.observe({ source }, latencyMs / 1000)
      }),
    badRows: inc(bad),
    lateRows: inc(late),
    reconnect: (source) => Effect.sync(() => reconnects.inc({ source })),
    connectionFailure: (source) => Effect.sync(() => failures.inc({ source })),
    queue: (source, depth) => Effect.sync(() => void probes.set(source, depth)),
    exposition: Effect.promise(async () => ({ text: await registry.metrics(), contentType: registry.contentType }))
  }
}

export const layer: Layer.Layer<PromMetrics> = Layer.sync(PromMetrics, make)
