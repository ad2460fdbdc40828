/**
 * The load loop shared by the PostgreSQL and MySQL sinks. A partition is read once (LakeReader),
 * then written in batches of `batchRows`; each batch and the sink's checkpoint row
 * (`sink_checkpoints`: feed, date, rows committed so far, lake fingerprint) commit in ONE
 * transaction. A retried or restarted load resumes after the last committed batch of the same lake
 * version, and re-sending a batch is harmless (upsert, latest received wins). Overwrite = one
 * transaction: delete the date, insert everything, checkpoint. `loadFiles` (the live day's
 * incremental loads) reads only the given files and commits them in batches of `batchRows`, each
 * its own transaction, WITHOUT a checkpoint (a partial file set must never look like the loaded
 * partition); a re-sent batch is harmless for the same reason as above.
 * Each transaction is retried on failure (capped exponential backoff with jitter, bounded), counted
 * in SinkMetrics, throttled (max in flight, max rows per second).
 */
import type { Tickers } from "../../domain/tickers.js"
import { Clock, Effect, Option, Schedule } from "effect"
import type { SinkName } from "../../config/Settings.js"
import * as Inflight from "../../lib/inflight.js"
import type { Feed, Row } from "../../domain/feeds.js"
import { assertDate } from "../../domain/paths.js"
import { CONSOLIDATED, TABLES } from "../../sql/tables.js"
import type { LakeReaderService } from "./LakeReader.js"
import { type FilesOptions, type LoadResult, type Sink, type SinkError, sinkError } from "./Sink.js"
import type { SinkMetrics } from "./SinkMetrics.js"
import type { GuardOptions } from "./statementGuard.js"
import type { Throttle } from "./Throttle.js"
import { cappedJittered } from "../../lib/schedules.js"

export interface Checkpoint {
  readonly rows: number
  readonly total: number
  readonly fingerprint: string
}

/** What an engine provides; every effect may fail with the engine's error type. */
export interface SqlOps<E> {
  /** One transaction whose statements the server stops after `options.timeoutMs`; interrupted: cancelled on the server, rolled back (statementGuard.ts). */
  readonly transaction: <A, E2>(effect: Effect.Effect<A, E2>, options: GuardOptions) => Effect.Effect<A, E | E2>
  readonly upsert: (feed: Feed, rows: ReadonlyArray<Row>, date: string) => Effect.Effect<void, E>
  readonly deleteDate: (feed: Feed, date: string) => Effect.Effect<void, E>
  readonly readCheckpoint: (feed: Feed, date: string) => Effect.Effect<Checkpoint | undefined, E>
  readonly writeCheckpoint: (feed: Feed, date: string, cp: Checkpoint) => Effect.Effect<void, E>
  /** Rebuild the date's consolidated rows (caller wraps in a transaction); returns rows. */
  readonly consolidate: (
    date: string,
    windowMs: number,
    barSpanMs: number,
    tickers?: Tickers
  ) => Effect.Effect<number, E>
  /** Before the consolidation's transaction, best effort (PostgreSQL: VACUUM the freshly loaded bars, see PgSink). */
  readonly beforeConsolidate?: Effect.Effect<void, E>
  /** Rows of `table` whose `date` is the date. */
  readonly countDate: (table: string, date: string) => Effect.Effect<number, E>
}

export interface SqlSinkOptions {
  readonly name: SinkName
  readonly batchRows: number
  readonly newsWindowMs: number
  /** The option bars' span (1 s, or 60 s with minute bars): the consolidated row's time t is the bar's end. */
  readonly barSpanMs?: number
  /** The underlying and index the consolidated view joins (default SPY, I:VIX). */
  readonly tickers?: Tickers
  /** Server-side limit per statement of a load transaction of up to `batchRows` rows; a larger transaction (overwrite) gets it once per `batchRows` rows. */
  readonly statementTimeoutMs?: number | undefined
  /** Server-side limit for the consolidation statement (one statement over the whole day). */
  readonly consolidateTimeoutMs?: number | undefined
  /** Fault injection (tests): the server sleeps this long inside each consolidate transaction (0 = off). */
  readonly faultSleepConsolidateS?: number | undefined
  readonly retry?: Schedule.Schedule<unknown, unknown>
}

