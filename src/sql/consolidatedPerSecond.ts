/**
 * Set-based `options_consolidated` for PostgreSQL and MySQL 8 / MariaDB 10.11 (semantics: the top of
 * ./consolidated.ts). Like DuckDB, every as-of lookup runs once per DISTINCT second of the date's
 * option bars (≤ 23 400 a day), never once per option bar (millions); the option bars are then
 * equi-joined to one per-second row and one per-contract row.
 *
 * Per-second lookups = one sort-merge: the date's SPY bars, VIX bars and the news of the day's
 * window (kind 0) are merged with the seconds t (kind 1) and the shifted seconds t − window (kind 2),
 * ordered by (time, kind), and a running MAX() OVER that order carries, to every second, the latest
 * SPY/VIX `window_start_ms` at or before it and the rank of the latest article at or before it.
 * Articles are ranked by (published, id) in binary order, so the rank at t is also the number of
 * articles published ≤ t: `news_count` = rank(t) − rank(t − window), and the latest article is
 * the one of rank(t) (ties: the greatest id wins).
 *
 * News is restricted to the day, through the `news_published` index: the SPY-tagged articles with
 * published in (lo − window, hi] (lo/hi = the date's first/last option-bar second), plus the one
 * latest SPY-tagged article published ≤ lo − window (what the latest-article column needs when the
 * window holds none). Nothing else in `news` is read, however many days it holds.
 */
import { SPY, VIX } from "../domain/tickers.js"
import { OCC_REGEX, occFields, SPY_TAG } from "./consolidated.js"
import { CONSOLIDATED, consolidatedColumns, quote } from "./tables.js"

/** The per-second columns (alias p) and per-contract columns (alias k) the final SELECT reads. */
const finalSelect = (date: string, double: string) =>
  [
    date, "o.ticker", "k.f0", "k.f1", "k.f2", "k.f3", "k.listed", "o.window_start_ms", "o.window_start",
    "o.open", "o.high", "o.low", "o.close", "o.volume", "o.vwap", "o.transactions",
    "p.s_ws", "p.s_open", "p.s_high", "p.s_low", "p.s_close", "p.s_volume", "p.s_vwap", "o.window_start_ms - p.s_ws",
    "p.v_close", "p.v_ws", "o.window_start_ms - p.v_ws",
    "p.news_n", "p.n_title", "p.n_sentiment", `CAST(o.window_start_ms - p.n_published AS ${double}) / 1000`
  ].join(",\n  ")

/** The per-second row: t plus the SPY bar, the VIX bar and the news columns (aliases l, s, v, n). */
const perSecondColumns = (nRank: string, n0Rank: string) =>
  [
    "l.t", "s.window_start_ms AS s_ws", "s.open AS s_open", "s.high AS s_high", "s.low AS s_low", "s.close AS s_close",
    "s.volume AS s_volume", "s.vwap AS s_vwap", "v.close AS v_close", "v.window_start_ms AS v_ws",
    `COALESCE(${nRank}, 0) - COALESCE(${n0Rank}, 0) AS news_n`, "n.title AS n_title", "n.spy_sentiment AS n_sentiment", "n.published_utc_ms AS n_published"
  ].join(", ")

/**
 * The merge: events (at, kind, spy, vix, rn, t) of the day, running maxima in (at, kind) order.
 * `secs` must be a relation of the seconds (column t) referenced ONCE (MySQL cannot reopen a
 * temporary table), `news` one of the ranked articles (published_utc_ms, rn).
 */
const merge = (o: { readonly date: string; readonly window: string; readonly secs: string; readonly news: string; readonly q: (id: string) => string }) => `
SELECT t, MAX(CASE WHEN kind = 1 THEN spy END) AS spy_ws, MAX(CASE WHEN kind = 1 THEN vix END) AS vix_ws,
  MAX(CASE WHEN kind = 1 THEN rn END) AS n_rn, MAX(CASE WHEN kind = 2 THEN rn END) AS n0_rn
FROM (
  SELECT kind, t, MAX(spy) OVER w AS spy, MAX(vix) OVER w AS vix, MAX(rn) OVER w AS rn
  FROM (
    SELECT window_start_ms AS at, 0 AS kind, window_start_ms AS spy, NULL AS vix, NULL AS rn, NULL AS t
      FROM spy_bars WHERE ticker = '${SPY}' AND ${o.q("date")} = ${o.date}
    UNION ALL SELECT window_start_ms, 0, NULL, window_start_ms, NULL, NULL
      FROM vix_values WHERE ticker = '${VIX}' AND ${o.q("date")} = ${o.date}
    UNION ALL SELECT published_utc_ms, 0, NULL, NULL, rn, NULL FROM ${o.news}
    UNION ALL SELECT CASE WHEN k.kind = 1 THEN s.t ELSE s.t - ${o.window} END, k.kind, NULL, NULL, NULL, s.t
      FROM ${o.secs} s CROSS JOIN (SELECT 1 AS kind UNION ALL SELECT 2) k
  ) ev
  WINDOW w AS (ORDER BY at, kind ROWS UNBOUNDED PRECEDING)
) r
WHERE kind > 0
GROUP BY t`

