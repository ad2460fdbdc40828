/**
 * The live pipeline's port to observability: counters, connection state, commits, alerts.
 * FeedSocket/LiveWriter depend only on this; src/layers/Live.ts forwards it to Metrics/Alerts,
 * tests and the benchmark use `recorder()`.
 */
import { Context, Effect, Layer } from "effect"
import type { ConnectionStatus } from "../services/observability/Metrics.js"
import type { LastBar } from "./writer/lastBars.js"
import type { QueueDepth } from "../services/observability/PromMetrics.js"

export type { QueueDepth } from "../services/observability/PromMetrics.js"

export interface LiveTelemetryService {
  /** A source starts streaming (heartbeats begin). */
  readonly register: (source: string) => Effect.Effect<void>
  /** Frames received by a source's socket(s) and the data events they held. */
  readonly received: (source: string, frames: number, events: number) => Effect.Effect<void>
  /** A durable commit: rows written, and the receipt times (ms) of the frames it covers. */
  readonly commit: (
    source: string,
    rows: number,
    committedAtMs: number,
    receiptMs: ReadonlyArray<number>
  ) => Effect.Effect<void>
  /** Late rows set aside (data/late) by a commit. */
  readonly late: (source: string, rows: number) => Effect.Effect<void>
  /** The newest committed bar of each ticker of a commit. */
  readonly lastBars: (source: string, bars: ReadonlyArray<LastBar>) => Effect.Effect<void>
  /** A probe of the feed's queue depth, read whenever it is asked for (e.g. on /metrics). */
  readonly queue: (source: string, depth: () => QueueDepth) => Effect.Effect<void>
  readonly connection: (source: string, state: ConnectionStatus) => Effect.Effect<void>
  readonly connectionFailure: (source: string) => Effect.Effect<void>
  readonly connectionOk: (source: string) => Effect.Effect<void>
  readonly error: (source: string, n?: number) => Effect.Effect<void>
  /** `n` bars outside the regular session, counted and not stored (`session.hours: regular`). */
  readonly outsideSession: (source: string, n: number) => Effect.Effect<void>
  readonly alert: (kind: string, message: string, details: Record<string, unknown>) => Effect.Effect<void>
  /** The condition of an open alert (kind, source) cleared. */
  readonly resolveAlert: (kind: string, source: string) => Effect.Effect<void>
}

export class LiveTelemetry extends Context.Tag("spy/live/LiveTelemetry")<LiveTelemetry, LiveTelemetryService>() {}

export const logOnly: LiveTelemetryService = {
  register: () => Effect.void,
  received: () => Effect.void,
  commit: () => Effect.void,
  late: () => Effect.void,
  lastBars: () => Effect.void,
  queue: () => Effect.void,
  connection: () => Effect.void,
  connectionFailure: () => Effect.void,
  connectionOk: () => Effect.void,
  error: () => Effect.void,
  outsideSession: () => Effect.void,
  alert: (kind, message, details) => Effect.logWarning(`ALERT ${kind}: ${message}`).pipe(Effect.annotateLogs(details)),
  resolveAlert: (kind, source) => Effect.logInfo(`ALERT ${kind} resolved`).pipe(Effect.annotateLogs({ source }))
}

export const layerLog: Layer.Layer<LiveTelemetry> = Layer.succeed(LiveTelemetry, logOnly)

/** In-memory recorder for tests and the benchmark. */
export const recorder = () => {
  const alerts: Array<{ kind: string; message: string; details: Record<string, unknown> }> = []
  const resolved: Array<{ kind: string; source: string }> = []
  const states: Array<{ source: string; state: ConnectionStatus }> = []
  const latencies: Array<number> = []
  const totals = { frames: 0, events: 0, rows: 0, errors: 0, failures: 0, outsideSession: 0, late: 0 }
  const service: LiveTelemetryService = {
    register: () => Effect.void,
    received: (_s, frames, events) =>
      Effect.sync(() => {
        totals.frames += frames
        totals.events += events
      }),
    commit: (_s, n, at, receipts) =>
      Effect.sync(() => {
        totals.rows += n
        for (const r of receipts) latencies.push(at - r)
      }),
    late: (_s, n) => Effect.sync(() => void (totals.late += n)),
    lastBars: () => Effect.void,
    queue: () => Effect.void,
    connection: (source, state) => Effect.sync(() => void states.push({ source, state })),
    connectionFailure: () => Effect.sync(() => void totals.failures++),
    connectionOk: () => Effect.void,
    error: (_s, n = 1) => Effect.sync(() => void (totals.errors += n)),
    outsideSession: (_s, n) => Effect.sync(() => void (totals.outsideSession += n)),
    alert: (kind, message, details) => Effect.sync(() => void alerts.push({ kind, message, details })),
    resolveAlert: (kind, source) => Effect.sync(() => void resolved.push({ kind, source }))
  }
  return { service, layer: Layer.succeed(LiveTelemetry, service), alerts, resolved, states, latencies, totals }
}
