/**
 * Migration 4 (PostgreSQL, MySQL/MariaDB): `options_consolidated` becomes a view over
 * `consolidated_seconds` and `consolidated_contracts` (./consolidatedView.ts). The rows of the
 * table it replaces are kept: each stored (date, ticker) gives its contract row and each stored
 * (date, underlying, second) its per-second row, so the view shows exactly the rows the table held.
 * The part of a migrated contract is its own `underlying` ('' for a non-OCC ticker): its per-second
 * rows are taken from its own rows, so the join reproduces them whichever underlying they held.
 * The next rebuild of a date replaces them with the configured parts.
 * Idempotent: run again after a crash, it only (re)creates the view.
 */
import {
  CONTRACTS,
  contractsColumns,
  createContracts,
  createSeconds,
  createView,
  SECONDS,
  secondsColumns
} from "./consolidatedView.js"
import { CONSOLIDATED, quote } from "./tables.js"

type SqlDialect = "postgres" | "mysql"

const part = "COALESCE(underlying, '')"

/** The old table's expression of each column of the two tables (news_ref_ms back from the age in seconds). */
const fromTable: Readonly<Record<string, string>> = {
  part,
  t: "window_start_ms",
  news_ref_ms: "ROUND(window_start_ms - latest_news_age_s * 1000)"
}

const copy = (dialect: SqlDialect, table: typeof SECONDS | typeof CONTRACTS) => {
  const q = (id: string) => quote(dialect, id)
  const columns = table === SECONDS ? secondsColumns : contractsColumns
  const select = columns.map((c) => fromTable[c.name] ?? q(c.name)).join(", ")
  const insert = `INSERT${dialect === "mysql" ? " IGNORE" : ""} INTO ${q(table)} (${columns.map((c) => q(c.name)).join(", ")})`
  return `${insert} SELECT ${select} FROM ${q(CONSOLIDATED)} WHERE ${q("date")} IS NOT NULL${dialect === "postgres" ? " ON CONFLICT DO NOTHING" : ""}`
}

/**
 * PostgreSQL, in the migrations' transaction: copy and drop the table (its partitions go with it)
 * when it is one. Not CASCADE: a view of the operator's over the table stops the migration with
 * PostgreSQL's dependency error instead of being dropped silently.
 */
const pgMove = `DO $migration$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('"${CONSOLIDATED}"') AND relkind IN ('r', 'p')) THEN
    ${copy("postgres", CONTRACTS)};
    ${copy("postgres", SECONDS)};
    DROP TABLE "${CONSOLIDATED}";
  END IF;
END $migration$`

export const viewStatements = (dialect: SqlDialect): ReadonlyArray<string> =>
  dialect === "postgres"
    ? [createSeconds(dialect), createContracts(dialect), pgMove, createView(dialect)]
    : [createSeconds(dialect), createContracts(dialect)]

/** MySQL (DDL commits implicitly): copy with INSERT IGNORE (a rerun after a crash adds nothing twice), drop, create the view. */
export const mysqlViewDerived = {
  query: `SELECT TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${CONSOLIDATED}'`,
  statements: (rows: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<string> => [
    ...(rows.some((r) => r["k"] === "BASE TABLE")
      ? [copy("mysql", CONTRACTS), copy("mysql", SECONDS), `DROP TABLE \`${CONSOLIDATED}\``]
      : []),
    createView("mysql")
  ]
}
