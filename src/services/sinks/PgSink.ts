/**
 * The PostgreSQL sink. Uses its own client tag (`PgClient.PgClient`, never the generic SqlClient),
 * runs the versioned migrations at start (src/sql/migrations.ts, serialized by an advisory lock) and loads with
 * `INSERT … SELECT FROM unnest($1::type[], …) ON CONFLICT … DO UPDATE … WHERE newer` (one array
 * parameter per column: any batch size, every value bound). Consolidation: set-based statements
 * (per-second as-of lookups by running SUM()s OVER, src/sql/consolidatedPerSecond.ts) rebuild the
 * date's rows of the tables behind the `options_consolidated` view (src/sql/consolidatedView.ts).
 */
import type { Tickers } from "../../domain/tickers.js"
import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import { postgresConsolidate, postgresSessionSettings } from "../../sql/consolidatedPerSecond.js"
import { underlyingParts } from "../../sql/consolidatedUnderlyings.js"
import * as View from "../../sql/consolidatedView.js"
import { CHECKPOINTS, TABLES } from "../../sql/tables.js"
import { deleteDate, postgresParams, postgresUpsert } from "../../sql/upsert.js"
import { LakeReader } from "./LakeReader.js"
import * as Migrations from "./migrate.js"
import * as Orphans from "./orphans.js"
import * as StatementGuard from "./statementGuard.js"
import { type StepTimer, untimed } from "./stepTimes.js"
import { currentAlerts, type Sink, sinkError } from "./Sink.js"
import * as SinkMetrics from "./SinkMetrics.js"
import * as SqlSink from "./SqlSink.js"
import * as Throttle from "./Throttle.js"

export interface PgSinkOptions {
  readonly batchRows: number
  readonly maxInFlight: number
  readonly maxRowsPerSecond: number
  readonly newsWindowMinutes: number
  readonly barSpanMs?: number
  /** The underlying and index the consolidated view joins (default SPY, I:VIX). */
  readonly tickers?: Tickers
  readonly commitSlaS: number
  /** Server-side statement limits and the test-only fault knob (see SqlSink.SqlSinkOptions). */
  readonly statementTimeoutS?: number | undefined
  readonly consolidateTimeoutS?: number | undefined
  readonly faultSleepConsolidateS?: number | undefined
}

/** Versioned migrations in one transaction (PostgreSQL DDL is transactional), serialized by an advisory lock. */
export const migrate = (sql: PgClient.PgClient) =>
  sql
    .withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe(`SELECT pg_advisory_xact_lock(7335150)`)
        return yield* Migrations.migrate({
          sink: "postgres",
          dialect: "postgres",
          run: (statement, params) => sql.unsafe<Record<string, unknown>>(statement, params as Array<unknown>)
        })
      })
    )
    .pipe(Effect.mapError(sinkError("postgres", "migrate")))

/**
 * Rebuild the date's rows of the consolidated view's tables (src/sql/consolidatedView.ts): DELETE
 * them, then insert each underlying's per-second rows and contracts (src/sql/consolidatedUnderlyings.ts).
 * The caller wraps it in ONE transaction: a stopped or failed attempt leaves the date's old rows.
 * Then ANALYZE of the two small tables: without statistics for the new rows the planner reads a
 * day of the view by 2.34 M index probes (~7 s) instead of hash joins (~1.7 s). Returns the view's rows.
 */
export const consolidate =
  (sql: PgClient.PgClient, time: StepTimer = untimed) =>
  (date: string, windowMs: number, barSpanMs = 1000, tickers?: Tickers) =>
    Effect.gen(function* () {
      for (const setting of postgresSessionSettings) yield* sql.unsafe(setting)
      yield* sql.unsafe(View.pgDateLock, [date])
      yield* time(
        "delete",
        Effect.forEach(View.deleteDateRows("postgres"), (s) => sql.unsafe(s, [date]))
      )
      for (const part of underlyingParts(tickers)) {
        const { seconds, contracts } = postgresConsolidate(barSpanMs, part.tickers, part.owns, part.insight)
        yield* time("per-second rows", sql.unsafe(seconds, [date, windowMs, part.tickers.underlying]))
        yield* time("contracts", sql.unsafe(contracts, [date, part.tickers.underlying]))
      }
      yield* time("analyze", sql.unsafe(View.pgAnalyze))
      const [n] = yield* time("count", sql.unsafe<{ n: string }>(View.pgBarsOfDate, [date]))
      return Number(n?.n ?? 0)
    })

