/**
 * The MySQL 8 / MariaDB 10.11 sink. Uses its own client tag (`MysqlClient.MysqlClient`), runs the
 * versioned migrations at start (tables utf8mb4 with binary collation, so keys compare like
 * PostgreSQL "C" and DuckDB; idempotent statements, so concurrent starters converge), loads with multi-row `INSERT … ON DUPLICATE KEY UPDATE col =
 * IF(newer, VALUES(col), col)` (every value a bound parameter, statements split under the
 * placeholder limit). DATETIME(3) columns hold UTC. Consolidation: per-second lookups into
 * connection-scoped temporary tables, then one INSERT … SELECT (src/sql/consolidatedPerSecond.ts)
 * into a staging table swapped in for the date's partition (src/sql/consolidatedSwap.ts).
 */
import type { Tickers } from "../../domain/tickers.js"
import { MysqlClient } from "@effect/sql-mysql2"
import { Effect } from "effect"
import { mysqlBounds, mysqlDropTemp, mysqlSeconds, mysqlSteps } from "../../sql/consolidatedMysql.js"
import * as Swap from "../../sql/consolidatedSwap.js"
import { mysqlDropPartTemp, underlyingParts } from "../../sql/consolidatedUnderlyings.js"
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
 * Rebuild the date's consolidated rows by a swap (src/sql/consolidatedSwap.ts): the rows go into a
 * fresh staging table, which then replaces the date's partition (EXCHANGE PARTITION, atomic), and
 * is dropped holding the old rows (a date without a partition yet: straight into a new one). DDL commits implicitly: a failed attempt's staging table is
 * dropped by `dropStages` (the next attempt, and after the last one), a killed run's at the next
 * start (orphans.ts). Returns the rows.
 */
export const consolidate =
  (sql: MysqlClient.MysqlClient, stages: Stages = makeStages(), time: StepTimer = untimed) =>
  (date: string, windowMs: number, barSpanMs = 1000, tickers?: Tickers) =>
    Effect.gen(function* () {
      yield* dropStages(sql, stages) // earlier attempts', stopped on the server before this one began
      yield* sql.unsafe(mysqlDropTemp) // a failed earlier attempt on this connection may have left them
      const stage = Swap.stageName(date)
      return yield* Effect.ensuring(
        build(sql, stages, stage, date, windowMs, barSpanMs, tickers, time),
        Effect.sync(() => stages.active.delete(stage)) // no longer in use
      ).pipe(Effect.tap(() => dropStages(sql, stages)))
    })

/**
 * The date's partition is added first when missing (DDL, committed at once; a concurrent adder's
 * "duplicate partition" is fine). When THIS attempt added it, the partition is new and empty:
 * the rows go straight into it (one INSERT, atomic; no staging table, no EXCHANGE validation scan).
 * Otherwise they go into the staging table `stageName`, swapped in by EXCHANGE PARTITION.
 * Several underlyings: the steps run once per underlying (src/sql/consolidatedUnderlyings.ts), all
 * inserting into the same target in this one transaction.
 */
const build = (
  sql: MysqlClient.MysqlClient,
  stages: Stages,
  stageName: string,
  date: string,
  windowMs: number,
  barSpanMs: number,
  tickers: Tickers | undefined,
  time: StepTimer
) =>
  Effect.gen(function* () {
    const [p] = yield* sql.unsafe<{ n: number | string }>(Swap.mysqlHasPartition, [Swap.partitionName("mysql", date)])
    const added =
      Number(p?.n) === 0 &&
      (yield* sql.unsafe(Swap.mysqlAddPartition(date)).pipe(
        Effect.as(true),
        Effect.catchIf(Swap.duplicatePartition, () => Effect.succeed(false))
      ))
    const stage = added ? undefined : stageName
    if (stage !== undefined) {
      stages.created.add(stage)
      stages.active.add(stage)
      yield* sql.unsafe(Swap.mysqlCreateStage(stage, StatementGuard.sessionTag()))
    }
    // DDL (the partition, the staging table) ended the guard's transaction on the server: without a
    // new one, each underlying's INSERT into a new partition would commit on its own (half a date)
    yield* sql.unsafe("START TRANSACTION")
    const seconds = mysqlSeconds(date)
    yield* time("seconds", sql.unsafe(seconds.sql, [...seconds.params]))
    const [b] = yield* sql.unsafe<{ lo: number | string | null; hi: number | string | null }>(mysqlBounds)
    let rows = 0
    const parts = underlyingParts(tickers) // one per underlying (one with a single underlying), sharing cons_secs
    if (b?.lo !== null && b?.lo !== undefined && b.hi !== null)
      for (const [i, part] of parts.entries()) {
        if (i > 0) yield* sql.unsafe(mysqlDropPartTemp)
        const [lo, hi] = [Number(b.lo), Number(b.hi)]
        let last = 0
        const steps = mysqlSteps(date, windowMs, lo, hi, barSpanMs, part.tickers, stage, part.owns, part.insight)
        for (const step of steps) {
          const r = yield* time(step.label, sql.unsafe(step.sql, [...step.params]).raw)
          last = Number((r as { affectedRows?: unknown }).affectedRows ?? 0)
        }
        rows += last // the last step inserts the part's rows
      }
    yield* sql.unsafe(mysqlDropTemp)
    if (stage !== undefined) yield* time("exchange", sql.unsafe(Swap.mysqlExchange(stage, date)))
    return rows
  })

/** This process's staging tables: created and not yet dropped; in use by a running attempt. */
export interface Stages {
  readonly created: Set<string>
  readonly active: Set<string>
}
export const makeStages = (): Stages => ({ created: new Set(), active: new Set() })

/** Drop the staging tables this process created that no running attempt uses (and forget them). */
export const dropStages = (sql: MysqlClient.MysqlClient, stages: Stages) =>
  Effect.suspend(() => {
    const names = [...stages.created].filter((n) => !stages.active.has(n))
    return names.length === 0
      ? Effect.void
      : Effect.tap(sql.unsafe(Swap.mysqlDropStage(names)), () => names.forEach((n) => stages.created.delete(n)))
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
    const stages = makeStages()
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
      consolidate: consolidate(sql, stages),
      afterConsolidate: dropStages(sql, stages),
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
