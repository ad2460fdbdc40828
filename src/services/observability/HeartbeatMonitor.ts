/**
 * Heartbeats and health checks. Every `heartbeat.interval_s` each registered source gets
 * `data/state/heartbeat/<source>.json` (written atomically: tmp + rename), a line in the day's
 * history (`data/state/history/<date>.ndjson`: the period's commit latency and reconnects), and one log line with
 * commit latency p50/p95/p99, events/s and the process's event-loop lag (p99 and max over the
 * period: `eventLoopLag`; the layer measures it with perf_hooks). Every `checkIntervalS` (default min(60, interval)):
 *
 * - stale_heartbeat: a source's last successful heartbeat is older than `stale_after_s`, or the
 *   source received no message for `stale_after_s` while the market was open (a data stall; the
 *   stall clock restarts whenever the market is closed). Sources registered with
 *   `{ stallAlert: false }` (sinks, news) skip the data-stall check.
 * - commit_latency_sla: commit p99 over `alerts.commit_sla_s`, or messages pending with no commit
 *   for that long.
 * - error_rate: errors / (errors + successes) over the window strictly above `alerts.error_rate_pct`.
 * - connection_failures: consecutive failures strictly above the configured maximum.
 *
 * Every source Metrics knows is checked for the last three; a cleared condition resolves its alert.
 */
import * as Context from "effect/Context"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { nyDateOf, openSessionAt } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import { Alerts, type AlertKind } from "./Alerts.js"
import { AppSettings } from "../AppSettings.js"
import { Metrics, type SourceSnapshot } from "./Metrics.js"
import * as EventLoopLag from "./eventLoopLag.js"
import type { EventLoopLag as Lag, TakeLag } from "./eventLoopLag.js"
import { type FeedInfo, heartbeatOf, REALTIME, writeJsonAtomic } from "./heartbeatFile.js"
import { appendHistory, historyLineOf } from "./historyLog.js"

export type { HeartbeatFile } from "./heartbeatFile.js"

export interface RegisterOptions {
  /** Raise stale_heartbeat when no message arrives for stale_after_s in market hours (default true). */
  readonly stallAlert?: boolean
}

export interface HeartbeatMonitorService {
  /** Start beating for a source; writes its first heartbeat now. */
  readonly register: (source: string, options?: RegisterOptions) => Effect.Effect<void>
  /** Write every registered source's heartbeat now (the loop calls this each interval). */
  readonly beat: Effect.Effect<void>
  /** Run every check now (the loop calls this each check interval). */
  readonly check: Effect.Effect<void>
  readonly registered: Effect.Effect<ReadonlyArray<string>>
}

export class HeartbeatMonitor extends Context.Tag("spy/HeartbeatMonitor")<
  HeartbeatMonitor,
  HeartbeatMonitorService
>() {}

export interface HeartbeatOptions {
  readonly heartbeatFile: (source: string) => string
  /** The day's history file (one line per source and period, historyLog.ts); default: none kept. */
  readonly historyFile?: (date: string) => string
  readonly intervalS: number
  readonly staleAfterS: number
  readonly commitSlaS: number
  readonly errorRatePct: number
  readonly maxConsecutiveConnectionFailures: number
  readonly checkIntervalS?: number
  /** Default: a regular NYSE session (weekdays 09:30–16:00 New York), holidays unknown. */
  readonly isMarketOpen?: (nowMs: number) => boolean
  /** Default: process RSS in MB. */
  readonly memoryUsageMb?: () => number
  /** The event-loop lag since the previous call (one heartbeat period); default: not measured. */
  readonly eventLoopLag?: TakeLag
  /**
   * `polygon.feed` and its delay, written in every file. On a delayed feed the default market-hours
   * check (the data-stall alert) runs on the feed clock, wall − delay: data flows then.
   */
  readonly feed?: FeedInfo
}

interface Registered {
  readonly stallAlert: boolean
  lastBeatMs: number
  stallBaseMs: number
}

const noHolidays = new Map()
const defaultMarketOpen = (nowMs: number) => openSessionAt(nowMs, noHolidays) !== undefined
const rssMb = () => process.memoryUsage().rss / (1024 * 1024)

