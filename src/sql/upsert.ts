/**
 * Load statements per engine: idempotent upserts where the latest received version of a key wins,
 * also against a row already stored (an older version arriving later never overwrites a newer one).
 * PostgreSQL and MySQL take every value as a bound parameter; DuckDB's load is src/sql/duckdbMerge.ts.
 */
import { type Feed, type Row, SCHEMAS } from "../domain/feeds.js"
import { assertDate } from "../domain/paths.js"
import { type Dialect, quote, sinkColumns, TABLES } from "./tables.js"

const lakeColumns = (feed: Feed) => SCHEMAS[feed].columns
const updatable = (feed: Feed) =>
  sinkColumns(feed).filter((c) => !SCHEMAS[feed].key.includes(c.name) && c.name !== "received_at_ms")

/** PostgreSQL: one statement per batch; `$1..$n` = one array per lake column, `$n+1` = date. */
export const postgresUpsert = (feed: Feed): string => {
  const q = (id: string) => quote("postgres", id)
  const cols = lakeColumns(feed)
  const arrayType = {
    BIGINT: "bigint[]",
    DOUBLE: "double precision[]",
    VARCHAR: "text[]",
    BOOLEAN: "boolean[]"
  } as const
  const values = sinkColumns(feed).map((c) =>
    c.type === "TIMESTAMP"
      ? `timestamptz 'epoch' + u.${q(c.fromMs!)} * interval '1 millisecond'`
      : c.type === "DATE"
        ? `$${cols.length + 1}::text`
        : `u.${q(c.name)}`
  )
  const set = [...updatable(feed), { name: "received_at_ms" }].map((c) => `${q(c.name)} = excluded.${q(c.name)}`)
  return (
    `INSERT INTO ${q(TABLES[feed])} AS t (${sinkColumns(feed)
      .map((c) => q(c.name))
      .join(", ")}) ` +
    `SELECT ${values.join(", ")} FROM unnest(${cols.map((c, i) => `$${i + 1}::${arrayType[c.type]}`).join(", ")}) AS u(${cols.map((c) => q(c.name)).join(", ")}) ` +
    `ON CONFLICT (${SCHEMAS[feed].key.map(q).join(", ")}) DO UPDATE SET ${set.join(", ")} WHERE excluded."received_at_ms" >= t."received_at_ms"`
  )
}

/** The PostgreSQL parameters for `postgresUpsert`: column arrays, then the date. */
export const postgresParams = (feed: Feed, rows: ReadonlyArray<Row>, date: string): ReadonlyArray<unknown> => [
  ...lakeColumns(feed).map((c) => rows.map((r) => r[c.name] ?? null)),
  assertDate(date)
]

/**
 * MySQL/MariaDB: `INSERT … VALUES (…), … ON DUPLICATE KEY UPDATE col = IF(newer, VALUES(col), col)`.
 * Assignments run left to right, so `received_at_ms` is assigned last. Parameters per row: the lake
 * columns (timestamp sources twice), then the date.
 */
export const mysqlUpsert = (feed: Feed, rowCount: number): string => {
  const q = (id: string) => quote("mysql", id)
  const placeholders = sinkColumns(feed).map((c) =>
    c.type === "TIMESTAMP" ? "TIMESTAMPADD(MICROSECOND, CAST(? AS SIGNED) * 1000, '1970-01-01 00:00:00')" : "?"
  )
  const tuple = `(${placeholders.join(", ")})`
  const newer = `VALUES(${q("received_at_ms")}) >= ${q("received_at_ms")}`
  const set = [...updatable(feed), { name: "received_at_ms" }].map(
    (c) => `${q(c.name)} = IF(${newer}, VALUES(${q(c.name)}), ${q(c.name)})`
  )
  return (
    `INSERT INTO ${q(TABLES[feed])} (${sinkColumns(feed)
      .map((c) => q(c.name))
      .join(", ")}) VALUES ` +
    Array.from({ length: rowCount }, () => tuple).join(", ") +
    ` ON DUPLICATE KEY UPDATE ${set.join(", ")}`
  )
}

export const mysqlParams = (feed: Feed, rows: ReadonlyArray<Row>, date: string): Array<unknown> => {
  const cols = sinkColumns(feed)
  const d = assertDate(date)
  const out: Array<unknown> = []
  for (const r of rows)
    for (const c of cols) {
      const v = c.type === "DATE" ? d : (r[c.fromMs ?? c.name] ?? null)
      out.push(typeof v === "boolean" ? (v ? 1 : 0) : v)
    }
  return out
}

/** Rows per MySQL statement so that one statement stays under the 65 535 placeholder limit. */
export const mysqlRowsPerStatement = (feed: Feed): number => Math.max(1, Math.floor(60_000 / sinkColumns(feed).length))

export const deleteDate = (dialect: Dialect, table: string): string =>
  `DELETE FROM ${quote(dialect, table)} WHERE ${quote(dialect, "date")} = ${dialect === "postgres" ? "$1" : "?"}`
