/**
 * MySQL 8 / MariaDB 10.11 `options_consolidated` of one date: the set-based per-second lookups of
 * ./consolidatedPerSecond.ts (semantics and method there) run as seven statements through
 * connection-scoped temporary tables, since MariaDB has no LATERAL and MySQL lets a temporary
 * table appear only once per statement.
 */
import { DEFAULT_TICKERS, type Tickers } from "../domain/tickers.js"
import { newsOfDay, sentimentColumn } from "./consolidatedNews.js"
import {
  contractColumns,
  finalSelect,
  insertInto,
  merge,
  myq,
  owned,
  perSecondColumns,
  rankedSpy,
  rankedVix
} from "./consolidatedPerSecond.js"
import { CONSOLIDATED } from "./tables.js"

/** One MySQL statement and its bound parameters. */
export interface MysqlStep {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  /** What the step builds, for timing (bench:consolidate). */
  readonly label: string
}

/** Connection-scoped temporary tables of one consolidation (dropped before and after). */
export const MYSQL_TEMP_TABLES = [
  "cons_secs",
  "cons_news",
  "cons_spy",
  "cons_vix",
  "cons_l",
  "cons_p",
  "cons_k"
] as const

export const mysqlDropTemp = `DROP TEMPORARY TABLE IF EXISTS ${MYSQL_TEMP_TABLES.join(", ")}`

/** Step 1: the date's distinct seconds; then read `SELECT MIN(t) lo, MAX(t) hi FROM cons_secs`. */
export const mysqlSeconds = (date: string): MysqlStep => ({
  sql: "CREATE TEMPORARY TABLE cons_secs (PRIMARY KEY (t)) ENGINE=InnoDB SELECT DISTINCT window_start_ms AS t FROM option_bars WHERE `date` = ?",
  params: [date],
  label: "seconds"
})
export const mysqlBounds = "SELECT MIN(t) AS lo, MAX(t) AS hi FROM cons_secs"

/**
 * Steps 2–7 (MySQL 8 / MariaDB 10.11: no LATERAL in MariaDB, and a temporary table may appear only
 * once per statement in MySQL): ranked news, SPY and VIX of the day, per-second ranks, per-second
 * rows, per-contract rows; the last step inserts the date's rows, reading the bars through
 * `option_bars_date` (forced: by the primary key, a ticker's bars of every other date would be
 * read too). `lo`/`hi`: the bounds of step 1 (numbers). `owns`, `insight`: as in `postgresConsolidate`.
 */
export const mysqlSteps = (
  date: string,
  windowMs: number,
  lo: number,
  hi: number,
  spanMs = 1000,
  tickers: Tickers = DEFAULT_TICKERS,
  target: string = CONSOLIDATED,
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
    sql: `CREATE TEMPORARY TABLE cons_p (PRIMARY KEY (t)) ENGINE=InnoDB
SELECT ${perSecondColumns}
FROM cons_l l
LEFT JOIN cons_spy s ON s.rn = l.spy_rn
LEFT JOIN cons_vix v ON v.rn = l.vix_rn
LEFT JOIN cons_news n ON n.rn = l.n_rn`,
    params: [],
    label: "per-second rows"
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_k (PRIMARY KEY (ticker)) ENGINE=InnoDB
SELECT t.ticker, ${contractColumns("mysql", "t.ticker")}, c.ticker IS NOT NULL AS listed
FROM (SELECT DISTINCT ticker FROM option_bars WHERE \`date\` = ?) t
LEFT JOIN option_contracts c ON c.as_of = ? AND c.ticker = t.ticker${owned("mysql", "\nWHERE ", owns)}`,
    params: [date, date],
    label: "contracts"
  },
  {
    sql: `${insertInto("mysql", target)}
SELECT STRAIGHT_JOIN
  ${finalSelect("o.`date`", "DOUBLE", spanMs)}
FROM cons_k k
JOIN option_bars o FORCE INDEX (PRIMARY) ON o.ticker = k.ticker AND o.window_start_ms BETWEEN ? AND ?
JOIN cons_p p ON p.t = o.window_start_ms
WHERE o.\`date\` = ?`,
    params: [lo, hi, date],
    label: "insert"
  }
]
