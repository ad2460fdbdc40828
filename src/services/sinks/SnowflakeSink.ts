/**
 * The Snowflake sink: stage + COPY INTO + MERGE (SQL in snowflakeSql.ts). One connection, one load at
 * a time; a failed load is rolled back and retried as a whole (PUT OVERWRITE and MERGE are
 * idempotent). `loadFiles` (live incremental loads) PUTs only the given files to the stage's `live/`
 * path and COPYs + MERGEs them, without a checkpoint (snowflakeSql.ts `loadFilesPlan`). `consolidate` rebuilds options_consolidated with ASOF JOINs (snowflakeConsolidated.ts).
 */
import type { Tickers } from "../../domain/tickers.js"
import { Clock, Effect, Redacted } from "effect"
import type * as Snowflake from "snowflake-sdk"
import type { Feed } from "../../domain/feeds.js"
import { partitionFiles, partitionSubset } from "./LakeReader.js"
import { currentAlerts, type Sink, sinkError } from "./Sink.js"
import * as SinkMetrics from "./SinkMetrics.js"
import { migrateWith } from "./migrate.js"
import * as SqlSink from "./SqlSink.js"
import { SNOWFLAKE_MIGRATIONS, snowflakeBookkeeping } from "./snowflakeMigrations.js"
import * as consolidated from "./snowflakeConsolidated.js"
import * as sf from "./snowflakeSql.js"

export interface SnowflakeSinkOptions {
  readonly root: string
  readonly account: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly database: string
  readonly schema: string
  readonly warehouse?: string | undefined
  readonly stage: string
  readonly newsWindowMinutes: number
  readonly commitSlaS: number
  readonly barSpanMs?: number
  /** The underlying and index the consolidated view joins (default SPY, I:VIX). */
  readonly tickers?: Tickers
}

/** Loaded only when the sink is enabled: the SDK pulls in the AWS SDK (slow start-up, warnings on Node 20). */
const loadSdk = async (): Promise<typeof Snowflake> => {
  const mod = (await import("snowflake-sdk")) as typeof Snowflake & { default?: typeof Snowflake }
  return mod.default ?? mod
}

export const make = (options: SnowflakeSinkOptions) =>
  Effect.gen(function* () {
    const connection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const snowflake = await loadSdk()
          return snowflake
            .createConnection({
              account: options.account,
              username: options.username,
              password: Redacted.value(options.password),
              database: options.database,
              schema: options.schema,
              ...(options.warehouse ? { warehouse: options.warehouse } : {})
            })
            .connectAsync()
        },
        catch: sinkError("snowflake", "connect")
      }),
      (c) => Effect.async<void>((resume) => void c.destroy(() => resume(Effect.void)))
    )
    const query = (st: sf.Statement) =>
      Effect.async<ReadonlyArray<Record<string, unknown>>, Error>((resume) => {
        connection.execute({
          sqlText: st.sqlText,
          binds: [...st.binds],
          complete: (err, _stmt, rows) => resume(err ? Effect.fail(err) : Effect.succeed(rows ?? []))
        })
      })
    const exec = (st: sf.Statement) => Effect.asVoid(query(st))
    const plain = (sqlText: string): sf.Statement => ({ sqlText, binds: [] })
    yield* migrateWith(
      {
        sink: "snowflake",
        bookkeeping: snowflakeBookkeeping,
        statements: (m) => m.statements,
        run: (sqlText, binds) => query({ sqlText, binds: binds as ReadonlyArray<string | number> })
      },
      SNOWFLAKE_MIGRATIONS
    )
    yield* exec(plain(sf.createStage(options.stage))).pipe(Effect.mapError(sinkError("snowflake", "create stage")))
    const lock = yield* Effect.makeSemaphore(1)
    const metrics = SinkMetrics.make("snowflake", options.commitSlaS * 1000, yield* currentAlerts)

    const loadPartition = (feed: Feed, date: string, overwrite: boolean) =>
      Effect.gen(function* () {
        const { files, fingerprint } = yield* partitionFiles(options.root, feed, date)
        const plan = sf.loadPlan(feed, date, options.stage, files, fingerprint, overwrite)
        const start = yield* Clock.currentTimeMillis
        yield* inTransaction(plan)
        yield* metrics.commit(files.length, (yield* Clock.currentTimeMillis) - start, { sink: "snowflake", feed, date })
        return { rows: files.length, written: files.length }
      }).pipe(lock.withPermits(1), Effect.mapError(sinkError("snowflake", `load ${feed} ${date}`)))

    const loadFiles = (feed: Feed, date: string, files: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const subset = partitionSubset(options.root, feed, date, files)
        const start = yield* Clock.currentTimeMillis
        if (subset.length > 0) yield* inTransaction(sf.loadFilesPlan(feed, date, options.stage, subset))
        yield* metrics.commit(subset.length, (yield* Clock.currentTimeMillis) - start, {
          sink: "snowflake",
          feed,
          date,
          files: subset.length
        })
        return { rows: subset.length, written: subset.length }
      }).pipe(lock.withPermits(1), Effect.mapError(sinkError("snowflake", `load files ${feed} ${date}`)))

    const inTransaction = (plan: ReadonlyArray<sf.Statement>) =>
      Effect.forEach(plan, exec, { discard: true }).pipe(
        Effect.tapError(() => Effect.ignore(exec(plain("ROLLBACK")))),
        Effect.tapError(() => metrics.failure),
        Effect.retry(SqlSink.defaultRetry)
      )

    const consolidate = (date: string) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        yield* inTransaction(
          consolidated.consolidatePlan(date, options.newsWindowMinutes * 60_000, options.barSpanMs, options.tickers)
        )
        const [row] = yield* query(consolidated.countRows(date))
        const rows = Number(row?.["N"] ?? 0)
        yield* metrics.commit(rows, (yield* Clock.currentTimeMillis) - start, {
          sink: "snowflake",
          date,
          op: "consolidate"
        })
        return { rows }
      }).pipe(lock.withPermits(1), Effect.mapError(sinkError("snowflake", `consolidate ${date}`)))

    const sink: Sink = {
      name: "snowflake",
      loadPartition: (feed, date, opts = {}) =>
        Effect.suspend(() => loadPartition(feed, date, opts.overwrite === true)).pipe(
          Effect.catchAllDefect((d) => Effect.fail(sinkError("snowflake", `load ${feed} ${date}`)(d)))
        ),
      loadFiles: (feed, date, files) =>
        Effect.suspend(() => loadFiles(feed, date, files)).pipe(
          Effect.catchAllDefect((d) => Effect.fail(sinkError("snowflake", `load files ${feed} ${date}`)(d)))
        ),
      consolidate: (date) =>
        Effect.suspend(() => consolidate(date)).pipe(
          Effect.catchAllDefect((d) => Effect.fail(sinkError("snowflake", `consolidate ${date}`)(d)))
        ),
      metrics: metrics.snapshot
    }
    return sink
  }).pipe(Effect.annotateLogs({ service: "SnowflakeSink" }))
