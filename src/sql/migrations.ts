/**
 * Versioned warehouse migrations. Each migration has a version, a name and the statements it runs
 * per dialect; a sink applies, in order, every migration whose version its `schema_migrations`
 * table does not list, and records each one. Statements are idempotent (`IF NOT EXISTS`, and for
 * MySQL indexes "duplicate key name" is accepted), so a database created before versioning, or two
 * processes starting at once, converge on the same schema. A database that lists a version this
 * build does not know was migrated by a newer build: the sink refuses to start rather than write
 * into a schema it does not understand.
 *
 * To change the schema: append a migration with the next version; never edit a released one.
 */
import {
  CONSOLIDATED,
  type Dialect,
  createIndex,
  createTable,
  ddl,
  indexesFor,
  quote,
  type SinkColumn
} from "./tables.js"

export interface Versioned {
  readonly version: number
  readonly name: string
}

export interface Migration extends Versioned {
  readonly statements: (dialect: Dialect) => ReadonlyArray<string>
}

export const MIGRATIONS_TABLE = "schema_migrations"

export const MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "feed tables, options_consolidated, sink_checkpoints, lookup indexes",
    statements: (dialect) => [...ddl(dialect), ...indexesFor(dialect).map((i) => createIndex(dialect, i))]
  },
  {
    // PostgreSQL: the (date, ticker, window_start_ms) index repeated the primary key (ticker,
    // window_start_ms) after the date and cost ~40% of inserting a day's consolidated rows; the
    // date alone serves the per-date delete and reads (btree deduplication keeps it small). InnoDB
    // secondary indexes carry the primary key anyway: nothing to gain in MySQL; DuckDB: a view.
    version: 2,
    name: "options_consolidated: index on date alone (PostgreSQL)",
    statements: (dialect) =>
      dialect === "postgres"
        ? [
            createIndex(dialect, ["options_consolidated_day", CONSOLIDATED, ["date"]]),
            `DROP INDEX IF EXISTS ${quote(dialect, "options_consolidated_date")}`
          ]
        : []
  }
]

export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version))

const migrationColumns: ReadonlyArray<SinkColumn> = [
  { name: "version", type: "BIGINT" },
  { name: "name", type: "VARCHAR" },
  { name: "applied_at", type: "TIMESTAMP" }
]

export const createMigrationsTable = (dialect: Dialect): string =>
  createTable(dialect, MIGRATIONS_TABLE, migrationColumns, ["version"])

export const selectVersions = (dialect: Dialect): string =>
  `SELECT ${quote(dialect, "version")} AS v FROM ${quote(dialect, MIGRATIONS_TABLE)}`

/** Records a migration; a row written meanwhile by a concurrent starter is kept. */
export const recordMigration = (
  dialect: Dialect,
  m: Versioned
): { readonly sql: string; readonly params: ReadonlyArray<unknown> } => {
  const t = quote(dialect, MIGRATIONS_TABLE)
  const cols = `(${["version", "name", "applied_at"].map((c) => quote(dialect, c)).join(", ")})`
  switch (dialect) {
    case "postgres":
      return {
        sql: `INSERT INTO ${t} ${cols} VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`,
        params: [m.version, m.name]
      }
    case "mysql":
      return { sql: `INSERT IGNORE INTO ${t} ${cols} VALUES (?, ?, NOW(3))`, params: [m.version, m.name] }
    case "duckdb": // no bound parameters in the DuckDb service: both values are this file's own constants
      return {
        sql: `INSERT INTO ${t} ${cols} VALUES (${Math.trunc(m.version)}, '${m.name.replaceAll("'", "''")}', now()) ON CONFLICT DO NOTHING`,
        params: []
      }
  }
}

/** The SQL that keeps `schema_migrations` in one engine. */
export interface MigrationBookkeeping {
  readonly createTable: string
  readonly selectVersions: string
  readonly record: (m: Versioned) => { readonly sql: string; readonly params: ReadonlyArray<unknown> }
}

export const bookkeepingFor = (dialect: Dialect): MigrationBookkeeping => ({
  createTable: createMigrationsTable(dialect),
  selectVersions: selectVersions(dialect),
  record: (m) => recordMigration(dialect, m)
})

export type MigrationPlan<M extends Versioned = Migration> =
  | { readonly _tag: "Apply"; readonly pending: ReadonlyArray<M> }
  | { readonly _tag: "TooNew"; readonly unknown: ReadonlyArray<number> }

/** What to run given the versions a database lists. */
export const plan = <M extends Versioned = Migration>(
  applied: ReadonlyArray<number>,
  migrations: ReadonlyArray<M> = MIGRATIONS as unknown as ReadonlyArray<M>
): MigrationPlan<M> => {
  const known = new Set(migrations.map((m) => m.version))
  const unknown = applied.filter((v) => !known.has(v)).sort((a, b) => a - b)
  if (unknown.length > 0) return { _tag: "TooNew", unknown }
  const done = new Set(applied)
  return {
    _tag: "Apply",
    pending: [...migrations].filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version)
  }
}
