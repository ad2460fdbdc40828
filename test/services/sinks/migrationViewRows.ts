/**
 * Rows for the migration 4 test (migrations.test.ts): two dates of consolidated rows in the
 * partitioned table of migration 3, with their option bars. Three contracts per date: an SPY and a
 * QQQ option (each part with its own per-second values) and a non-OCC ticker (no underlying, SPY's
 * values, as the first underlying's part built it); two seconds, the second without news.
 */
import { consolidatedColumns } from "../../../src/sql/tables.js"

type Value = string | number | boolean | null
const DATES = ["2025-10-28", "2025-10-29"] as const
const CONTRACTS: ReadonlyArray<readonly [string, string | null, string | null, number | null, string | null, boolean]> =
  [
    ["O:QQQ251028P00500000", "QQQ", "2025-10-28", 500, "put", true],
    ["O:SPY251028C00580000", "SPY", "2025-10-28", 580, "call", true],
    ["ZZZ", null, null, null, null, false]
  ]
/** Every column but window_start (a timestamp: its time zone handling is not what this test is about). */
const COLUMNS = consolidatedColumns.filter((c) => c.name !== "window_start")

const rowsOf = (): Array<Record<string, Value>> =>
  DATES.flatMap((date, d) =>
    CONTRACTS.flatMap(([ticker, underlying, expiration, strike, type, listed], k) =>
      [0, 1].map((i) => {
        const ws = Date.parse(`${date}T13:30:00Z`) + i * 1000
        const shift = underlying === "QQQ" ? 100 : 0 // QQQ's part: its own underlying values
        const news = i === 0
        return {
          date,
          ticker,
          underlying,
          expiration,
          strike,
          contract_type: type,
          in_contract_list: listed,
          window_start_ms: ws,
          open: 1 + k + d,
          high: 2 + k,
          low: 0.5,
          close: 1.5 + i,
          volume: 10 * (k + 1),
          vwap: 1.25,
          transactions: 3 + i,
          spy_window_start_ms: ws - 1000,
          spy_open: 580 + shift + d,
          spy_high: 581 + shift,
          spy_low: 579 + shift,
          spy_close: 580.5 + shift + i,
          spy_volume: 1000 + i,
          spy_vwap: 580.25 + shift,
          spy_staleness_ms: 1000,
          vix_value: 17.5 + d,
          vix_window_start_ms: ws - 2000,
          vix_staleness_ms: 2000,
          news_count_15m: news ? 2 + d : 0,
          latest_headline: news ? `it's day ${d} for ${shift ? "QQQ" : "SPY"}` : null,
          latest_sentiment: news ? "positive" : null,
          latest_news_age_s: news ? 12.345 : null
        }
      })
    )
  )

const literal = (v: Value, dialect: "postgres" | "mysql") =>
  v === null
    ? "NULL"
    : typeof v === "boolean"
      ? dialect === "mysql"
        ? String(Number(v))
        : String(v)
      : typeof v === "number"
        ? String(v)
        : `'${v.replaceAll("'", "''")}'`

export const migratedRows = (dialect: "postgres" | "mysql") => {
  const q = (id: string) => (dialect === "mysql" ? `\`${id}\`` : `"${id}"`)
  const rows = rowsOf()
  const bars = [...new Map(rows.map((r) => [`${r["ticker"]}|${r["window_start_ms"]}|${r["date"]}`, r])).values()]
  const barColumns = [
    "ticker",
    "window_start_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "transactions",
    "date"
  ]
  const partitions = DATES.map((date) =>
    dialect === "postgres"
      ? `CREATE TABLE "options_consolidated_p${date.replaceAll("-", "")}" PARTITION OF "options_consolidated" FOR VALUES IN ('${date}')`
      : `ALTER TABLE \`options_consolidated\` ADD PARTITION (PARTITION p${date.replaceAll("-", "")} VALUES IN ('${date}'))`
  )
  const inserts = [
    ...partitions,
    `INSERT INTO ${q("option_bars")} (${barColumns.map(q).join(", ")}) VALUES ${bars
      .map((r) => `(${barColumns.map((c) => literal(r[c] ?? null, dialect)).join(", ")})`)
      .join(", ")}`,
    `INSERT INTO ${q("options_consolidated")} (${COLUMNS.map((c) => q(c.name)).join(", ")}) VALUES ${rows
      .map((r) => `(${COLUMNS.map((c) => literal(r[c.name] ?? null, dialect)).join(", ")})`)
      .join(", ")}`
  ]
  const select = `SELECT ${COLUMNS.map((c) => q(c.name)).join(", ")} FROM ${q("options_consolidated")} ORDER BY ${q("date")}, ticker, window_start_ms`
  const normalize = (r: Record<string, unknown>): Record<string, Value> =>
    Object.fromEntries(
      COLUMNS.map((c) => {
        const v = r[c.name]
        if (v === null || v === undefined) return [c.name, null]
        if (c.type === "BOOLEAN") return [c.name, Boolean(Number(v))]
        if (c.type === "BIGINT" || c.type === "DOUBLE") return [c.name, Number(v)]
        return [c.name, String(v)]
      })
    )
  const expected = [...rows].sort(
    (a, b) =>
      String(a["date"]).localeCompare(String(b["date"])) ||
      (String(a["ticker"]) < String(b["ticker"]) ? -1 : String(a["ticker"]) > String(b["ticker"]) ? 1 : 0) ||
      Number(a["window_start_ms"]) - Number(b["window_start_ms"])
  )
  return { inserts, select, expected: { rows: expected.map(normalize), normalize } }
}
