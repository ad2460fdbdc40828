/**
 * The MySQL 8 / MariaDB 10.11 sink. Uses its own client tag (`MysqlClient.MysqlClient`), runs the
 * versioned migrations at start (tables utf8mb4 with binary collation, so keys compare like
 * PostgreSQL "C" and DuckDB; idempotent statements, so concurrent starters converge), loads with multi-row `INSERT … ON DUPLICATE KEY UPDATE col =
 * IF(newer, VALUES(col), col)` (every value a bound parameter, statements split under the
 * placeholder limit). DATETIME(3) columns hold UTC. Consolidation: per-second lookups into
 * connection-scoped temporary tables (src/sql/consolidatedMysql.ts) rebuild the date's rows of the
 * tables behind the `options_consolidated` view (src/sql/consolidatedView.ts).
 */
import type { Tickers } from "../../domain/tickers.js"
import { MysqlClient } from "@effect/sql-mysql2"
import { Effect } from "effect"
import {
  mysqlBarCount,
  mysqlBounds,
  mysqlDropTemp,
  mysqlSeconds,
  mysqlSteps,
  mysqlTickers
} from "../../sql/consolidatedMysql.js"
import { mysqlDropPartTemp, underlyingParts } from "../../sql/consolidatedUnderlyings.js"
import * as View from "../../sql/consolidatedView.js"
import { CHECKPOINTS, TABLES } from "../../sql/tables.js"
import { deleteDate, mysqlParams, mysqlRowsPerStatement, mysqlUpsert } from "../../sql/upsert.js"
import { LakeReader } from "./LakeReader.js"
import * as Migrations from "./migrate.js"
import * as Orphans from "./orphans.js"
import * as StatementGuard from "./statementGuard.js"
import { type StepTimer, untimed } from "./stepTimes.js"
import { currentAlerts, type Sink, sinkError } from "./Sink.js"
import * as SinkMetrics from "./SinkMetrics.js"
import * as SqlSink from "./SqlSink.js"
import * as Throttle from "./Throttle.js"