/** The SqlSinkOptions bounds from a sink's settings in seconds (`sinks.<sink>.statement_timeout_s`, …). */
export const timeouts = (o: {
  statementTimeoutS?: number | undefined
  consolidateTimeoutS?: number | undefined
  faultSleepConsolidateS?: number | undefined
}) => ({
  statementTimeoutMs: o.statementTimeoutS === undefined ? undefined : o.statementTimeoutS * 1000,
  consolidateTimeoutMs: o.consolidateTimeoutS === undefined ? undefined : o.consolidateTimeoutS * 1000,
  faultSleepConsolidateS: o.faultSleepConsolidateS
})

export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000
export const DEFAULT_CONSOLIDATE_TIMEOUT_MS = 600_000
/** The client gives up this long after the server should have: the server's own timeout normally ends the statement first. */
export const CLIENT_GRACE_MS = 5_000

/** Capped exponential backoff with jitter after the cap, bounded to 8 retries (≈ 20 s in total). */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = cappedJittered("100 millis", "3 seconds").pipe(
  Schedule.intersect(Schedule.recurs(8))
)

const isSqlError = (d: unknown): boolean =>
  typeof d === "object" && d !== null && (d as { _tag?: unknown })._tag === "SqlError"

/** The load timeout of a transaction of `rows` rows: `statementTimeoutMs` per started `batchRows` (at least once). */
export const loadTimeoutMs = (rows: number, batchRows: number, statementTimeoutMs: number): number =>
  statementTimeoutMs * Math.max(1, batchRows > 0 ? Math.ceil(rows / batchRows) : 1)

/**
 * Worth retrying: connection loss, timeouts, deadlocks, server restarts. Not retried: errors the
 * same statement would hit again (PostgreSQL classes 22/23/42; MySQL parse/unknown-column/data errors).
 */
export const isRetryable = (e: unknown): boolean => {
  const cause = (e as { cause?: { code?: unknown; errno?: unknown } } | undefined)?.cause
  const code = typeof cause?.code === "string" ? cause.code : ""
  if (/^(22|23|42)[0-9A-Z]{3}$/.test(code)) return false
  return ![1054, 1064, 1146, 1264, 1292, 1366, 1406, 1048, 1062].includes(Number(cause?.errno))
}

