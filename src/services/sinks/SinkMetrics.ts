/**
 * Per-sink commit metrics: a sliding window of the last `window` commit latencies (ring buffer,
 * sorted on read) for p50/p95/p99, plus counters. A commit slower than the SLA raises an alert.
 */
import { Effect } from "effect"
import type { SinkAlertsService } from "./Sink.js"

export interface MetricsSnapshot {
  readonly commits: number
  readonly rows: number
  readonly failures: number
  readonly p50Ms: number | null
  readonly p95Ms: number | null
  readonly p99Ms: number | null
  readonly maxMs: number | null
}

export interface SinkMetrics {
  /** Record one committed transaction of `rows` rows that took `ms`. */
  readonly commit: (rows: number, ms: number, context: Record<string, unknown>) => Effect.Effect<void>
  readonly failure: Effect.Effect<void>
  readonly snapshot: Effect.Effect<MetricsSnapshot>
}

export const percentile = (sorted: ReadonlyArray<number>, p: number): number | null =>
  sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

export const make = (sink: string, slaMs: number, alerts: SinkAlertsService, window = 1024): SinkMetrics => {
  const latencies: Array<number> = []
  let next = 0
  let commits = 0
  let rows = 0
  let failures = 0
  return {
    commit: (n, ms, context) =>
      Effect.suspend(() => {
        if (latencies.length < window) latencies.push(ms)
        else latencies[next] = ms
        next = (next + 1) % window
        commits++
        rows += n
        return ms > slaMs
          ? alerts.raise("sink_commit_sla", `${sink} commit took ${Math.round(ms)} ms (SLA ${slaMs} ms)`, {
              sink,
              ms,
              rows: n,
              ...context
            })
          : Effect.void
      }),
    failure: Effect.sync(() => {
      failures++
    }),
    snapshot: Effect.sync(() => {
      const sorted = [...latencies].sort((a, b) => a - b)
      return {
        commits,
        rows,
        failures,
        p50Ms: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.length === 0 ? null : sorted[sorted.length - 1]!
      }
    })
  }
}
