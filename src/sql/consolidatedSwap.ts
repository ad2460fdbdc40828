/**
 * PostgreSQL and MySQL/MariaDB `options_consolidated` is partitioned by date (LIST, one partition
 * per date; migration 3 in ./migrations.ts), and a date is rebuilt by a swap instead of DELETE +
 * INSERT: the date's rows are inserted into a fresh staging table without secondary indexes, its
 * primary key is built after the bulk insert (PostgreSQL) or filled in key order (InnoDB), and the
 * staging table then replaces the date's partition in one atomic step:
 * - PostgreSQL: in the consolidation's one transaction: DROP the old partition, ATTACH the staging
 *   table (its CHECK (date = D), created with it, lets ATTACH skip the validation scan), rename it.
 *   The staging table exists only inside that transaction: a stopped or killed run leaves nothing.
 * - MySQL/MariaDB: `ALTER TABLE … EXCHANGE PARTITION p<D> WITH TABLE <staging>` (the server checks
 *   every row of the staging table belongs to the partition: MariaDB 10.11 has no WITHOUT
 *   VALIDATION), then DROP the staging table, which holds the old rows. DDL commits implicitly, so
 *   the staging table is visible: it carries the session tag as its COMMENT and a name of its own
 *   (`options_consolidated_stage_<yyyymmdd>_<pid>_<n>`), is dropped after a failed or stopped
 *   attempt, and a killed run's is dropped at the next start (orphans.ts). A date with no
 *   partition yet (a first build) gets one, and its rows go straight into it: nothing to swap out,
 *   and no validation scan of 2.34 M rows.
 * Readers see the date's old rows until the swap, then the new ones; never none, never both.
 */
import { assertDate } from "../domain/paths.js"
import { CONSOLIDATED, consolidatedColumns, createTable, type Dialect, quote, sqlType } from "./tables.js"

/** The primary key of the partitioned table: every unique key must hold the partitioning column. */
export const PARTITIONED_KEY = ["ticker", "window_start_ms", "date"] as const

export const STAGE_PREFIX = `${CONSOLIDATED}_stage_`

const compact = (date: string) => assertDate(date).replaceAll("-", "")

/** PostgreSQL: the partition table of a date (after the swap). MySQL: the partition's name. */
export const partitionName = (dialect: "postgres" | "mysql", date: string): string =>
  dialect === "postgres" ? `${CONSOLIDATED}_p${compact(date)}` : `p${compact(date)}`

/** MySQL: the partition every LIST-partitioned table needs at least one of; holds no date. */
export const MYSQL_PLACEHOLDER = "0000-00-00"

let counter = 0
/** A staging table name unique in this process (pid) and call (counter); ≤ 64 characters. */
export const stageName = (date: string, pid: number = process.pid): string =>
  `${STAGE_PREFIX}${compact(date)}_${pid}_${++counter}`

/** The columns of `options_consolidated` with the key columns NOT NULL, optionally a PRIMARY KEY and a CHECK. */
const columnsDdl = (dialect: Dialect, extra: ReadonlyArray<string>) =>
  [
    ...consolidatedColumns.map((c) => {
      const key = (PARTITIONED_KEY as ReadonlyArray<string>).includes(c.name)
      return `${quote(dialect, c.name)} ${sqlType(dialect, c.type, key)}${key ? " NOT NULL" : ""}`
    }),
    ...extra
  ].join(", ")

/** The partitioned table (migration 3); MySQL with its placeholder partition plus `dates`' partitions. */
export const createPartitioned = (dialect: "postgres" | "mysql", table: string, dates: ReadonlyArray<string> = []) =>
  dialect === "postgres"
    ? `${createTable("postgres", table, consolidatedColumns, PARTITIONED_KEY)} PARTITION BY LIST ("date")`
    : `${createTable("mysql", table, consolidatedColumns, PARTITIONED_KEY)} ${mysqlPartitions(dates)}`