export const make = (
  options: HeartbeatOptions
): Effect.Effect<HeartbeatMonitorService, never, Metrics | Alerts | Scope.Scope> =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const alerts = yield* Alerts
    const feed = options.feed ?? REALTIME
    const isMarketOpen = options.isMarketOpen ?? ((nowMs: number) => defaultMarketOpen(nowMs - feed.feedDelayS * 1000))
    const memoryUsageMb = options.memoryUsageMb ?? rssMb
    const staleMs = options.staleAfterS * 1000
    const sources = new Map<string, Registered>()

    const takeLag = options.eventLoopLag ?? (() => null)
    /** The last period's lag, written with every source's heartbeat until the next beat. */
    let lag: Lag | null = null

    const writeOne = (source: string, reg: Registered, now: number, snap: SourceSnapshot) =>
      Effect.try(() =>
        writeJsonAtomic(options.heartbeatFile(source), heartbeatOf(snap, now, memoryUsageMb(), lag, feed))
      ).pipe(
        Effect.tap(() => {
          reg.lastBeatMs = now
        }),
        Effect.catchAll((e) =>
          Effect.logWarning("cannot write heartbeat").pipe(
            Effect.annotateLogs({ service: "HeartbeatMonitor", source, error: String(e.error) })
          )
        )
      )

    const logOne = (snap: SourceSnapshot) =>
      Effect.logInfo("heartbeat").pipe(
        Effect.annotateLogs({
          source: snap.source,
          messages_last_5min: snap.messagesLast5Min,
          commit_p50_ms: snap.commitLatency?.p50 ?? null,
          commit_p95_ms: snap.commitLatency?.p95 ?? null,
          commit_p99_ms: snap.commitLatency?.p99 ?? null,
          events_per_second: Math.round(snap.eventsPerSecond * 10) / 10,
          connection: snap.connectionStatus,
          event_loop_lag_p99_ms: lag?.p99Ms ?? null,
          event_loop_lag_max_ms: lag?.maxMs ?? null
        })
      )

    const history = (now: number, lines: ReadonlyArray<ReturnType<typeof historyLineOf>>) =>
      options.historyFile === undefined
        ? Effect.void
        : Effect.try(() => appendHistory(options.historyFile!(nyDateOf(now)), lines)).pipe(
            Effect.catchAll((e) =>
              Effect.logWarning("cannot append to the history file").pipe(
                Effect.annotateLogs({ error: String(e.error) })
              )
            )
          )

    const beat = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      lag = takeLag() ?? lag
      const lines = []
      for (const [source, reg] of sources) {
        const snap = yield* metrics.snapshot(source)
        yield* writeOne(source, reg, now, snap)
        yield* logOne(snap)
        lines.push(historyLineOf(source, snap.connectionStatus, yield* metrics.takePeriod(source)))
      }
      yield* history(now, lines)
    })

    const toggle = (
      condition: boolean,
      kind: AlertKind,
      source: string,
      message: string,
      details: Record<string, unknown>
    ) => (condition ? alerts.raise(kind, message, { source, ...details }) : alerts.resolve(kind, source))

    const check = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const open = isMarketOpen(now)
      for (const [source, reg] of sources) {
        if (!open) reg.stallBaseMs = now
        const snap = yield* metrics.snapshot(source)
        const beatAge = now - reg.lastBeatMs
        const dataAge = now - Math.max(snap.lastMessageAtMs ?? -Infinity, reg.stallBaseMs)
        const stalled = open && reg.stallAlert && dataAge >= staleMs
        const noBeat = beatAge >= staleMs
        const message = noBeat
          ? `no heartbeat from ${source} for ${Math.round(beatAge / 1000)} s`
          : `no data from ${source} for ${Math.round(dataAge / 1000)} s during market hours`
        const details = noBeat
          ? { reason: "no_heartbeat", last_heartbeat: new Date(reg.lastBeatMs).toISOString() }
          : {
              reason: "no_data",
              last_message_at: snap.lastMessageAtMs === null ? null : new Date(snap.lastMessageAtMs).toISOString()
            }
        yield* toggle(noBeat || stalled, "stale_heartbeat", source, message, {
          ...details,
          stale_after_s: options.staleAfterS
        })
      }
      for (const source of yield* metrics.sources) {
        const snap = yield* metrics.snapshot(source)
        const slaMs = options.commitSlaS * 1000
        const p99 = snap.commitLatency?.p99 ?? 0
        const pending =
          snap.lastCommitAtMs !== null && snap.lastMessageAtMs !== null && snap.lastMessageAtMs > snap.lastCommitAtMs
        const overdue = pending && now - snap.lastCommitAtMs! > slaMs
        yield* toggle(
          p99 > slaMs || overdue,
          "commit_latency_sla",
          source,
          `commit latency of ${source} over the ${options.commitSlaS} s SLA`,
          {
            p99_ms: snap.commitLatency?.p99 ?? null,
            last_commit_at: snap.lastCommitAtMs === null ? null : new Date(snap.lastCommitAtMs).toISOString()
          }
        )
        const total = snap.errorsInWindow + snap.successesInWindow
        yield* toggle(
          total > 0 && snap.errorsInWindow * 100 > options.errorRatePct * total,
          "error_rate",
          source,
          `error rate of ${source} over ${options.errorRatePct}%`,
          {
            errors: snap.errorsInWindow,
            total,
            error_rate_pct: total === 0 ? 0 : (snap.errorsInWindow * 100) / total
          }
        )
        yield* toggle(
          snap.consecutiveConnectionFailures > options.maxConsecutiveConnectionFailures,
          "connection_failures",
          source,
          `${snap.consecutiveConnectionFailures} consecutive connection failures for ${source}`,
          {
            failures: snap.consecutiveConnectionFailures,
            max: options.maxConsecutiveConnectionFailures
          }
        )
      }
    })

    const register = (source: string, registerOptions: RegisterOptions = {}) =>
      Effect.gen(function* () {
        if (sources.has(source)) return
        const now = yield* Clock.currentTimeMillis
        const reg: Registered = { stallAlert: registerOptions.stallAlert ?? true, lastBeatMs: now, stallBaseMs: now }
        sources.set(source, reg)
        yield* writeOne(source, reg, now, yield* metrics.snapshot(source))
      })

    const interval = Duration.seconds(options.intervalS)
    const checkInterval = Duration.seconds(options.checkIntervalS ?? Math.min(60, options.intervalS))
    const guard =
      (name: string) =>
      <A>(self: Effect.Effect<A>) =>
        Effect.catchAllCause(self, (cause) => Effect.logError(`${name} failed`, cause))
    yield* beat.pipe(
      guard("heartbeat"),
      Effect.repeat(Schedule.fixed(interval)),
      Effect.forkScoped,
      Effect.interruptible
    )
    yield* check.pipe(
      guard("health check"),
      Effect.repeat(Schedule.spaced(checkInterval)),
      Effect.forkScoped,
      Effect.interruptible
    )
    yield* Effect.addFinalizer(() => guard("final heartbeat")(beat))

    return {
      register,
      beat,
      check,
      registered: Effect.sync(() => Array.from(sources.keys()))
    } satisfies HeartbeatMonitorService
  }).pipe(Effect.annotateLogs({ service: "HeartbeatMonitor" }))

export const layer: Layer.Layer<HeartbeatMonitor, never, AppSettings | Metrics | Alerts> = Layer.scoped(
  HeartbeatMonitor,
  Effect.flatMap(Effect.zip(AppSettings, EventLoopLag.monitor), ([s, eventLoopLag]) =>
    make({
      eventLoopLag,
      heartbeatFile: lakePaths(s.storage.root).heartbeatFile,
      historyFile: lakePaths(s.storage.root).historyFile,
      intervalS: s.heartbeat.intervalS,
      staleAfterS: s.heartbeat.staleAfterS,
      commitSlaS: s.alerts.commitSlaS,
      errorRatePct: s.alerts.errorRatePct,
      maxConsecutiveConnectionFailures: s.alerts.maxConsecutiveConnectionFailures,
      feed: { feed: s.polygon.feed, feedDelayS: s.polygon.feed === "delayed" ? s.polygon.feedDelayS : 0 }
    })
  )
)
