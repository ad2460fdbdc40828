/**
 * Warehouse tables, generated from the lake schema (src/domain/feeds.ts). One table per feed with
 * the lake's columns, the derived timestamp columns and a `date` column (the lake partition's
 * trading date, `YYYY-MM-DD` as VARCHAR(10) in every engine). Primary key = the feed's key.
 * Identifiers come only from our schema; values never appear in generated SQL.
 */
import { type Column, type Feed, SCHEMAS } from "../domain/feeds.js"

export type Dialect = "duckdb" | "postgres" | "mysql"

export const TABLES: Readonly<Record<Feed, string>> = {
  spy: "spy_bars",
  options: "option_bars",
  vix: "vix_values",
  news: "news",
  contracts: "option_contracts"
}
export const FEEDS: ReadonlyArray<Feed> = ["spy", "options", "vix", "news", "contracts"]
export const CONSOLIDATED = "options_consolidated"
export const CHECKPOINTS = "sink_checkpoints"

export type SinkColumnType = Column["type"] | "TIMESTAMP" | "DATE"
export interface SinkColumn {
  readonly name: string
  readonly type: SinkColumnType
  /** For TIMESTAMP columns: the epoch-ms column it is derived from. */
  readonly fromMs?: string
}

/** The sink table's columns in order: lake columns (each `*_ms` followed by its timestamp), then `date`. */
export const sinkColumns = (feed: Feed): ReadonlyArray<SinkColumn> => {
  const schema = SCHEMAS[feed]
  return [
    ...schema.columns.flatMap((col): Array<SinkColumn> => {
      const ts = schema.timestamps.find(([ms]) => ms === col.name)
      return ts
        ? [
            { name: col.name, type: col.type },
            { name: ts[1], type: "TIMESTAMP", fromMs: col.name }
          ]
        : [{ name: col.name, type: col.type }]
    }),
    { name: "date", type: "DATE" }
  ]
}

export const quote = (dialect: Dialect, id: string): string => (dialect === "mysql" ? `\`${id}\`` : `"${id}"`)

export const sqlType = (dialect: Dialect, type: SinkColumnType, isKey: boolean): string => {
  switch (type) {
    case "BIGINT":
      return "BIGINT"
    case "DOUBLE":
      return dialect === "postgres" ? "DOUBLE PRECISION" : "DOUBLE"
    case "BOOLEAN":
      return "BOOLEAN"
    case "DATE":
      return dialect === "postgres" ? "VARCHAR(10)" : dialect === "mysql" ? "VARCHAR(10)" : "VARCHAR"
    case "TIMESTAMP":
      return dialect === "postgres" ? "TIMESTAMPTZ" : dialect === "mysql" ? "DATETIME(3)" : "TIMESTAMPTZ"
    case "VARCHAR":
      return dialect === "mysql" ? (isKey ? "VARCHAR(255)" : "MEDIUMTEXT") : dialect === "postgres" ? "TEXT" : "VARCHAR"
  }
}

const mysqlTableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

export const createTable = (
  dialect: Dialect,
  table: string,
  columns: ReadonlyArray<SinkColumn>,
  key: ReadonlyArray<string>
): string => {
  const q = (id: string) => quote(dialect, id)
  const cols = columns.map(
    (col) =>
      `${q(col.name)} ${sqlType(dialect, col.type, key.includes(col.name))}${key.includes(col.name) ? " NOT NULL" : ""}`
  )
  const pk = key.length > 0 ? `, PRIMARY KEY (${key.map(q).join(", ")})` : ""
  return `CREATE TABLE IF NOT EXISTS ${q(table)} (${cols.join(", ")}${pk})${dialect === "mysql" ? mysqlTableOptions : ""}`
}

