/**
 * Shared test support for the sink tests: real servers (no mocks), a private schema (PostgreSQL) or
 * database (MariaDB/MySQL) per test file, and a lake written with the real ParquetWriter.
 * Servers: DATABASE_URL / MYSQL_URL, else the local defaults. Unreachable → the suite FAILS under
 * CI (process.env.CI), else it is skipped with a hint (`source .ci/services.sh`).
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type Feed, type Row, SCHEMAS } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { consolidatedColumns } from "../../../src/sql/tables.js"

export const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/spy_test"
export const MYSQL_URL = process.env["MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306/spy_test"
const HINT = "start them with `source .ci/services.sh` (or set DATABASE_URL / MYSQL_URL)"

const withDb = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

const timeout = <A>(p: Promise<A>, ms: number) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("timeout")), ms))])

/** A PostgreSQL URL whose connections use a fresh schema `prefix` in the test database (created if needed). */
export const preparePg = async (prefix: string, ownDatabase = false): Promise<string | undefined> => {
  const base = new URL(PG_URL).pathname.slice(1) || "spy_test"
  const db = ownDatabase ? `${base}_${prefix}` : base
  const run = (url: string, statements: ReadonlyArray<string>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* PgClient.PgClient
        for (const s of statements) yield* sql.unsafe(s)
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), connectTimeout: "3 seconds" })), Effect.scoped)
    )
  try {
    const exists = await timeout(
      Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          return (yield* sql.unsafe(`SELECT 1 FROM pg_database WHERE datname = $1`, [db])).length > 0
        }).pipe(
          Effect.provide(
            PgClient.layer({ url: Redacted.make(withDb(PG_URL, "postgres")), connectTimeout: "3 seconds" })
          )
        )
      ),
      8000
    )
    if (!exists) await run(withDb(PG_URL, "postgres"), [`CREATE DATABASE "${db}"`]).catch(() => undefined)
    await run(withDb(PG_URL, db), [`DROP SCHEMA IF EXISTS ${prefix} CASCADE`, `CREATE SCHEMA ${prefix}`])
    const u = new URL(withDb(PG_URL, db))
    u.searchParams.set("options", `-c search_path=${prefix}`)
    return u.toString()
  } catch (e) {
    if (process.env["CI"]) throw new Error(`PostgreSQL at ${PG_URL} unreachable under CI: ${String(e)}`)
    console.warn(`skipping PostgreSQL sink tests: ${PG_URL} unreachable (${String(e)}); ${HINT}`)
    return undefined
  }
}

/** A MySQL URL of a fresh database `spy_test_<prefix>`. */
export const prepareMysql = async (prefix: string): Promise<string | undefined> => {
  const db = `${new URL(MYSQL_URL).pathname.slice(1) || "spy_test"}_${prefix}`
  try {
    await timeout(
      Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* MysqlClient.MysqlClient
          yield* sql.unsafe(`DROP DATABASE IF EXISTS \`${db}\``)
          yield* sql.unsafe(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
        }).pipe(Effect.provide(MysqlClient.layer({ url: Redacted.make(withDb(MYSQL_URL, "")) })), Effect.scoped)
      ),
      8000
    )
    return withDb(MYSQL_URL, db)
  } catch (e) {
    if (process.env["CI"]) throw new Error(`MySQL at ${MYSQL_URL} unreachable under CI: ${String(e)}`)
    console.warn(`skipping MySQL sink tests: ${MYSQL_URL} unreachable (${String(e)}); ${HINT}`)
    return undefined
  }
}

export const tempRoot = () => fs.mkdtemp(path.join(os.tmpdir(), "sinks-"))

const writerLayer = ParquetWriter.layer.pipe(Layer.provide(DuckDb.layer()))

/** Write `rows` as one Parquet file `name` in the (feed, date) partition of the lake at `root`. */
export const writeLake = (root: string, feed: Feed, date: string, name: string, rows: ReadonlyArray<Row>) =>
  Effect.runPromise(
    Effect.flatMap(ParquetWriter.ParquetWriter, (w) =>
      w.write(SCHEMAS[feed], rows, path.join(lakePaths(root).partitionDir(feed, date), name))
    ).pipe(Effect.provide(writerLayer))
  )

/** Latest received version per key, as the sinks must hold it. */
export const dedupe = (feed: Feed, rows: ReadonlyArray<Row>): Map<string, Row> => {
  const out = new Map<string, Row>()
  for (const r of rows) {
    const k = SCHEMAS[feed].key.map((c) => String(r[c])).join("|")
    const prev = out.get(k)
    if (!prev || Number(r["received_at_ms"]) >= Number(prev["received_at_ms"])) out.set(k, r)
  }
  return out
}

/** Normalize a DB value for comparison: bigint/numeric strings → number, doubles rounded to 1e-9, 0/1 booleans. */
export const norm = (type: string, v: unknown): unknown => {
  if (v === null || v === undefined) return null
  if (type === "BOOLEAN") return v === true || v === 1 || v === "1" || v === 1n
  if (type === "BIGINT") return Number(v)
  if (type === "DOUBLE") return Math.round(Number(v) * 1e9) / 1e9
  if (type === "TIMESTAMP") return v instanceof Date ? v.getTime() : String(v)
  return String(v)
}

