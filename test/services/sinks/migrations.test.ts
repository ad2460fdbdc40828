/**
 * Versioned migrations on the real engines: a fresh database gets every migration once and records
 * it; a second start applies nothing; a database created before versioning (tables and indexes
 * already there) is adopted; a later migration is applied alone and in order; a database that
 * lists a version this build does not know makes the sink refuse to start. Migration 3 keeps the
 * consolidated rows when it partitions the table; migration 4 keeps them when it turns the table
 * into a view over per-second and per-contract rows (the view then shows exactly the old rows).
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Either, Redacted } from "effect"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { migrate, type MigrationDriver } from "../../../src/services/sinks/migrate.js"
import { duplicateIndexName } from "../../../src/services/sinks/MysqlSink.js"
import { SinkError } from "../../../src/services/sinks/Sink.js"
import { CONTRACTS, SECONDS } from "../../../src/sql/consolidatedView.js"
import { LATEST_VERSION, MIGRATIONS, type Migration, plan } from "../../../src/sql/migrations.js"
import {
  CHECKPOINTS,
  CONSOLIDATED,
  createIndex,
  ddl,
  type Dialect,
  INDEXES,
  indexesFor,
  TABLES
} from "../../../src/sql/tables.js"
import { migratedRows } from "./migrationViewRows.js"
import { prepareMysql, preparePg, tempRoot } from "./support.js"

const pg = await preparePg("t_migrations")
const mysql = await prepareMysql("migrations")

type Runner = <A>(
  f: (driver: MigrationDriver<unknown>) => Effect.Effect<A, unknown>
) => Promise<Either.Either<A, unknown>>

const duckRunner = async (): Promise<Runner> => {
  const file = path.join(await tempRoot(), "warehouse.duckdb")
  return (f) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const db = yield* DuckDb.make(file)
        return yield* f({ sink: "duckdb", dialect: "duckdb", run: (s) => db.query<Record<string, unknown>>(s) })
      }).pipe(Effect.scoped, Effect.either)
    )
}
const pgRunner =
  (url: string): Runner =>
  (f) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* PgClient.PgClient
        return yield* f({
          sink: "postgres",
          dialect: "postgres",
          run: (s, p) => sql.unsafe<Record<string, unknown>>(s, p as Array<unknown>)
        })
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })), Effect.scoped, Effect.either)
    )
const mysqlRunner =
  (url: string): Runner =>
  (f) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* MysqlClient.MysqlClient
        return yield* f({
          sink: "mysql",
          dialect: "mysql",
          run: (s, p) => sql.unsafe<Record<string, unknown>>(s, p as Array<unknown>),
          alreadyExists: duplicateIndexName
        })
      }).pipe(Effect.provide(MysqlClient.layer({ url: Redacted.make(url) })), Effect.scoped, Effect.either)
    )

const listTables: Record<Dialect, string> = {
  duckdb: `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'main'`,
  postgres: `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()`,
  mysql: `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`
}
const expectedTables = (dialect: Dialect) =>
  [
    ...Object.values(TABLES),
    CHECKPOINTS,
    "schema_migrations",
    ...(dialect === "duckdb" ? [] : [CONSOLIDATED, SECONDS, CONTRACTS])
  ].sort()

/** Drop every object the migrations create (options_consolidated: a view or a table, whichever it is). */
const cleanAll = (dialect: Dialect) => (d: MigrationDriver<unknown>) => {
  const q = (id: string) => (dialect === "mysql" ? `\`${id}\`` : `"${id}"`)
  const cascade = dialect === "postgres" ? " CASCADE" : ""
  const statements = [
    `DROP VIEW IF EXISTS ${q(CONSOLIDATED)}`,
    ...[...expectedTables(dialect), "migration_probe"].map((t) => `DROP TABLE IF EXISTS ${q(t)}${cascade}`)
  ]
  return Effect.forEach(statements, (st) => d.run(st, []).pipe(Effect.ignore), { discard: true })
}

const withExtra: ReadonlyArray<Migration> = [
  ...MIGRATIONS,
  {
    version: LATEST_VERSION + 1,
    name: "test: an extra table",
    statements: () => ["CREATE TABLE IF NOT EXISTS migration_probe (x BIGINT)"]
  }
]

