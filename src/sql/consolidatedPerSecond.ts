/**
 * Set-based consolidation for PostgreSQL and MySQL 8 / MariaDB 10.11 (semantics: the top of
 * ./consolidated.ts). Like DuckDB, every as-of lookup runs once per DISTINCT second of the date's
 * option bars (≤ 23 400 a day), never once per option bar (millions). The results are stored as one
 * row per second and one per contract (`consolidated_seconds`, `consolidated_contracts`); the view
 * `options_consolidated` equi-joins each option bar to them (./consolidatedView.ts).
 *
 * Per-second lookups = one sort-merge: the date's SPY bars, VIX bars and the news of the day's
 * window (kind 0) are merged with the seconds t (kind 1) and the shifted seconds t − window (kind 2),
 * ordered by (time, kind), and running SUMs OVER that order count, at every second, the SPY bars,
 * VIX bars and articles at or before it. SPY and VIX bars are ranked by time (rn 1…), so the count
 * is the rank of the latest bar ≤ t; articles are ranked by (published, id) in binary order, so the
 * count at t is the rank of the latest article ≤ t (ties: the greatest id wins) and
 * `news_count` = count(t) − count(t − window). Ranks are then equi-joined to the ranked rows.
 *
 * News is restricted to the day, through the `news_published` index: the SPY-tagged articles with
 * published in (lo − window, hi] (lo/hi = the date's first/last option-bar second), plus the one
 * latest SPY-tagged article published ≤ lo − window (what the latest-article column needs when the
 * window holds none). Nothing else in `news` is read, however many days it holds (./consolidatedNews.ts).
 */
import { DEFAULT_TICKERS, type Tickers } from "../domain/tickers.js"
import { contractFields, SPY_BAR_COLUMNS } from "./consolidated.js"
import { newsOfDay, sentimentColumn } from "./consolidatedNews.js"
import { CONTRACTS, contractsColumns, SECONDS, secondsColumns } from "./consolidatedView.js"
import { quote } from "./tables.js"

/**
 * The per-second row's values after (date, part), in `consolidated_seconds` order (./consolidatedView.ts);
 * aliases l (ranks), s, v, n (ranked rows). news_ref_ms = the latest article's published − the bar span.
 */
export const secondValues = (spanMs: number) =>
  [
    "l.t",
    ...SPY_BAR_COLUMNS,
    "v.close",
    "v.window_start_ms",
    "l.n_rn - l.n0_rn",
    "n.title",
    "n.spy_sentiment",
    `n.published_utc_ms - ${Math.trunc(spanMs)}`
  ].join(", ")

/** The date's SPY bars ranked by time (rn 1…): the columns the view shows. */
export const rankedSpy = (date: string, q: (id: string) => string, tk: Tickers) =>
  `SELECT ROW_NUMBER() OVER (ORDER BY window_start_ms) AS rn, window_start_ms, open, high, low, close, volume, vwap
FROM spy_bars WHERE ticker = '${tk.underlying}' AND ${q("date")} = ${date}`
export const rankedVix = (date: string, q: (id: string) => string, tk: Tickers) =>
  `SELECT ROW_NUMBER() OVER (ORDER BY window_start_ms) AS rn, window_start_ms, close
FROM vix_values WHERE ticker = '${tk.index}' AND ${q("date")} = ${date}`

/**
 * The merge: events (at, kind, is_spy, is_vix, is_news, t) of the day; running SUMs in (at, kind)
 * order give, at each second, the rank of the latest SPY bar, VIX bar and article at or before it
 * (0: none). Running SUMs, not MAX(): MariaDB 10.11 recomputes MAX() over a growing frame from the
 * start for each row (90 s for 43 k rows), while it keeps SUM() incremental (0.15 s).
 * `secs` must be a relation of the seconds (column t) referenced ONCE (MySQL cannot reopen a
 * temporary table), `news` one of the ranked articles (published_utc_ms).
 */
export const merge = (o: {
  readonly date: string
  readonly window: string
  readonly secs: string
  readonly news: string
  readonly q: (id: string) => string
  readonly int: string
  readonly spanMs: number
  readonly tickers: Tickers
}) => `
SELECT t, CAST(MAX(CASE WHEN kind = 1 THEN spy END) AS ${o.int}) AS spy_rn, CAST(MAX(CASE WHEN kind = 1 THEN vix END) AS ${o.int}) AS vix_rn,
  CAST(MAX(CASE WHEN kind = 1 THEN news END) AS ${o.int}) AS n_rn, CAST(MAX(CASE WHEN kind = 2 THEN news END) AS ${o.int}) AS n0_rn
FROM (
  SELECT kind, t, SUM(is_spy) OVER w AS spy, SUM(is_vix) OVER w AS vix, SUM(is_news) OVER w AS news
  FROM (
    SELECT window_start_ms AS at, 0 AS kind, 1 AS is_spy, 0 AS is_vix, 0 AS is_news, ${o.int === "BIGINT" ? "NULL::bigint" : "NULL"} AS t
      FROM spy_bars WHERE ticker = '${o.tickers.underlying}' AND ${o.q("date")} = ${o.date}
    UNION ALL SELECT window_start_ms, 0, 0, 1, 0, NULL
      FROM vix_values WHERE ticker = '${o.tickers.index}' AND ${o.q("date")} = ${o.date}
    UNION ALL SELECT published_utc_ms - ${Math.trunc(o.spanMs)}, 0, 0, 0, 1, NULL FROM ${o.news}
    UNION ALL SELECT CASE WHEN k.kind = 1 THEN s.t ELSE s.t - ${o.window} END, k.kind, 0, 0, 0, s.t
      FROM ${o.secs} s CROSS JOIN (SELECT 1 AS kind UNION ALL SELECT 2) k
  ) ev
  WINDOW w AS (ORDER BY at, kind ROWS UNBOUNDED PRECEDING)
) r
WHERE kind > 0
GROUP BY t`

