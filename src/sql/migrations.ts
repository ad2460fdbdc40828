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
import { mysqlViewDerived, viewStatements } from "./migrationView.js"
import { createPartitioned, mysqlPartitions, PARTITIONED_KEY } from "./consolidatedPartitioned.js"
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
  /** Statements that depend on what the database holds, run after `statements`: `query`'s rows → statements. */
  readonly derived?: (dialect: Dialect) => Derived | undefined
}

export interface Derived {
  readonly query: string
  readonly statements: (rows: ReadonlyArray<Record<string, unknown>>) => ReadonlyArray<string>
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
  },
  {
    // A date is rebuilt by swapping a freshly built table in for its partition (./consolidatedPartitioned.ts)
    // instead of DELETE + INSERT through the indexes; the key gains `date` (a partitioned table's
    // unique keys must hold it) and the date index goes (partition pruning replaces it).
    version: 3,
    name: "options_consolidated: partitioned by date (PostgreSQL, MySQL)",
    statements: (dialect) => (dialect === "postgres" ? [pgPartition] : []),
    derived: (dialect) => (dialect === "mysql" ? mysqlPartition : undefined)
  },
  {
    // The consolidated rows repeated, per option bar, values that depend only on the second and the
    // contract: a day was ~2.34 M wide rows, 10–17 s to write. They are now stored once per second
    // and once per contract, and the view joins them to the bars (./consolidatedView.ts).
    version: 4,
    name: "options_consolidated: a view over per-second and per-contract rows (PostgreSQL, MySQL)",
    statements: (dialect) => (dialect === "duckdb" ? [] : viewStatements(dialect)),
    derived: (dialect) => (dialect === "mysql" ? mysqlViewDerived : undefined)
  }
]

/** PostgreSQL, in the migrations' transaction: a new partitioned table, one partition per stored date, the rows moved. */
const pgPartition = `DO $migration$
DECLARE d text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('"${CONSOLIDATED}"')) THEN RETURN; END IF;
  ALTER TABLE "${CONSOLIDATED}" RENAME TO "${CONSOLIDATED}_unpartitioned";
  ALTER INDEX IF EXISTS "${CONSOLIDATED}_pkey" RENAME TO "${CONSOLIDATED}_unpartitioned_pkey";
  ${createPartitioned("postgres", CONSOLIDATED)};
  FOR d IN SELECT DISTINCT "date" FROM "${CONSOLIDATED}_unpartitioned" WHERE "date" IS NOT NULL ORDER BY 1 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "${CONSOLIDATED}" FOR VALUES IN (%L)', '${CONSOLIDATED}_p' || replace(d, '-', ''), d);
  END LOOP;
  INSERT INTO "${CONSOLIDATED}" SELECT * FROM "${CONSOLIDATED}_unpartitioned" WHERE "date" IS NOT NULL;
  DROP TABLE "${CONSOLIDATED}_unpartitioned";
END $migration$`

/** MySQL: one ALTER (atomic) naming a partition per stored date; nothing when already partitioned. */
const mysqlPartition: Derived = {
  query: `SELECT 'partitioned' AS k, NULL AS d FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${CONSOLIDATED}' AND PARTITION_NAME IS NOT NULL
UNION ALL SELECT DISTINCT 'date', \`date\` FROM \`${CONSOLIDATED}\` WHERE \`date\` IS NOT NULL`,
  statements: (rows) =>
    rows.some((r) => r["k"] === "partitioned")
      ? []
      : [
          `DELETE FROM \`${CONSOLIDATED}\` WHERE \`date\` IS NULL`,
          `ALTER TABLE \`${CONSOLIDATED}\` MODIFY \`date\` VARCHAR(10) NOT NULL, DROP PRIMARY KEY, ` +
            `ADD PRIMARY KEY (${PARTITIONED_KEY.map((c) => `\`${c}\``).join(", ")}), DROP INDEX \`options_consolidated_date\` ` +
            mysqlPartitions(rows.map((r) => String(r["d"])).sort())
        ]
}

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
