/**
 * MySQL 8 / MariaDB 10.11 consolidation of one date: the set-based per-second lookups of
 * ./consolidatedPerSecond.ts (semantics and method there) run as statements through
 * connection-scoped temporary tables, since MariaDB has no LATERAL and MySQL lets a temporary
 * table appear only once per statement; the last two insert the date's rows of
 * `consolidated_seconds` and `consolidated_contracts` (./consolidatedView.ts).
 */
import { DEFAULT_TICKERS, type Tickers } from "../domain/tickers.js"
import { contractFields } from "./consolidated.js"
import { newsOfDay, sentimentColumn } from "./consolidatedNews.js"
import { insertInto, merge, myq, owned, rankedSpy, rankedVix, secondValues } from "./consolidatedPerSecond.js"
import { CONTRACTS, SECONDS } from "./consolidatedView.js"

/** One MySQL statement and its bound parameters. */
export interface MysqlStep {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  /** What the step builds, for timing (bench:consolidate). */
  readonly label: string
}

/** Connection-scoped temporary tables of one consolidation (dropped before and after). */
export const MYSQL_TEMP_TABLES = ["cons_secs", "cons_tk", "cons_news", "cons_spy", "cons_vix", "cons_l"] as const
/** The temporary tables every underlying's part reads (built once per consolidation). */
export const MYSQL_SHARED_TEMP: ReadonlyArray<string> = ["cons_secs", "cons_tk"]

export const mysqlDropTemp = `DROP TEMPORARY TABLE IF EXISTS ${MYSQL_TEMP_TABLES.join(", ")}`

/** Step 1: the date's distinct seconds; then read `SELECT MIN(t) lo, MAX(t) hi FROM cons_secs`. */
export const mysqlSeconds = (date: string): MysqlStep => ({
  sql: "CREATE TEMPORARY TABLE cons_secs (PRIMARY KEY (t)) ENGINE=InnoDB SELECT DISTINCT window_start_ms AS t FROM option_bars WHERE `date` = ?",
  params: [date],
  label: "seconds"
})
export const mysqlBounds = "SELECT MIN(t) AS lo, MAX(t) AS hi FROM cons_secs"

/**
 * Step 1b: the date's contracts and their bar counts, one ordered pass over `option_bars_date`
 * (the parts' contract rows read it, and the count of the view's rows is its sum).
 */
export const mysqlTickers = (date: string): MysqlStep => ({
  sql: "CREATE TEMPORARY TABLE cons_tk (PRIMARY KEY (ticker)) ENGINE=InnoDB SELECT ticker, COUNT(*) AS n FROM option_bars WHERE `date` = ? GROUP BY ticker",
  params: [date],
  label: "contracts of the date"
})
export const mysqlBarCount = "SELECT COALESCE(SUM(n), 0) AS n FROM cons_tk"

/**
 * Steps 2–7 of one underlying's part: ranked news, SPY and VIX of the day, per-second ranks, then
 * the part's per-second rows and its contracts (of `cons_tk`, step 1b). `lo`/`hi`: the bounds of step 1 (numbers). `part`: the part's name in both
 * tables. `owns`, `insight`: as in `postgresConsolidate`.
 */
export const mysqlSteps = (
  date: string,
  windowMs: number,
  lo: number,
  hi: number,
  spanMs = 1000,
  tickers: Tickers = DEFAULT_TICKERS,
  part: string = tickers.underlying,
  owns?: (occUnderlying: string) => string,
  insight?: string
): ReadonlyArray<MysqlStep> => [
  {
    sql: `CREATE TEMPORARY TABLE cons_news (PRIMARY KEY (rn)) ENGINE=InnoDB
SELECT ROW_NUMBER() OVER (ORDER BY d.published_utc_ms, d.id) AS rn, d.*
FROM (${newsOfDay({ lo: "?", hi: "?", window: "?", idDesc: "x.id", tickers, sentiment: sentimentColumn("mysql", "x.spy_sentiment", "x.insights", "spy_sentiment", insight) })}) d`,
    params: [lo + Math.trunc(spanMs), windowMs, hi + Math.trunc(spanMs), lo + Math.trunc(spanMs), windowMs],
    label: "news"
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_spy (PRIMARY KEY (rn)) ENGINE=InnoDB ${rankedSpy("?", myq, tickers)}`,
    params: [date],
    label: "underlying bars"
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_vix (PRIMARY KEY (rn)) ENGINE=InnoDB ${rankedVix("?", myq, tickers)}`,
    params: [date],
    label: "index bars"
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_l (PRIMARY KEY (t)) ENGINE=InnoDB ${merge({ date: "?", window: "?", secs: "cons_secs", news: "cons_news", q: myq, int: "SIGNED", spanMs, tickers })}`,
    params: [date, date, windowMs],
    label: "per-second ranks"
  },
  {
    sql: `${insertInto("mysql", SECONDS)}
SELECT ?, ?, ${secondValues(spanMs)}
FROM cons_l l
LEFT JOIN cons_spy s ON s.rn = l.spy_rn
LEFT JOIN cons_vix v ON v.rn = l.vix_rn
LEFT JOIN cons_news n ON n.rn = l.n_rn
ORDER BY l.t`,
    params: [date, part],
    label: "per-second rows"
  },
  {
    sql: `${insertInto("mysql", CONTRACTS)}
SELECT ?, t.ticker, ?, ${contractFields("mysql", "t.ticker").join(", ")}, c.ticker IS NOT NULL
FROM cons_tk t
LEFT JOIN option_contracts c ON c.as_of = ? AND c.ticker = t.ticker${owned("mysql", "\nWHERE ", owns)}`,
    params: [date, part, date],
    label: "contracts"
  }
]
