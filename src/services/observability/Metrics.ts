/**
 * Per-source counters for the live path: messages, rows, commits, errors, connection state.
 * Every record is O(1) on plain mutable state inside `Effect.sync` (called per frame), and every
 * timestamp comes from Effect's Clock, so TestClock drives the windows.
 *
 * - messages / events: 1-second buckets; `messagesLast5Min` = the last 300 buckets (current second
 *   included), `eventsPerSecond` = rows of the last 60 buckets / 60; `eventsPerSecond15Min` = rows
 *   of the last 90 ten-second buckets / 900 (the status page's rate).
 * - errors / successes: bad rows and good rows, in 1-second buckets over `errorWindowS` (default 900),
 *   so the error rate is bad rows over rows received (SCOPE), not bad rows over commits.
 * - commit latency: nearest-rank p50/p95/p99 over the last 10,000 commits of the last 5 minutes.
 * - "today" (totals) resets at midnight America/New_York.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { DateTime } from "luxon"
import { NY } from "../../domain/calendar.js"
import { type Percentiles, percentiles } from "../../domain/percentiles.js"
import { AppSettings } from "../AppSettings.js"
import { PeriodCounter, type PeriodStats } from "./period.js"
import { BucketWindow, LatencyReservoir } from "./window.js"

export type { PeriodStats } from "./period.js"

/** WebSocket sources go connecting → connected (→ disconnected → reconnecting …); REST-polled news is `polling` or `poll_failing`. */
export type ConnectionStatus =
  "connecting" | "connected" | "reconnecting" | "disconnected" | "closed" | "polling" | "poll_failing"

export interface SourceSnapshot {
  readonly source: string
  readonly messagesLast5Min: number
  readonly totalMessagesToday: number
  readonly totalEventsToday: number
  readonly rowsCommittedToday: number
  /** Times the source went `reconnecting` today (every shard's every reconnect). */
  readonly reconnectsToday: number
  readonly connectionStatus: ConnectionStatus
  /** When the connection status last changed (null: never set). */
  readonly connectionSinceMs: number | null
  readonly lastMessageAtMs: number | null
  readonly lastCommitAtMs: number | null
  readonly lastCommitLatencyMs: number | null
  /** `null` when no commit in the last 5 minutes. */
  readonly commitLatency: Percentiles | null
  readonly eventsPerSecond: number
  /** Rows per second over the last 15 minutes. */
  readonly eventsPerSecond15Min: number
  /** Errors / (errors + successes) over the error window, as a fraction 0..1 (0 when nothing recorded). */
  readonly errorRate: number
  readonly errorsInWindow: number
  readonly successesInWindow: number
  readonly consecutiveConnectionFailures: number
  /** Bars outside the regular session received today and not stored (`session.hours: regular`). */
  readonly outsideSessionToday: number
}

export interface MetricsService {
  readonly recordMessages: (source: string, n: number) => Effect.Effect<void>
  readonly recordEvents: (source: string, n: number) => Effect.Effect<void>
  readonly recordCommit: (source: string, latencyMs: number, rows: number) => Effect.Effect<void>
  /** `n` bad rows (quarantined, or failed to commit) or failed polls. */
  readonly recordError: (source: string, n?: number) => Effect.Effect<void>
  /** `n` rows received and committed. */
  readonly recordSuccess: (source: string, n?: number) => Effect.Effect<void>
  readonly setConnection: (source: string, status: ConnectionStatus) => Effect.Effect<void>
  readonly recordConnectionFailure: (source: string) => Effect.Effect<void>
  readonly resetConnectionFailures: (source: string) => Effect.Effect<void>
  /** `n` bars outside the regular session, counted and not stored. */
  readonly recordOutsideSession: (source: string, n: number) => Effect.Effect<void>
  readonly snapshot: (source: string) => Effect.Effect<SourceSnapshot>
  /** The source's heartbeat period ending now (the next starts now); only the heartbeat loop takes it. */
  readonly takePeriod: (source: string) => Effect.Effect<PeriodStats>
  /** Every source recorded so far, in first-seen order. */
  readonly sources: Effect.Effect<ReadonlyArray<string>>
}

export class Metrics extends Context.Tag("spy/Metrics")<Metrics, MetricsService>() {}

export interface MetricsOptions {
  readonly errorWindowS: number
  readonly reservoirSize?: number
  readonly commitWindowS?: number
}

const nextNyMidnight = (nowMs: number): number =>
  DateTime.fromMillis(nowMs, { zone: NY }).startOf("day").plus({ days: 1 }).toMillis()

class SourceState {
  readonly messages = new BucketWindow(1000, 300)
  readonly events = new BucketWindow(1000, 60)
  readonly events15Min = new BucketWindow(10_000, 90)
  readonly errors: BucketWindow
  readonly successes: BucketWindow
  readonly commits: LatencyReservoir
  readonly period = new PeriodCounter()
  messagesToday = 0
  eventsToday = 0
  outsideSessionToday = 0
  rowsToday = 0
  reconnectsToday = 0
  dayEndMs = -Infinity
  connection: ConnectionStatus = "disconnected"
  connectionSinceMs: number | null = null
  lastMessageAtMs: number | null = null
  lastCommitAtMs: number | null = null
  lastCommitLatencyMs: number | null = null
  connectionFailures = 0