const pgq = (id: string) => `"${id}"`
export const myq = (id: string) => `\`${id}\``

/** INSERT INTO one of the view's tables, every column named. */
export const insertInto = (dialect: "postgres" | "mysql", table: typeof SECONDS | typeof CONTRACTS) =>
  `INSERT INTO ${quote(dialect, table)} (${(table === SECONDS ? secondsColumns : contractsColumns).map((c) => quote(dialect, c.name)).join(", ")})`

/** The condition `owns` (./consolidatedUnderlyings.ts) on the contract `t.ticker`, after `prefix`; "" when undefined. */
export const owned = (dialect: "postgres" | "mysql", prefix: string, owns?: (occUnderlying: string) => string) =>
  owns === undefined ? "" : `${prefix}${owns(contractFields(dialect, "t.ticker")[0]!)}`

/**
 * PostgreSQL: one underlying's part of a date, two statements. `seconds`: $1 = date, $2 = news
 * window in ms, $3 = part. `contracts`: $1 = date, $2 = part; the date's contracts come from a loose
 * index scan of `option_bars_date` (one probe per ticker, not a scan of the bars). Run them after
 * `postgresSessionSettings`. `owns`, `insight`: one underlying's part (./consolidatedUnderlyings.ts).
 */
export const postgresConsolidate = (
  spanMs = 1000,
  tickers: Tickers = DEFAULT_TICKERS,
  owns?: (occUnderlying: string) => string,
  insight?: string
): { readonly seconds: string; readonly contracts: string } => ({
  seconds: `${insertInto("postgres", SECONDS)}
WITH secs AS MATERIALIZED (SELECT DISTINCT window_start_ms AS t FROM option_bars WHERE "date" = $1::varchar),
bounds AS MATERIALIZED (SELECT min(t) AS lo, max(t) AS hi FROM secs),
news_day AS MATERIALIZED (
  SELECT d.*, row_number() OVER (ORDER BY d.published_utc_ms, d.id COLLATE "C") AS rn
  FROM (${newsOfDay({ lo: `(SELECT lo FROM bounds) + ${Math.trunc(spanMs)}`, hi: `(SELECT hi FROM bounds) + ${Math.trunc(spanMs)}`, window: "$2::bigint", idDesc: `x.id COLLATE "C"`, tickers, sentiment: sentimentColumn("postgres", "x.spy_sentiment", "x.insights", "spy_sentiment", insight) })}) d
),
spy_day AS MATERIALIZED (${rankedSpy("$1::varchar", pgq, tickers)}),
vix_day AS MATERIALIZED (${rankedVix("$1::varchar", pgq, tickers)}),
l AS MATERIALIZED (${merge({ date: "$1::varchar", window: "$2::bigint", secs: "secs", news: "news_day", q: pgq, int: "BIGINT", spanMs, tickers })})
SELECT $1::varchar, $3::varchar, ${secondValues(spanMs)}
FROM l
LEFT JOIN spy_day s ON s.rn = l.spy_rn
LEFT JOIN vix_day v ON v.rn = l.vix_rn
LEFT JOIN news_day n ON n.rn = l.n_rn`,
  contracts: `${insertInto("postgres", CONTRACTS)}
WITH RECURSIVE tickers AS (
  SELECT (SELECT min(ticker) FROM option_bars WHERE "date" = $1::varchar) AS ticker
  UNION ALL
  SELECT (SELECT min(b.ticker) FROM option_bars b WHERE b."date" = $1::varchar AND b.ticker > tickers.ticker) FROM tickers WHERE tickers.ticker IS NOT NULL
)
SELECT $1::varchar, t.ticker, $2::varchar, ${contractFields("postgres", "t.ticker").join(", ")}, c.ticker IS NOT NULL
FROM tickers t
LEFT JOIN option_contracts c ON c.as_of = $1::varchar AND c.ticker = t.ticker
WHERE t.ticker IS NOT NULL${owned("postgres", " AND ", owns)}`
})

/**
 * Transaction-local planner settings for the statement above: right after a load the statistics of
 * the CTEs are guesses (a few rows), and a nested loop over 23 400 seconds × the day's articles cost
 * seconds (and disabling it inflates costs past the JIT thresholds: JIT compiling cost ~2 s); the
 * sorts and hashes of ~100 k rows fit in memory.
 */
export const postgresSessionSettings = [
  "SET LOCAL enable_nestloop = off",
  "SET LOCAL work_mem = '64MB'",
  "SET LOCAL jit = off"
]
