/**
 * The date-partitioned `options_consolidated` TABLE of migration 3 (PostgreSQL and MySQL/MariaDB
 * LIST partitions, one per date), which builds of schema 3 rebuilt by swapping a staging table in
 * for a date's partition. Migration 4 replaced it by a view (./consolidatedView.ts); what is left
 * here is what released migrations and the cleanup of older builds need:
 * - migration 3's DDL (a released migration is never edited; a new database runs 1…4 in order);
 * - the staging tables (`options_consolidated_stage_<yyyymmdd>_<pid>_<n>`, tagged with the
 *   session in their COMMENT) a killed MySQL run of such a build may have left: dropped at start
 *   (src/services/sinks/orphans.ts).
 */
import { assertDate } from "../domain/paths.js"
import { CONSOLIDATED, consolidatedColumns, createTable } from "./tables.js"

/** The primary key of the partitioned table: every unique key must hold the partitioning column. */
export const PARTITIONED_KEY = ["ticker", "window_start_ms", "date"] as const

export const STAGE_PREFIX = `${CONSOLIDATED}_stage_`

const compact = (date: string) => assertDate(date).replaceAll("-", "")

/** PostgreSQL: the partition table of a date (after the swap). MySQL: the partition's name. */
export const partitionName = (dialect: "postgres" | "mysql", date: string): string =>
  dialect === "postgres" ? `${CONSOLIDATED}_p${compact(date)}` : `p${compact(date)}`

/** MySQL: the partition every LIST-partitioned table needs at least one of; holds no date. */
export const MYSQL_PLACEHOLDER = "0000-00-00"

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

export const mysqlDropStage = (stages: ReadonlyArray<string>): string =>
  `DROP TABLE IF EXISTS ${stages.map((s) => `\`${s}\``).join(", ")}`

/** The staging tables in this database and the tag each one carries. */
export const mysqlListStages = `SELECT TABLE_NAME AS name, TABLE_COMMENT AS tag FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '${STAGE_PREFIX.replaceAll("_", "\\_")}%'`