/**
 * Before a consolidation, outside its transaction (VACUUM cannot run in one): the bars a load just
 * committed carry no hint bits and are not all-visible, so the consolidation's read of the date's
 * ~2.34 M option bars (its distinct seconds) would set the hint bits and write those pages back from
 * inside the statement, and the date's count could not be an index-only scan. VACUUM does it once, cheaply
 * (pages already all-visible, every earlier date's, are skipped: the cost is the new date's, not the
 * history's), and marks them all-visible. INDEX_CLEANUP OFF: no index pass (autovacuum does it);
 * SKIP_LOCKED: never wait for another VACUUM. Best effort: SqlSink logs a failure and consolidates.
 */
export const PG_PREPARE_CONSOLIDATE = `VACUUM (SKIP_LOCKED, INDEX_CLEANUP OFF) ${[TABLES.options, TABLES.spy, TABLES.vix].map((t) => `"${t}"`).join(", ")}`

export const make = (options: PgSinkOptions) =>
  Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    const reader = yield* LakeReader
    const alerts = yield* currentAlerts
    yield* Orphans.endPostgres(sql)
    yield* migrate(sql)
    const guard = StatementGuard.postgres(sql)
    const ops: SqlSink.SqlOps<unknown> = {
      transaction: (effect, bounds) => guard.transaction(effect, bounds),
      upsert: (feed, rows, date) =>
        sql.unsafe(postgresUpsert(feed), postgresParams(feed, rows, date) as Array<unknown>).pipe(Effect.asVoid),
      deleteDate: (feed, date) => sql.unsafe(deleteDate("postgres", TABLES[feed]), [date]).pipe(Effect.asVoid),
      readCheckpoint: (feed, date) =>
        sql
          .unsafe<{ rows: string; total: string; fingerprint: string }>(
            `SELECT "rows", "total", "fingerprint" FROM "${CHECKPOINTS}" WHERE "feed" = $1 AND "date" = $2`,
            [feed, date]
          )
          .pipe(
            Effect.map(([r]) =>
              r ? { rows: Number(r.rows), total: Number(r.total), fingerprint: r.fingerprint } : undefined
            )
          ),
      writeCheckpoint: (feed, date, cp) =>
        sql
          .unsafe(
            `INSERT INTO "${CHECKPOINTS}" ("feed", "date", "rows", "total", "fingerprint", "loaded_at") VALUES ($1, $2, $3, $4, $5, now()) ` +
              `ON CONFLICT ("feed", "date") DO UPDATE SET "rows" = excluded."rows", "total" = excluded."total", "fingerprint" = excluded."fingerprint", "loaded_at" = excluded."loaded_at"`,
            [feed, date, cp.rows, cp.total, cp.fingerprint]
          )
          .pipe(Effect.asVoid),
      beforeConsolidate: sql.unsafe(PG_PREPARE_CONSOLIDATE).pipe(Effect.asVoid),
      consolidate: consolidate(sql),
      countDate: (table, date) =>
        sql
          .unsafe<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE "date" = $1`, [date])
          .pipe(Effect.map(([r]) => Number(r!.n)))
    }
    const sink: Sink = SqlSink.make(
      ops,
      {
        name: "postgres",
        batchRows: options.batchRows,
        newsWindowMs: options.newsWindowMinutes * 60_000,
        barSpanMs: options.barSpanMs,
        tickers: options.tickers,
        ...SqlSink.timeouts(options)
      },
      {
        reader,
        metrics: SinkMetrics.make("postgres", options.commitSlaS * 1000, alerts),
        throttle: yield* Throttle.make(options.maxInFlight, options.maxRowsPerSecond)
      }
    )
    return sink
  }).pipe(Effect.annotateLogs({ service: "PgSink" }))