const insertInto = (dialect: "postgres" | "mysql") =>
  `INSERT INTO ${quote(dialect, CONSOLIDATED)} (${consolidatedColumns.map((c) => quote(dialect, c.name)).join(", ")})`

const contractColumns = (dialect: "postgres" | "mysql", t: string) =>
  occFields(t, {
    length: `CHAR_LENGTH(${t})`,
    matches: dialect === "postgres" ? `${t} ~ ${OCC_REGEX}` : `${t} REGEXP ${OCC_REGEX}`,
    double: dialect === "postgres" ? "DOUBLE PRECISION" : "DOUBLE"
  })
    .map((e, i) => `${e} AS f${i}`)
    .join(", ")

/** The SPY-tagged news of the day: (lo − window, hi] plus the latest at or before lo − window. */
const newsOfDay = (o: { readonly lo: string; readonly hi: string; readonly window: string; readonly idDesc: string }) => `
  SELECT x.id, x.published_utc_ms FROM news x
  WHERE x.published_utc_ms > ${o.lo} - ${o.window} AND x.published_utc_ms <= ${o.hi} AND x.tickers LIKE ${SPY_TAG}
  UNION ALL
  (SELECT x.id, x.published_utc_ms FROM news x
  WHERE x.published_utc_ms <= ${o.lo} - ${o.window} AND x.tickers LIKE ${SPY_TAG}
  ORDER BY x.published_utc_ms DESC, ${o.idDesc} DESC LIMIT 1)`

/**
 * PostgreSQL: one statement; parameters `$1` = date, `$2` = news window in ms. The date's contracts
 * come from a loose index scan of `option_bars_date` (one probe per ticker, not a scan of the bars);
 * the option bars are read once more, by the final hash joins. Run it after `postgresSessionSettings`.
 */
export const postgresConsolidate = `${insertInto("postgres")}
WITH RECURSIVE secs AS MATERIALIZED (SELECT DISTINCT window_start_ms AS t FROM option_bars WHERE "date" = $1::varchar),
bounds AS MATERIALIZED (SELECT min(t) AS lo, max(t) AS hi FROM secs),
news_day AS MATERIALIZED (
  SELECT d.id, d.published_utc_ms, row_number() OVER (ORDER BY d.published_utc_ms, d.id COLLATE "C") AS rn
  FROM (${newsOfDay({ lo: "(SELECT lo FROM bounds)", hi: "(SELECT hi FROM bounds)", window: "$2::bigint", idDesc: `x.id COLLATE "C"` })}) d
),
l AS MATERIALIZED (${merge({ date: "$1::varchar", window: "$2::bigint", secs: "secs", news: "news_day", q: (id) => `"${id}"` })
  .replace("NULL AS vix, NULL AS rn, NULL AS t", "NULL::bigint AS vix, NULL::bigint AS rn, NULL::bigint AS t")}),
p AS MATERIALIZED (
  SELECT ${perSecondColumns("l.n_rn", "l.n0_rn")}
  FROM l
  LEFT JOIN spy_bars s ON s.ticker = '${SPY}' AND s.window_start_ms = l.spy_ws
  LEFT JOIN vix_values v ON v.ticker = '${VIX}' AND v.window_start_ms = l.vix_ws
  LEFT JOIN news_day nd ON nd.rn = l.n_rn
  LEFT JOIN news n ON n.id = nd.id
),
tickers AS (
  SELECT (SELECT min(ticker) FROM option_bars WHERE "date" = $1::varchar) AS ticker
  UNION ALL
  SELECT (SELECT min(b.ticker) FROM option_bars b WHERE b."date" = $1::varchar AND b.ticker > tickers.ticker) FROM tickers WHERE tickers.ticker IS NOT NULL
),
k AS MATERIALIZED (
  SELECT t.ticker, ${contractColumns("postgres", "t.ticker")}, c.ticker IS NOT NULL AS listed
  FROM tickers t
  LEFT JOIN option_contracts c ON c.as_of = $1::varchar AND c.ticker = t.ticker
  WHERE t.ticker IS NOT NULL
)
SELECT
  ${finalSelect(`o."date"`, "DOUBLE PRECISION")}
FROM option_bars o
JOIN k ON k.ticker = o.ticker
JOIN p ON p.t = o.window_start_ms
WHERE o."date" = $1::varchar`