// == running sinks and reading engines back

import { NodeContext } from "@effect/platform-node"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as Sinks from "../../../src/layers/Sinks.js"
import { SinkRouter } from "../../../src/services/sinks/SinkRouter.js"

export interface TestSinks {
  readonly root: string
  readonly pg?: string | undefined
  readonly mysql?: string | undefined
  readonly batchRows?: number
  /** More settings (YAML shape), e.g. `{ tickers: { underlying: "QQQ" } }`. */
  readonly overrides?: Record<string, unknown>
}

export const settingsLayer = (t: TestSinks) =>
  AppSettings.layer({
    ignoreEnv: true,
    overrides: {
      storage: { root: t.root },
      sinks: {
        enabled: ["duckdb", ...(t.pg ? ["postgres"] : []), ...(t.mysql ? ["mysql"] : [])],
        // these tests are about loaded copies (upserts against stale lake files, batches, overwrite);
        // the default, views over the lake, is covered by test/services/sinks/lakeViews.test.ts
        duckdb: { storage: "tables", batch_rows: t.batchRows ?? 500 },
        postgres: { url: t.pg ?? "", batch_rows: t.batchRows ?? 500 },
        mysql: { url: t.mysql ?? "", batch_rows: t.batchRows ?? 500 }
      },
      ...t.overrides
    }
  }).pipe(Layer.provide(NodeContext.layer), Layer.orDie)

/** Run `f` with a freshly built router (every connection closed afterwards, so DuckDB's file is free). */
export const withRouter = <A, E>(
  t: TestSinks,
  f: (router: import("../../../src/services/sinks/SinkRouter.js").SinkRouterService) => Effect.Effect<A, E>
) =>
  Effect.runPromise(
    Effect.flatMap(SinkRouter, f).pipe(Effect.provide(Sinks.layer.pipe(Layer.provide(settingsLayer(t)))))
  )

export const queryDuck = async <A = Record<string, unknown>>(root: string, sql: string): Promise<Array<A>> =>
  Effect.runPromise(
    Effect.flatMap(DuckDb.make(lakePaths(root).warehouse), (db) => db.query<A>(sql)).pipe(Effect.scoped)
  ) as Promise<Array<A>>

export const queryPg = <A extends object = Record<string, unknown>>(
  url: string,
  sql: string,
  params: ReadonlyArray<unknown> = []
): Promise<Array<A>> =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (c) => c.unsafe<A>(sql, params as Array<unknown>)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url) }))
    )
  ) as Promise<Array<A>>

export const queryMysql = <A extends object = Record<string, unknown>>(
  url: string,
  sql: string,
  params: ReadonlyArray<unknown> = []
): Promise<Array<A>> =>
  Effect.runPromise(
    Effect.flatMap(MysqlClient.MysqlClient, (c) => c.unsafe<A>(sql, params as Array<unknown>)).pipe(
      Effect.provide(MysqlClient.layer({ url: Redacted.make(url) }))
    )
  ) as Promise<Array<A>>

/** The option bars of `date` in every engine of `t` (DuckDB always; PostgreSQL and MySQL when up), each through `shape`. */
export const optionBarsPerEngine = async <A>(
  t: TestSinks,
  date: string,
  columns: string,
  shape: (rows: ReadonlyArray<Record<string, unknown>>) => A
) => {
  const q = `SELECT ${columns} FROM option_bars WHERE `
  const out: Record<string, A> = { duckdb: shape(await queryDuck(t.root, `${q} "date" = '${date}'`)) }
  if (t.pg) out["postgres"] = shape(await queryPg(t.pg, `${q} "date" = $1`, [date]))
  if (t.mysql) out["mysql"] = shape(await queryMysql(t.mysql, `${q} \`date\` = ?`, [date]))
  return out
}

export const writeDays = async (
  root: string,
  days: ReadonlyArray<{
    date: string
    files: Readonly<Record<Feed, ReadonlyArray<readonly [string, ReadonlyArray<Row>]>>>
  }>
) => {
  for (const day of days)
    for (const feed of Object.keys(day.files) as Array<Feed>)
      for (const [name, rows] of day.files[feed]) await writeLake(root, feed, day.date, name, rows)
}

/** The consolidated view's rows (timestamps left out), normalized per column type and sorted by key, for exact comparison. */
export const normalizeView = (rows: ReadonlyArray<Record<string, unknown>>) => {
  const cols = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")
  return rows
    .map((r) => Object.fromEntries(cols.map((c) => [c.name, norm(c.type, r[c.name])])))
    .sort((a, b) =>
      String(a["ticker"]) < String(b["ticker"])
        ? -1
        : String(a["ticker"]) > String(b["ticker"])
          ? 1
          : Number(a["window_start_ms"]) - Number(b["window_start_ms"])
    )
}
