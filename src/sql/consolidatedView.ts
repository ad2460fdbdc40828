/**
 * PostgreSQL and MySQL/MariaDB `options_consolidated` (migration 4): a VIEW that joins each option
 * bar to two small tables a consolidation rebuilds per date (./consolidatedPerSecond.ts):
 * - `consolidated_seconds`: one row per (date, part, t), t a second of the date's option bars and
 *   part the underlying whose bars it holds (one part per configured underlying): the SPY bar, the
 *   VIX bar and the news columns as of that second (≈ 23 400 rows a day, not 2.34 M);
 * - `consolidated_contracts`: one row per (date, ticker): the OCC fields, `in_contract_list`, and
 *   the part whose per-second row the contract's bars take.
 * Why a view: the per-bar values are equi-joins of the bar with those two rows, so storing them per
 * bar only repeats them (a day's consolidated table was ~2.34 M wide rows; writing it took 10–17 s,
 * most of it InnoDB/heap writes). A rebuild is now DELETE + INSERT of those small tables in one
 * transaction: readers see the date's old rows until it commits, then the new ones.
 * A bar appears in the view once its date was consolidated (its second and its contract have rows);
 * `verify` compares the view's rows with the option bars.
 */
import { CONSOLIDATED, consolidatedColumns, createTable, type SinkColumn, quote, TABLES } from "./tables.js"

export const SECONDS = "consolidated_seconds"
export const CONTRACTS = "consolidated_contracts"

/** Columns of `options_consolidated` (name and type), in the given order. */
const consolidated = (names: ReadonlyArray<string>): ReadonlyArray<SinkColumn> =>
  names.map((name) => consolidatedColumns.find((c) => c.name === name)!)

/** The per-second values, named as the view shows them (news_ref_ms: the latest article's published − the bar span). */
const secondValues: ReadonlyArray<SinkColumn> = [
  ...consolidated([
    "spy_window_start_ms",
    "spy_open",
    "spy_high",
    "spy_low",
    "spy_close",
    "spy_volume",
    "spy_vwap",
    "vix_value",
    "vix_window_start_ms",
    "news_count_15m",
    "latest_headline",
    "latest_sentiment"
  ]),
  { name: "news_ref_ms", type: "BIGINT" }
]

export const secondsColumns: ReadonlyArray<SinkColumn> = [
  { name: "date", type: "DATE" },
  { name: "part", type: "VARCHAR" },
  { name: "t", type: "BIGINT" },
  ...secondValues
]
export const SECONDS_KEY = ["date", "part", "t"] as const

export const contractsColumns: ReadonlyArray<SinkColumn> = [
  ...consolidated(["date", "ticker"]),
  { name: "part", type: "VARCHAR" },
  ...consolidated(["underlying", "expiration", "strike", "contract_type", "in_contract_list"])
]
export const CONTRACTS_KEY = ["date", "ticker"] as const

export const createSeconds = (dialect: "postgres" | "mysql") =>
  createTable(dialect, SECONDS, secondsColumns, SECONDS_KEY)
export const createContracts = (dialect: "postgres" | "mysql") =>
  createTable(dialect, CONTRACTS, contractsColumns, CONTRACTS_KEY)

/** The view's expression of each consolidated column (aliases o: option bar, k: contract, p: second). */
export const viewExpressions = (dialect: "postgres" | "mysql"): ReadonlyArray<readonly [string, string]> => {
  const q = (id: string) => quote(dialect, id)
  const double = dialect === "postgres" ? "DOUBLE PRECISION" : "DOUBLE"
  const from = (alias: string) => (name: string) => [`${alias}.${q(name)}`, name] as const
  const [o, k, p] = [from("o"), from("k"), from("p")]
  return [
    o("date"),
    o("ticker"),
    k("underlying"),
    k("expiration"),
    k("strike"),
    k("contract_type"),
    k("in_contract_list"),
    o("window_start_ms"),
    o("window_start"),
    ...["open", "high", "low", "close", "volume", "vwap", "transactions"].map(o),
    ...["spy_window_start_ms", "spy_open", "spy_high", "spy_low", "spy_close", "spy_volume", "spy_vwap"].map(p),
    ["o.window_start_ms - p.spy_window_start_ms", "spy_staleness_ms"],
    p("vix_value"),
    p("vix_window_start_ms"),
    ["o.window_start_ms - p.vix_window_start_ms", "vix_staleness_ms"],
    p("news_count_15m"),
    p("latest_headline"),
    p("latest_sentiment"),
    [`CAST(o.window_start_ms - p.news_ref_ms AS ${double}) / 1000`, "latest_news_age_s"]
  ]
}

/** The view (its columns: `consolidatedColumns`, in order, checked by a test). CREATE OR REPLACE: idempotent); its columns are `consolidatedColumns`, in order. */
export const createView = (dialect: "postgres" | "mysql"): string => {
  const q = (id: string) => quote(dialect, id)
  const select = viewExpressions(dialect)
    .map(([expr, name]) => `${expr} AS ${q(name)}`)
    .join(",\n  ")
  const algorithm = dialect === "mysql" ? " ALGORITHM=MERGE" : ""
  return `CREATE OR REPLACE${algorithm} VIEW ${q(CONSOLIDATED)} AS
SELECT
  ${select}
FROM ${q(TABLES.options)} o
JOIN ${q(CONTRACTS)} k ON k.${q("date")} = o.${q("date")} AND k.ticker = o.ticker
JOIN ${q(SECONDS)} p ON p.${q("date")} = o.${q("date")} AND p.part = k.part AND p.t = o.window_start_ms`
}

/** Rebuild: the date's rows of both tables go first (the caller's transaction then inserts the new ones). */
export const deleteDateRows = (dialect: "postgres" | "mysql"): ReadonlyArray<string> =>
  [SECONDS, CONTRACTS].map(
    (t) => `DELETE FROM ${quote(dialect, t)} WHERE ${quote(dialect, "date")} = ${dialect === "postgres" ? "$1" : "?"}`
  )

/** PostgreSQL: the tables' statistics after a rebuild (allowed in a transaction; samples at most 30 000 rows each). */
export const pgAnalyze = `ANALYZE "${SECONDS}", "${CONTRACTS}"`

/** PostgreSQL: serializes rebuilds of the same date across sessions (transaction-scoped). $1 = date. */
export const pgDateLock = `SELECT pg_advisory_xact_lock(hashtext('${CONSOLIDATED}:' || $1::text))`

/** PostgreSQL: the rows the view shows for the date once it is rebuilt: every bar (each has its second and contract). $1 = date. */
export const pgBarsOfDate = `SELECT COUNT(*) AS n FROM "${TABLES.options}" WHERE "date" = $1`