/**
 * Transaction-local planner settings for the statement above: right after a load the statistics of
 * the CTEs are guesses (a few rows), and a nested loop over 23 400 seconds × the day's articles cost
 * seconds (and disabling it inflates costs past the JIT thresholds: JIT compiling cost ~2 s); the
 * sorts and hashes of ~100 k rows fit in memory.
 */
export const postgresSessionSettings = ["SET LOCAL enable_nestloop = off", "SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off"]

/** One MySQL statement and its bound parameters. */
export interface MysqlStep {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

/** Connection-scoped temporary tables of one consolidation (dropped before and after). */
export const MYSQL_TEMP_TABLES = ["cons_secs", "cons_news", "cons_l", "cons_p", "cons_k"] as const

export const mysqlDropTemp = `DROP TEMPORARY TABLE IF EXISTS ${MYSQL_TEMP_TABLES.join(", ")}`

/** Step 1: the date's distinct seconds; then read `SELECT MIN(t) lo, MAX(t) hi FROM cons_secs`. */
export const mysqlSeconds = (date: string): MysqlStep => ({
  sql: "CREATE TEMPORARY TABLE cons_secs (PRIMARY KEY (t)) ENGINE=InnoDB SELECT DISTINCT window_start_ms AS t FROM option_bars WHERE `date` = ?",
  params: [date]
})
export const mysqlBounds = "SELECT MIN(t) AS lo, MAX(t) AS hi FROM cons_secs"

/**
 * Steps 2–5 (MySQL 8 / MariaDB 10.11: no LATERAL in MariaDB, and a temporary table may appear only
 * once per statement in MySQL): ranked news of the day, per-second ranks, per-second rows,
 * per-contract rows; step 6 inserts the date's rows. `lo`/`hi`: the bounds of step 1 (numbers).
 */
export const mysqlSteps = (date: string, windowMs: number, lo: number, hi: number): ReadonlyArray<MysqlStep> => [
  {
    sql: `CREATE TEMPORARY TABLE cons_news (PRIMARY KEY (rn)) ENGINE=InnoDB
SELECT ROW_NUMBER() OVER (ORDER BY d.published_utc_ms, d.id) AS rn, d.id, d.published_utc_ms
FROM (${newsOfDay({ lo: "?", hi: "?", window: "?", idDesc: "x.id" })}) d`,
    params: [lo, windowMs, hi, lo, windowMs]
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_l (PRIMARY KEY (t)) ENGINE=InnoDB ${merge({ date: "?", window: "?", secs: "cons_secs", news: "cons_news", q: (id) => `\`${id}\`` })}`,
    params: [date, date, windowMs]
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_p (PRIMARY KEY (t)) ENGINE=InnoDB
SELECT ${perSecondColumns("l.n_rn", "l.n0_rn")}
FROM cons_l l
LEFT JOIN spy_bars s ON s.ticker = '${SPY}' AND s.window_start_ms = l.spy_ws
LEFT JOIN vix_values v ON v.ticker = '${VIX}' AND v.window_start_ms = l.vix_ws
LEFT JOIN cons_news nd ON nd.rn = l.n_rn
LEFT JOIN news n ON n.id = nd.id`,
    params: []
  },
  {
    sql: `CREATE TEMPORARY TABLE cons_k (PRIMARY KEY (ticker)) ENGINE=InnoDB
SELECT t.ticker, ${contractColumns("mysql", "t.ticker")}, c.ticker IS NOT NULL AS listed
FROM (SELECT DISTINCT ticker FROM option_bars WHERE \`date\` = ?) t
LEFT JOIN option_contracts c ON c.as_of = ? AND c.ticker = t.ticker`,
    params: [date, date]
  },
  {
    sql: `${insertInto("mysql")}
SELECT
  ${finalSelect("o.`date`", "DOUBLE")}
FROM option_bars o
JOIN cons_k k ON k.ticker = o.ticker
JOIN cons_p p ON p.t = o.window_start_ms
WHERE o.\`date\` = ?`,
    params: [date]
  }
]