describe("migration plan", () => {
  it("applies what is missing, in version order, and refuses unknown versions", () => {
    const known = MIGRATIONS.map((m) => m.version)
    expect(known).toEqual([1, 2, 3, 4])
    expect(plan([], withExtra)).toEqual({ _tag: "Apply", pending: withExtra })
    expect(plan([1], withExtra)).toEqual({ _tag: "Apply", pending: withExtra.slice(1) })
    expect(plan(known, withExtra)).toEqual({ _tag: "Apply", pending: [withExtra.at(-1)] })
    expect(plan([...known, LATEST_VERSION + 1].reverse(), withExtra)).toEqual({ _tag: "Apply", pending: [] })
    expect(plan([1, 7, 5])).toEqual({ _tag: "TooNew", unknown: [5, 7] })
  })
})

const engines: Array<[Dialect, () => Promise<Runner> | Runner]> = [["duckdb", duckRunner]]
if (pg) engines.push(["postgres", () => pgRunner(pg)])
if (mysql) engines.push(["mysql", () => mysqlRunner(mysql)])

describe.each(engines)("migrations on %s", (dialect, makeRunner) => {
  it("fresh: every migration once, recorded; a second start applies nothing; a later one alone; a newer database refused", async () => {
    const run = await makeRunner()
    const versions = () => run((d) => d.run(`SELECT version AS v, name FROM schema_migrations ORDER BY version`, []))
    const tables = () =>
      run((d) => d.run(listTables[dialect], [])).then(Either.map((rows) => rows.map((r) => String(r["t"])).sort()))

    const all = MIGRATIONS.map((m) => m.version)
    expect(await run((d) => migrate(d))).toEqual(Either.right(all))
    expect(await tables()).toEqual(Either.right(expectedTables(dialect)))
    const recorded = Either.getOrThrow(await versions()).map((r) => [Number(r["v"]), r["name"]])
    expect(recorded).toEqual(MIGRATIONS.map((m) => [m.version, m.name]))
    if (dialect !== "duckdb") {
      // migration 4: options_consolidated is a view over the per-second and per-contract tables
      const kinds = await run((d) =>
        d.run(
          `SELECT table_name AS t, table_type AS k FROM information_schema.tables WHERE table_schema = ${dialect === "mysql" ? "DATABASE()" : "current_schema()"} AND table_name IN ('${CONSOLIDATED}', '${SECONDS}', '${CONTRACTS}') ORDER BY 1`,
          []
        )
      )
      expect(Either.getOrThrow(kinds).map((r) => [r["t"] ?? r["TABLE_NAME"], r["k"] ?? r["TABLE_TYPE"]])).toEqual([
        [CONTRACTS, "BASE TABLE"],
        [SECONDS, "BASE TABLE"],
        [CONSOLIDATED, "VIEW"]
      ])
    }

    expect(await run((d) => migrate(d))).toEqual(Either.right([]))
    expect(await run((d) => migrate(d, withExtra))).toEqual(Either.right([LATEST_VERSION + 1]))
    expect(Either.getOrThrow(await versions()).map((r) => Number(r["v"]))).toEqual([...all, LATEST_VERSION + 1])
    expect(Either.getOrThrow(await tables())).toContain("migration_probe")

    // this build knows up to LATEST_VERSION: the database (one more) was migrated by a newer build
    const refused = await run((d) => migrate(d))
    expect(Either.isLeft(refused)).toBe(true)
    const error = Either.getLeft(refused).pipe((o) => (o._tag === "Some" ? o.value : undefined)) as SinkError
    expect(error).toBeInstanceOf(SinkError)
    expect([error.sink, error.operation]).toEqual([dialect, "migrate"])
    expect(error.message).toContain(
      `schema version ${LATEST_VERSION + 1}, newer than this build knows (up to ${LATEST_VERSION})`
    )
  })
})