export interface MysqlSinkOptions {
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

/** An index created before versioning, or by a concurrent starter: "Duplicate key name" (1061). */
export const duplicateIndexName = (e: unknown): boolean =>
  String((e as { cause?: { errno?: number } }).cause?.errno) === "1061"

/** Versioned migrations (MySQL DDL commits implicitly: each statement is idempotent instead). */
export const migrate = (sql: MysqlClient.MysqlClient) =>
  Migrations.migrate({
    sink: "mysql",
    dialect: "mysql",
    run: (statement, params) => sql.unsafe<Record<string, unknown>>(statement, params as Array<unknown>),
    alreadyExists: duplicateIndexName
  })

/**
 * Rebuild the date's rows of the consolidated view's tables (src/sql/consolidatedView.ts) in the
 * caller's one transaction: DELETE them (InnoDB locks the date's key range: a concurrent rebuild of
 * the same date waits), then each underlying's steps (src/sql/consolidatedUnderlyings.ts) insert
 * its per-second rows and contracts. A stopped or failed attempt rolls back to the old rows; the
 * temporary tables are connection-scoped (dropped before and after). Returns the view's rows.
 */
export const consolidate =
  (sql: MysqlClient.MysqlClient, time: StepTimer = untimed) =>
  (date: string, windowMs: number, barSpanMs = 1000, tickers?: Tickers) =>
    Effect.gen(function* () {
      yield* sql.unsafe(mysqlDropTemp) // a failed earlier attempt on this connection may have left them
      yield* time(
        "delete",
        Effect.forEach(View.deleteDateRows("mysql"), (s) => sql.unsafe(s, [date]))
      )
      for (const step of [mysqlSeconds(date), mysqlTickers(date)])
        yield* time(step.label, sql.unsafe(step.sql, [...step.params]))
      const [b] = yield* sql.unsafe<{ lo: number | string | null; hi: number | string | null }>(mysqlBounds)
      if (b?.lo !== null && b?.lo !== undefined && b.hi !== null)
        for (const [i, part] of underlyingParts(tickers).entries()) {
          if (i > 0) yield* sql.unsafe(mysqlDropPartTemp) // the parts share cons_secs
          const [lo, hi] = [Number(b.lo), Number(b.hi)]
          const steps = mysqlSteps(
            date,
            windowMs,
            lo,
            hi,
            barSpanMs,
            part.tickers,
            part.tickers.underlying,
            part.owns,
            part.insight
          )
          for (const step of steps) yield* time(step.label, sql.unsafe(step.sql, [...step.params]))
        }
      const [n] = yield* sql.unsafe<{ n: number | string }>(mysqlBarCount)
      yield* sql.unsafe(mysqlDropTemp)
      return Number(n?.n ?? 0)
    })

export const make = (options: MysqlSinkOptions) =>
  Effect.gen(function* () {
    // every statement carries this process's tag (orphans.ts finds a killed run's statements by it)
    const sql = StatementGuard.tagStatements(yield* MysqlClient.MysqlClient, StatementGuard.sessionTag())
    const reader = yield* LakeReader
    const alerts = yield* currentAlerts
    yield* Orphans.endMysql(sql)
    yield* migrate(sql)
    yield* Orphans.dropMysqlStages(sql)
    const guard = StatementGuard.mysql(
      sql,
      yield* StatementGuard.mysqlFlavor(sql).pipe(Effect.mapError(sinkError("mysql", "version")))
    )
    const ops: SqlSink.SqlOps<unknown> = {
      transaction: (effect, bounds) => guard.transaction(effect, bounds),
      upsert: (feed, rows, date) =>
        Effect.gen(function* () {
          const step = mysqlRowsPerStatement(feed)
          for (let i = 0; i < rows.length; i += step) {
            const part = rows.slice(i, i + step)
            yield* sql.unsafe(mysqlUpsert(feed, part.length), mysqlParams(feed, part, date))
          }
        }),
      deleteDate: (feed, date) => sql.unsafe(deleteDate("mysql", TABLES[feed]), [date]).pipe(Effect.asVoid),
      readCheckpoint: (feed, date) =>
        sql
          .unsafe<{ rows: number | string; total: number | string; fingerprint: string }>(
            `SELECT \`rows\`, \`total\`, \`fingerprint\` FROM \`${CHECKPOINTS}\` WHERE \`feed\` = ? AND \`date\` = ?`,
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
            `INSERT INTO \`${CHECKPOINTS}\` (\`feed\`, \`date\`, \`rows\`, \`total\`, \`fingerprint\`, \`loaded_at\`) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3)) ` +
              `ON DUPLICATE KEY UPDATE \`rows\` = VALUES(\`rows\`), \`total\` = VALUES(\`total\`), \`fingerprint\` = VALUES(\`fingerprint\`), \`loaded_at\` = VALUES(\`loaded_at\`)`,
            [feed, date, cp.rows, cp.total, cp.fingerprint]
          )
          .pipe(Effect.asVoid),
      consolidate: consolidate(sql),
      countDate: (table, date) =>
        sql
          .unsafe<{ n: number | string }>(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE \`date\` = ?`, [date])
          .pipe(Effect.map(([r]) => Number(r!.n)))
    }
    const sink: Sink = SqlSink.make(
      ops,
      {
        name: "mysql",
        batchRows: options.batchRows,
        newsWindowMs: options.newsWindowMinutes * 60_000,
        barSpanMs: options.barSpanMs,
        tickers: options.tickers,
        ...SqlSink.timeouts(options)
      },
      {
        reader,
        metrics: SinkMetrics.make("mysql", options.commitSlaS * 1000, alerts),
        throttle: yield* Throttle.make(options.maxInFlight, options.maxRowsPerSecond)
      }
    )
    return sink
  }).pipe(Effect.annotateLogs({ service: "MysqlSink" }))