/** MySQL `PARTITION BY` clause: the placeholder, then one partition per date. */
export const mysqlPartitions = (dates: ReadonlyArray<string>): string =>
  `PARTITION BY LIST COLUMNS(\`date\`) (${[MYSQL_PLACEHOLDER, ...dates]
    .map((d) => `PARTITION ${d === MYSQL_PLACEHOLDER ? "p00000000" : partitionName("mysql", d)} VALUES IN ('${d}')`)
    .join(", ")})`

// == PostgreSQL

/** The staging table: no index yet; CHECK (date = D) so that ATTACH needs no validation scan. */
export const pgCreateStage = (stage: string, date: string): string =>
  `CREATE TABLE "${stage}" (${columnsDdl("postgres", [`CONSTRAINT "${stage}_date" CHECK ("date" = '${assertDate(date)}')`])})`

/** Its primary key, built once the rows are in (a sort, instead of 2.34 M index insertions). */
export const pgStageKey = (stage: string): string =>
  `ALTER TABLE "${stage}" ADD CONSTRAINT "${stage}_pkey" PRIMARY KEY (${PARTITIONED_KEY.map((c) => `"${c}"`).join(", ")})`

/** Serializes swaps of the same date across sessions (transaction-scoped). $1 = date. */
export const pgSwapLock = `SELECT pg_advisory_xact_lock(hashtext('${CONSOLIDATED}:' || $1::text))`

/** The partitions currently holding the date (0 or 1), by their bound. $1 = date. */
export const pgPartitionsOf = `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = '"${CONSOLIDATED}"'::regclass AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (''' || $1::text || ''')'`

/** The swap: drop the old partition (if any), attach the staging table, give it the partition's names. */
export const pgSwap = (stage: string, date: string, old: ReadonlyArray<string>): ReadonlyArray<string> => {
  const part = partitionName("postgres", date)
  return [
    ...old.map((o) => `DROP TABLE "${o.replaceAll('"', '""')}"`),
    `ALTER TABLE "${CONSOLIDATED}" ATTACH PARTITION "${stage}" FOR VALUES IN ('${assertDate(date)}')`,
    `ALTER TABLE "${stage}" RENAME TO "${part}"`,
    `ALTER INDEX "${stage}_pkey" RENAME TO "${part}_pkey"`
  ]
}

// == MySQL / MariaDB

/** The staging table: the partitioned table's columns and primary key, unpartitioned, tagged. */
export const mysqlCreateStage = (stage: string, tag: string): string =>
  `CREATE TABLE \`${stage}\` (${columnsDdl("mysql", [`PRIMARY KEY (${PARTITIONED_KEY.map((c) => `\`${c}\``).join(", ")})`])}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='${tag.replaceAll("'", "''")}'`

/** 1 when the date's partition exists. ? = partition name. */
export const mysqlHasPartition = `SELECT COUNT(*) AS n FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${CONSOLIDATED}' AND PARTITION_NAME = ?`

export const mysqlAddPartition = (date: string): string =>
  `ALTER TABLE \`${CONSOLIDATED}\` ADD PARTITION (PARTITION ${partitionName("mysql", date)} VALUES IN ('${assertDate(date)}'))`

export const mysqlExchange = (stage: string, date: string): string =>
  `ALTER TABLE \`${CONSOLIDATED}\` EXCHANGE PARTITION ${partitionName("mysql", date)} WITH TABLE \`${stage}\``

export const mysqlDropStage = (stages: ReadonlyArray<string>): string =>
  `DROP TABLE IF EXISTS ${stages.map((s) => `\`${s}\``).join(", ")}`

/** The staging tables in this database and the tag each one carries. */
export const mysqlListStages = `SELECT TABLE_NAME AS name, TABLE_COMMENT AS tag FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '${STAGE_PREFIX.replaceAll("_", "\\_")}%'`

/** MySQL "Duplicate partition name" (a concurrent consolidation of the same new date added it first). */
export const duplicatePartition = (e: unknown): boolean =>
  String((e as { cause?: { errno?: number } }).cause?.errno) === "1517"