describe.each(engines)("migrations on %s, database created before versioning", (dialect, makeRunner) => {
  it("adopts the existing tables and indexes as version 1, then applies the later ones", async () => {
    const run = await makeRunner()
    // what every sink ran at start before migrations were versioned: the tables, then the indexes
    const legacy = [
      ...ddl(dialect),
      ...(dialect === "duckdb" ? indexesFor("duckdb") : INDEXES).map((i) => createIndex(dialect, i))
    ]
    await run(cleanAll(dialect))
    expect(Either.isRight(await run((d) => Effect.forEach(legacy, (s) => d.run(s, []))))).toBe(true)
    expect(await run((d) => migrate(d))).toEqual(Either.right(MIGRATIONS.map((m) => m.version)))
    expect(await run((d) => migrate(d))).toEqual(Either.right([]))
  })
})

describe.each(engines.filter(([d]) => d !== "duckdb"))(
  "migration 3 on %s, rows already stored",
  (dialect, makeRunner) => {
    it("partitions options_consolidated by date and keeps every row, one partition per stored date", async () => {
      const run = await makeRunner()
      const q = (id: string) => (dialect === "mysql" ? `\`${id}\`` : `"${id}"`)
      await run(cleanAll(dialect))
      expect(await run((d) => migrate(d, MIGRATIONS.slice(0, 2)))).toEqual(Either.right([1, 2]))
      const rows = [
        ["2025-10-28", "O:A", 1],
        ["2025-10-28", "O:B", 2],
        ["2025-10-29", "O:A", 3]
      ]
      const insert = `INSERT INTO ${q(CONSOLIDATED)} (${["date", "ticker", "window_start_ms"].map(q).join(", ")}) VALUES ${rows.map(([d, t, w]) => `('${d}', '${t}', ${w})`).join(", ")}`
      expect(Either.isRight(await run((d) => d.run(insert, [])))).toBe(true)
      expect(await run((d) => migrate(d, MIGRATIONS.slice(0, 3)))).toEqual(Either.right([3]))
      const stored = await run((d) =>
        d.run(
          `SELECT ${["date", "ticker", "window_start_ms"].map(q).join(", ")} FROM ${q(CONSOLIDATED)} ORDER BY 3`,
          []
        )
      )
      expect(Either.getOrThrow(stored).map((r) => [r["date"], r["ticker"], Number(r["window_start_ms"])])).toEqual(rows)
      const partitions = await run((d) =>
        d.run(
          dialect === "postgres"
            ? `SELECT c.relname AS p FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${CONSOLIDATED}'::regclass ORDER BY 1`
            : `SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${CONSOLIDATED}' ORDER BY 1`,
          []
        )
      )
      expect(Either.getOrThrow(partitions).map((r) => r["p"])).toEqual(
        dialect === "postgres"
          ? ["options_consolidated_p20251028", "options_consolidated_p20251029"]
          : ["p00000000", "p20251028", "p20251029"]
      )
      expect(await run((d) => migrate(d, MIGRATIONS.slice(0, 3)))).toEqual(Either.right([]))
    })
  }
)

describe.each(engines.filter(([d]) => d !== "duckdb"))(
  "migration 4 on %s, consolidated rows already stored",
  (dialect, makeRunner) => {
    it("the view shows exactly the rows the table held (and their option bars); a second start changes nothing", async () => {
      const run = await makeRunner()
      await run(cleanAll(dialect))
      expect(await run((d) => migrate(d, MIGRATIONS.slice(0, 3)))).toEqual(Either.right([1, 2, 3]))
      const { inserts, select, expected } = migratedRows(dialect as "postgres" | "mysql")
      for (const statement of inserts) expect(Either.isRight(await run((d) => d.run(statement, [])))).toBe(true)
      const before = Either.getOrThrow(await run((d) => d.run(select, [])))
      expect(before.map((r) => JSON.stringify(expected.normalize(r)))).toEqual(
        expected.rows.map((r) => JSON.stringify(r))
      )
      expect(await run((d) => migrate(d))).toEqual(Either.right([4]))
      const after = Either.getOrThrow(await run((d) => d.run(select, [])))
      expect(after.map((r) => JSON.stringify(expected.normalize(r)))).toEqual(
        expected.rows.map((r) => JSON.stringify(r))
      )
      expect(await run((d) => migrate(d))).toEqual(Either.right([]))
    })
  }
)