export const make = <E>(
  ops: SqlOps<E>,
  options: SqlSinkOptions,
  deps: { reader: LakeReaderService; metrics: SinkMetrics; throttle: Throttle }
): Sink => {
  const { reader, metrics, throttle } = deps
  const retry = options.retry ?? defaultRetry
  const name = options.name

  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS

  /**
   * One transaction: bounded on the server (`guard.timeoutMs`) and, `CLIENT_GRACE_MS` later, on the
   * client (an interruption: the guard cancels the statement on the server, then rolls back, so a
   * retry never starts beside a running attempt); throttled, retried; each failed attempt counted and logged.
   */
  const commit = <A>(
    rows: number,
    context: Record<string, unknown>,
    effect: Effect.Effect<A, E>,
    guard: GuardOptions = { timeoutMs: loadTimeoutMs(rows, options.batchRows, statementTimeoutMs) }
  ) =>
    throttle
      .run(
        rows,
        Effect.gen(function* () {
          const start = yield* Clock.currentTimeMillis
          const limit = guard.timeoutMs + CLIENT_GRACE_MS
          const a = yield* ops.transaction(effect, guard).pipe(
            // @effect/sql turns a failed COMMIT/ROLLBACK (dead connection) into a defect: make it a retryable failure
            Effect.catchSomeDefect((d) => (isSqlError(d) ? Option.some(Effect.fail(d as E)) : Option.none())),
            Effect.timeoutFail({
              duration: limit,
              onTimeout: () =>
                new Error(`transaction timed out after ${limit / 1000} s (cancelled on the server, rolled back)`)
            })
          )
          yield* metrics.commit(rows, (yield* Clock.currentTimeMillis) - start, context)
          return a
        }).pipe(
          Inflight.track(
            `${name} ${Object.entries(context)
              .map(([k, v]) => (k === "sink" ? "" : `${k}=${String(v)}`))
              .filter((x) => x !== "")
              .join(" ")}`
          )
        )
      )
      .pipe(
        Effect.tapError((e) =>
          Effect.zipRight(
            metrics.failure,
            Effect.logWarning(`${name} transaction failed: ${sinkError(name, "commit")(e).message.slice(0, 300)}`).pipe(
              Effect.annotateLogs(context)
            )
          )
        ),
        Effect.retry({ schedule: retry, while: isRetryable })
      )

  /** Reject a malformed date before touching anything. */
  const validDate =
    (date: string, operation: string) =>
    <A, R>(effect: Effect.Effect<A, SinkError, R>) =>
      Effect.zipRight(Effect.try({ try: () => assertDate(date), catch: sinkError(name, operation) }), effect)

  const loadPartition = (feed: Feed, date: string, overwrite: boolean) =>
    Effect.gen(function* () {
      const partition = yield* reader.open(feed, date)
      const { total, fingerprint } = partition
      const context = { sink: name, feed, date }
      if (overwrite) {
        yield* commit(
          total,
          context,
          Effect.gen(function* () {
            yield* ops.deleteDate(feed, date)
            for (let offset = 0; offset < total; offset += options.batchRows) {
              yield* ops.upsert(feed, yield* Effect.orDie(partition.page(offset, options.batchRows)), date)
            }
            yield* ops.writeCheckpoint(feed, date, { rows: total, total, fingerprint })
          })
        )
        return { rows: total, written: total } satisfies LoadResult
      }
      const checkpoint = yield* ops.readCheckpoint(feed, date).pipe(Effect.retry(retry))
      let offset = checkpoint && checkpoint.fingerprint === fingerprint ? Math.min(checkpoint.rows, total) : 0
      if (checkpoint && checkpoint.fingerprint === fingerprint && offset >= total)
        return { rows: total, written: 0 } satisfies LoadResult
      const first = offset
      do {
        const rows = yield* Effect.orDie(partition.page(offset, options.batchRows))
        const end = offset + rows.length
        yield* commit(
          rows.length,
          { ...context, offset },
          Effect.zipRight(
            rows.length > 0 ? ops.upsert(feed, rows, date) : Effect.void,
            ops.writeCheckpoint(feed, date, { rows: end, total, fingerprint })
          )
        )
        offset = end
      } while (offset < total)
      return { rows: total, written: total - first } satisfies LoadResult
    }).pipe(
      Effect.scoped,
      Effect.mapError(sinkError(name, `load ${feed} ${date}`)),
      validDate(date, `load ${feed} ${date}`),
      Effect.withSpan(`${name}.loadPartition`)
    )

  const loadFiles = (feed: Feed, date: string, files: ReadonlyArray<string>, opts: FilesOptions = {}) =>
    Effect.gen(function* () {
      const partition = yield* reader.openFiles(feed, date, files, opts.since)
      const { total } = partition
      const step = options.batchRows > 0 ? options.batchRows : Math.max(1, total)
      const context = { sink: name, feed, date, files: partition.files.length }
      for (let offset = 0; offset < total; offset += step) {
        // interruptible: DuckDb.withConnection interrupts the read and waits until it stopped before the reader closes
        const rows = yield* partition.page(offset, step)
        yield* commit(rows.length, { ...context, offset }, ops.upsert(feed, rows, date))
      }
      return { rows: total, written: total } satisfies LoadResult
    }).pipe(
      Effect.scoped,
      Effect.mapError(sinkError(name, `load files ${feed} ${date}`)),
      validDate(date, `load files ${feed} ${date}`),
      Effect.withSpan(`${name}.loadFiles`)
    )

  return {
    name,
    loadPartition: (feed, date, opts = {}) => loadPartition(feed, date, opts.overwrite === true),
    loadFiles,
    consolidate: (date) =>
      Effect.zipRight(
        (ops.beforeConsolidate ?? Effect.void).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning(`${name}: preparing consolidate ${date} failed (consolidating anyway)`, cause)
          )
        ),
        commit(
          0,
          { sink: name, date, op: "consolidate" },
          Effect.suspend(() => ops.consolidate(date, options.newsWindowMs, options.barSpanMs ?? 1000, options.tickers)),
          {
            timeoutMs: options.consolidateTimeoutMs ?? DEFAULT_CONSOLIDATE_TIMEOUT_MS,
            faultSleepS: options.faultSleepConsolidateS
          }
        )
      ).pipe(
        Effect.map((rows) => ({ rows })),
        Effect.mapError(sinkError(name, `consolidate ${date}`)),
        validDate(date, `consolidate ${date}`),
        Effect.withSpan(`${name}.consolidate`)
      ),
    metrics: metrics.snapshot,
    counts: (date) =>
      Effect.forEach([...Object.values(TABLES), CONSOLIDATED], (table) =>
        Effect.map(ops.countDate(table, date), (n) => [table, n] as const)
      ).pipe(
        Effect.map((entries) => Object.fromEntries(entries)),
        Effect.mapError(sinkError(name, `counts ${date}`)),
        validDate(date, `counts ${date}`)
      )
  }
}