  constructor(errorWindowS: number, reservoirSize: number) {
    const buckets = Math.max(1, Math.ceil(errorWindowS))
    this.errors = new BucketWindow(1000, buckets)
    this.successes = new BucketWindow(1000, buckets)
    this.commits = new LatencyReservoir(reservoirSize)
  }

  /** Roll "today" over at New York midnight. */
  roll(nowMs: number): void {
    if (nowMs >= this.dayEndMs) {
      if (this.dayEndMs !== -Infinity) {
        this.messagesToday = 0
        this.eventsToday = 0
        this.outsideSessionToday = 0
        this.rowsToday = 0
        this.reconnectsToday = 0
      }
      this.dayEndMs = nextNyMidnight(nowMs)
    }
  }
}

export const make = (options: MetricsOptions): Effect.Effect<MetricsService> =>
  Effect.sync(() => {
    const reservoirSize = options.reservoirSize ?? 10_000
    const commitWindowMs = (options.commitWindowS ?? 300) * 1000
    const states = new Map<string, SourceState>()
    const stateOf = (source: string): SourceState => {
      let s = states.get(source)
      if (s === undefined) {
        s = new SourceState(options.errorWindowS, reservoirSize)
        states.set(source, s)
      }
      return s
    }
    const timed =
      <Args extends ReadonlyArray<unknown>>(f: (s: SourceState, nowMs: number, ...args: Args) => void) =>
      (source: string, ...args: Args): Effect.Effect<void> =>
        Effect.clockWith((clock) => Effect.sync(() => f(stateOf(source), clock.unsafeCurrentTimeMillis(), ...args)))

    const recordMessages = timed((s, now, n: number) => {
      s.roll(now)
      s.messages.add(now, n)
      s.messagesToday += n
      s.period.messages += n
      s.lastMessageAtMs = now
    })
    const recordEvents = timed((s, now, n: number) => {
      s.roll(now)
      s.events.add(now, n)
      s.events15Min.add(now, n)
      s.eventsToday += n
      s.period.events += n
    })
    const recordCommit = timed((s, now, latencyMs: number, rows: number) => {
      s.roll(now)
      s.rowsToday += rows
      s.period.commit(latencyMs, rows)
      s.commits.add(now, latencyMs)
      s.lastCommitAtMs = now
      s.lastCommitLatencyMs = latencyMs
    })
    const recordOutsideSession = timed((s, now, n: number) => {
      s.roll(now)
      s.outsideSessionToday += n
    })
    const recordError = timed((s, now, n: number = 1) => s.errors.add(now, n))
    const recordSuccess = timed((s, now, n: number = 1) => s.successes.add(now, n))
    const setConnection = timed((s, now, status: ConnectionStatus) => {
      s.roll(now)
      if (status === "reconnecting") {
        s.reconnectsToday++
        s.period.reconnects++
      }
      if (status !== s.connection || s.connectionSinceMs === null) s.connectionSinceMs = now
      s.connection = status
    })
    const recordConnectionFailure = (source: string) =>
      Effect.sync(() => {
        stateOf(source).connectionFailures++
      })
    const resetConnectionFailures = (source: string) =>
      Effect.sync(() => {
        stateOf(source).connectionFailures = 0
      })

    const snapshot = (source: string) =>
      Effect.map(Clock.currentTimeMillis, (now): SourceSnapshot => {
        const s = stateOf(source)
        s.roll(now)
        const errors = s.errors.sum(now)
        const successes = s.successes.sum(now)
        const total = errors + successes
        return {
          source,
          messagesLast5Min: s.messages.sum(now),
          totalMessagesToday: s.messagesToday,
          totalEventsToday: s.eventsToday,
          rowsCommittedToday: s.rowsToday,
          reconnectsToday: s.reconnectsToday,
          connectionStatus: s.connection,
          connectionSinceMs: s.connectionSinceMs,
          lastMessageAtMs: s.lastMessageAtMs,
          lastCommitAtMs: s.lastCommitAtMs,
          lastCommitLatencyMs: s.lastCommitLatencyMs,
          commitLatency: percentiles(s.commits.recent(now, commitWindowMs)) ?? null,
          eventsPerSecond: s.events.sum(now) / 60,
          eventsPerSecond15Min: s.events15Min.sum(now) / 900,
          errorRate: total === 0 ? 0 : errors / total,
          errorsInWindow: errors,
          successesInWindow: successes,
          consecutiveConnectionFailures: s.connectionFailures,
          outsideSessionToday: s.outsideSessionToday
        }
      })

    return {
      recordMessages,
      recordEvents,
      recordCommit,
      recordError,
      recordSuccess,
      setConnection,
      recordConnectionFailure,
      resetConnectionFailures,
      recordOutsideSession,
      snapshot,
      takePeriod: (source) => Effect.map(Clock.currentTimeMillis, (now) => stateOf(source).period.take(now)),
      sources: Effect.sync(() => Array.from(states.keys()))
    } satisfies MetricsService
  })

export const layer: Layer.Layer<Metrics, never, AppSettings> = Layer.effect(
  Metrics,
  Effect.flatMap(AppSettings, (settings) => make({ errorWindowS: settings.alerts.errorWindowS }))
)