/** Indexes the consolidated view's lookups use: `[name, table, columns]`. */
export const INDEXES: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
  ["spy_bars_date_ws", "spy_bars", ["ticker", "date", "window_start_ms"]],
  ["vix_values_date_ws", "vix_values", ["ticker", "date", "window_start_ms"]],
  ["option_bars_date", "option_bars", ["date", "ticker", "window_start_ms"]],
  ["news_published", "news", ["published_utc_ms"]],
  ["news_date", "news", ["date"]],
  ["option_contracts_date", "option_contracts", ["date"]],
  ["options_consolidated_date", CONSOLIDATED, ["date", "ticker", "window_start_ms"]]
]

export const indexesFor = (dialect: Dialect) =>
  INDEXES.filter(([, table]) => dialect !== "duckdb" || table !== CONSOLIDATED)

export const createIndex = (
  dialect: Dialect,
  [name, table, cols]: readonly [string, string, ReadonlyArray<string>]
): string =>
  dialect === "mysql"
    ? `CREATE INDEX ${quote(dialect, name)} ON ${quote(dialect, table)} (${cols.map((c) => quote(dialect, c)).join(", ")})`
    : `CREATE INDEX IF NOT EXISTS ${quote(dialect, name)} ON ${quote(dialect, table)} (${cols.map((c) => quote(dialect, c)).join(", ")})`

/** The checkpoint table: one row per (feed, date); `rows` committed so far of the lake version `fingerprint`. */
export const checkpointColumns: ReadonlyArray<SinkColumn> = [
  { name: "feed", type: "VARCHAR" },
  { name: "date", type: "DATE" },
  { name: "rows", type: "BIGINT" },
  { name: "total", type: "BIGINT" },
  { name: "fingerprint", type: "VARCHAR" },
  { name: "loaded_at", type: "TIMESTAMP" }
]

/** The consolidated table's columns (see src/sql/consolidated.ts for their meaning). */
export const consolidatedColumns: ReadonlyArray<SinkColumn> = (
  [
    ["date", "DATE"],
    ["ticker", "VARCHAR"],
    ["underlying", "VARCHAR"],
    ["expiration", "VARCHAR"],
    ["strike", "DOUBLE"],
    ["contract_type", "VARCHAR"],
    ["in_contract_list", "BOOLEAN"],
    ["window_start_ms", "BIGINT"],
    ["window_start", "TIMESTAMP"],
    ["open", "DOUBLE"],
    ["high", "DOUBLE"],
    ["low", "DOUBLE"],
    ["close", "DOUBLE"],
    ["volume", "DOUBLE"],
    ["vwap", "DOUBLE"],
    ["transactions", "BIGINT"],
    ["spy_window_start_ms", "BIGINT"],
    ["spy_open", "DOUBLE"],
    ["spy_high", "DOUBLE"],
    ["spy_low", "DOUBLE"],
    ["spy_close", "DOUBLE"],
    ["spy_volume", "DOUBLE"],
    ["spy_vwap", "DOUBLE"],
    ["spy_staleness_ms", "BIGINT"],
    ["vix_value", "DOUBLE"],
    ["vix_window_start_ms", "BIGINT"],
    ["vix_staleness_ms", "BIGINT"],
    ["news_count_15m", "BIGINT"],
    ["latest_headline", "VARCHAR"],
    ["latest_sentiment", "VARCHAR"],
    ["latest_news_age_s", "DOUBLE"]
  ] as const
).map(([name, type]) => ({ name, type }))
export const CONSOLIDATED_KEY = ["ticker", "window_start_ms"] as const

/** The DDL of migration 1 (src/sql/migrations.ts): idempotent, except MySQL indexes (duplicate names are tolerated there). */
export const ddl = (dialect: Dialect): ReadonlyArray<string> => [
  ...FEEDS.map((feed) => createTable(dialect, TABLES[feed], sinkColumns(feed), SCHEMAS[feed].key)),
  // DuckDB: options_consolidated is a view over the exported Parquet files (see DuckDbSink)
  ...(dialect === "duckdb" ? [] : [createTable(dialect, CONSOLIDATED, consolidatedColumns, CONSOLIDATED_KEY)]),
  createTable(dialect, CHECKPOINTS, checkpointColumns, ["feed", "date"])
]
