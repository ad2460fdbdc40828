/**
 * `options_consolidated` in Snowflake: the same semantics as src/sql/consolidated.ts (read its
 * header), written with Snowflake's ASOF JOIN (null-padded when nothing matches, like DuckDB's
 * ASOF LEFT JOIN). As in DuckDB, the as-of lookups run once per distinct second and the OCC ticker
 * is parsed once per contract; the option bars are then hash-joined to those results.
 * A rebuild is one transaction: DELETE the date, INSERT it again. The date and the news window
 * travel as binds; identifiers are ours (upper-case, quoted).
 */
import { DEFAULT_TICKERS, newsTag, type Tickers } from "../../domain/tickers.js"
import { assertDate } from "../../domain/paths.js"
import { OCC_REGEX, occFields } from "../../sql/consolidated.js"
import { sentimentColumn } from "../../sql/consolidatedNews.js"
import { underlyingParts } from "../../sql/consolidatedUnderlyings.js"
import { CONSOLIDATED, CONSOLIDATED_KEY, consolidatedColumns } from "../../sql/tables.js"
import { id, type Statement, typeOf } from "./snowflakeSql.js"

export const createConsolidatedTable = (): string =>
  `CREATE TABLE IF NOT EXISTS ${id(CONSOLIDATED)} (${consolidatedColumns.map((c) => `${id(c.name)} ${typeOf(c)}`).join(", ")}, ` +
  `PRIMARY KEY (${CONSOLIDATED_KEY.map(id).join(", ")}))`

const col = (alias: string, name: string) => `${alias}.${id(name)}`
const ws = col("o", "window_start_ms")
const bar = (alias: string) =>
  ["window_start_ms", "open", "high", "low", "close", "volume", "vwap"].map((c) => col(alias, c))
const asOf = (name: string, from: string, left: string, right: string) =>
  `${name} AS (SELECT secs.T, x.* FROM secs ASOF JOIN ${from} x MATCH_CONDITION (secs.${left} >= x.${id(right)}))`

/** The SELECT list in `consolidatedColumns` order. */
const selectList = (spanMs: number): string =>
  [
    col("o", "date"),
    col("o", "ticker"),
    "k.F0",
    "k.F1",
    "k.F2",
    "k.F3",
    `${col("c", "ticker")} IS NOT NULL`,
    ws,
    col("o", "window_start"),
    ...["open", "high", "low", "close", "volume", "vwap", "transactions"].map((c) => col("o", c)),
    ...bar("s"),
    `${ws} - ${col("s", "window_start_ms")}`,
    col("v", "close"),
    col("v", "window_start_ms"),
    `${ws} - ${col("v", "window_start_ms")}`,
    "COALESCE(n.CUM, 0) - COALESCE(n0.CUM, 0)",
    col("n", "title"),
    col("n", "spy_sentiment"),
    `CAST(${ws} + ${spanMs} - ${col("n", "published_utc_ms")} AS FLOAT) / 1000`
  ].join(",\n  ")

/**
 * Binds: date, date, date, window ms, date (see the `?` order below). The row's time is the bar's
 * end (start + `barSpanMs`): news counts and the latest article are as of then (TN, T0 = TN − window);
 * SPY and VIX as of the bar's start, whose bars end with it. `owns`, `insight`: one underlying's part
 * (src/sql/consolidatedUnderlyings.ts); `insight` = a further underlying's sentiment, read from the
 * news `insights` once per article in `news_spy` (src/sql/consolidatedNews.ts).
 */
export const consolidateInsert = (
  date: string,
  windowMs: number,
  barSpanMs = 1000,
  tickers: Tickers = DEFAULT_TICKERS,
  owns?: (occUnderlying: string) => string,
  insight?: string
): Statement => {
  const d = assertDate(date)
  const span = Math.trunc(barSpanMs)
  const t = `t.${id("ticker")}`
  const fields = occFields(t, { length: `LENGTH(${t})`, matches: `REGEXP_LIKE(${t}, ${OCC_REGEX})`, double: "FLOAT" })
  const published = id("published_utc_ms")
  const sentiment = sentimentColumn("snowflake", id("spy_sentiment"), id("insights"), id("spy_sentiment"), insight)
  return {
    sqlText: `INSERT INTO ${id(CONSOLIDATED)} (${consolidatedColumns.map((c) => id(c.name)).join(", ")})
WITH o AS (SELECT * FROM ${id("option_bars")} WHERE ${id("date")} = ?),
spy AS (SELECT * FROM ${id("spy_bars")} WHERE ${id("date")} = ? AND ${id("ticker")} = '${tickers.underlying}'),
vix AS (SELECT * FROM ${id("vix_values")} WHERE ${id("date")} = ? AND ${id("ticker")} = '${tickers.index}'),
news_spy AS (
  SELECT ${published}, ${id("title")}, ${sentiment}, COUNT(*) OVER (ORDER BY ${published} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS CUM
  FROM ${id("news")} WHERE ${id("tickers")} LIKE ${newsTag(tickers)}
  QUALIFY ROW_NUMBER() OVER (PARTITION BY ${published} ORDER BY ${id("id")} DESC) = 1
),
secs AS (SELECT DISTINCT ${id("window_start_ms")} AS T, ${id("window_start_ms")} + ${span} AS TN, ${id("window_start_ms")} + ${span} - ? AS T0 FROM o),
k AS (SELECT ${t}, ${fields.map((e, i) => `${e} AS F${i}`).join(", ")} FROM (SELECT DISTINCT ${id("ticker")} FROM o) t${owns === undefined ? "" : ` WHERE ${owns(fields[0]!)}`}),
${asOf("s", "spy", "T", "window_start_ms")},
${asOf("v", "vix", "T", "window_start_ms")},
${asOf("n", "news_spy", "TN", "published_utc_ms")},
${asOf("n0", "news_spy", "T0", "published_utc_ms")}
SELECT
  ${selectList(span)}
FROM o
JOIN k ON ${col("k", "ticker")} = ${col("o", "ticker")}
LEFT JOIN s ON s.T = ${ws}
LEFT JOIN v ON v.T = ${ws}
LEFT JOIN n ON n.T = ${ws}
LEFT JOIN n0 ON n0.T = ${ws}
LEFT JOIN ${id("option_contracts")} c ON ${col("c", "as_of")} = ? AND ${col("c", "ticker")} = ${col("o", "ticker")}`,
    binds: [d, d, d, Math.trunc(windowMs), d]
  }
}

/**
 * One transaction: the date's rows replaced; then `countRows` reads how many there are. Several
 * underlyings: one INSERT per underlying, each with its own contracts (src/sql/consolidatedUnderlyings.ts).
 */
export const consolidatePlan = (
  date: string,
  windowMs: number,
  barSpanMs = 1000,
  tickers: Tickers = DEFAULT_TICKERS
): ReadonlyArray<Statement> => [
  { sqlText: "BEGIN", binds: [] },
  { sqlText: `DELETE FROM ${id(CONSOLIDATED)} WHERE ${id("date")} = ?`, binds: [assertDate(date)] },
  ...underlyingParts(tickers).map((part) =>
    consolidateInsert(date, windowMs, barSpanMs, part.tickers, part.owns, part.insight)
  ),
  { sqlText: "COMMIT", binds: [] }
]

export const countRows = (date: string): Statement => ({
  sqlText: `SELECT COUNT(*) AS N FROM ${id(CONSOLIDATED)} WHERE ${id("date")} = ?`,
  binds: [assertDate(date)]
})
