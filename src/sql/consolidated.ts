/**
 * `options_consolidated`: one row per option bar of the date (deduplicated input: the sink tables
 * hold one row per key, latest received). Semantics, identical in every engine:
 *
 * Point in time: a row shows what was known when its option bar CLOSED, nothing later.
 * - t = the option bar's END: `window_start_ms` + the bar's span (1 s; 60 s with minute bars).
 * - Contract fields are parsed from the OCC ticker (`O:SPY251028C00580000`); NULL if it is not one.
 *   `in_contract_list` = the ticker is in option_contracts with `as_of` = the date.
 * - SPY (ticker `SPY`) and VIX (ticker `I:VIX`): the latest bar of the same date whose END ≤ t,
 *   i.e. the greatest `window_start_ms` ≤ the option bar's start (the bar of the same second ends
 *   with it). Staleness = option start − its start (0 for the same second); NULL when none.
 * - News: articles whose `tickers` JSON contains `"SPY"`, any date. `news_count_15m` counts
 *   `published_utc_ms` in (t − window, t] (window = `consolidated.newsWindowMinutes`); the latest
 *   article is the greatest `published_utc_ms` ≤ t, ties broken by the greatest id (binary order),
 *   so an article published inside the bar counts. `latest_news_age_s` = (t − published) / 1000.
 * Engines: DuckDB ASOF LEFT JOIN (+ a running count); PostgreSQL and MySQL/MariaDB running SUM()s
 * OVER the merged seconds, bars and articles (./consolidatedPerSecond.ts). Every engine looks up
 * SPY, VIX and news once per distinct second of the date, then equi-joins the option bars.
 */
import { assertDate } from "../domain/paths.js"
import { DEFAULT_TICKERS, newsTag, type Tickers } from "../domain/tickers.js"
import { duckdbInsightSentiment } from "./consolidatedNews.js"
import { consolidatedColumns, type Dialect, sqlType } from "./tables.js"

export const OCC_REGEX = `'^O:[A-Z]{1,6}[0-9]{6}[CP][0-9]{8}$'`

/** underlying, expiration (YYYY-MM-DD), strike, call/put of OCC ticker `t`; NULL when `t` is not one. */
export const occFields = (
  t: string,
  sql: { readonly length: string; readonly matches: string; readonly double: string }
): ReadonlyArray<string> => {
  const sub = (from: string, n: string) => `SUBSTR(${t}, ${sql.length} - ${from}, ${n})`
  const guard = (e: string) => `CASE WHEN ${sql.matches} THEN ${e} END`
  return [
    guard(`SUBSTR(${t}, 3, ${sql.length} - 17)`),
    guard(`CONCAT('20', ${sub("14", "2")}, '-', ${sub("12", "2")}, '-', ${sub("10", "2")})`),
    guard(`CAST(${sub("7", "8")} AS ${sql.double}) / 1000`),
    guard(`CASE ${sub("8", "1")} WHEN 'C' THEN 'call' WHEN 'P' THEN 'put' END`)
  ]
}

export const contractFields = (dialect: Dialect, t: string): ReadonlyArray<string> =>
  occFields(t, {
    length: dialect === "duckdb" ? `length(${t})` : `CHAR_LENGTH(${t})`,
    matches:
      dialect === "duckdb"
        ? `regexp_matches(${t}, ${OCC_REGEX})`
        : dialect === "postgres"
          ? `${t} ~ ${OCC_REGEX}`
          : `${t} REGEXP ${OCC_REGEX}`,
    double: dialect === "postgres" ? "DOUBLE PRECISION" : "DOUBLE"
  })

/** The underlying bar's columns every engine's consolidation shows (alias s), in `consolidatedColumns` order. */
export const SPY_BAR_COLUMNS = ["s.window_start_ms", "s.open", "s.high", "s.low", "s.close", "s.volume", "s.vwap"]

/**
 * DuckDB's per-second values (CTE `p`, from the as-of rows s, v, n and n0 of one second): the SPY
 * bar, the VIX bar and the news as of that second, named for the final SELECT.
 */
const PER_SECOND_VALUES = [
  ...SPY_BAR_COLUMNS.map((c) => `${c} AS spy_${c.slice(2)}`),
  "v.close AS vix_close",
  "v.window_start_ms AS vix_window_start_ms",
  "COALESCE(n.cum, 0) - COALESCE(n0.cum, 0) AS news_count",
  "n.title AS news_title",
  "n.spy_sentiment AS news_sentiment",
  "n.published_utc_ms AS news_published_ms"
].join(", ")

/**
 * DuckDB's SELECT list in `consolidatedColumns` order; aliases o (option bar), `contract` (its OCC
 * fields f0…f3 and `listed`) and p (its second's values).
 */
const duckdbSelectList = (date: string, contract: string, spanMs: number): string =>
  [
    date,
    "o.ticker",
    ...["f0", "f1", "f2", "f3", "listed"].map((f) => `${contract}.${f}`),
    "o.window_start_ms",
    "o.window_start",
    ...["open", "high", "low", "close", "volume", "vwap", "transactions"].map((c) => `o.${c}`),
    ...SPY_BAR_COLUMNS.map((c) => `p.spy_${c.slice(2)}`),
    "o.window_start_ms - p.spy_window_start_ms",
    "p.vix_close",
    "p.vix_window_start_ms",
    "o.window_start_ms - p.vix_window_start_ms",
    "p.news_count",
    "p.news_title",
    "p.news_sentiment",
    `CAST(o.window_start_ms + ${Math.trunc(spanMs)} - p.news_published_ms AS DOUBLE) / 1000`
  ].join(",\n  ")

/**
 * The distinct contracts of `o` with their OCC fields (f0…f3) and `listed` (in option_contracts as
 * of the date), each parsed and looked up once, not once per bar (the regex per bar cost ~3 s a day).
 */
const contractsOf = (d: string) =>
  `SELECT t.ticker, ${contractFields("duckdb", "t.ticker")
    .map((e, i) => `${e} AS f${i}`)
    .join(", ")}, c.ticker IS NOT NULL AS listed
  FROM (SELECT DISTINCT ticker FROM o) AS t LEFT JOIN option_contracts c ON c.as_of = ${d} AND c.ticker = t.ticker`

/**
 * DuckDB: one statement, no parameters (the date is validated, the window is a number we computed),
 * its columns named and typed as `consolidatedColumns`; unsorted (a global sort of millions of wide
 * rows cost more than the joins). The as-of lookups run once per distinct second (~23k rows), not
 * once per option bar (millions): each ASOF join sorts its left side. Their results are joined into
 * one row per second (`p`), so an option bar takes one hash probe for all of them and one for its
 * contract (six probes per bar before: 18–20% more CPU, 2.34 M-bar day and a backfilled day alike).
 * The option bars (`o`) are read where they are used, not materialized: the distinct seconds and
 * contracts read one column each (materializing every column cost ~23% more CPU on the bench day).
 */
export const duckdbConsolidateQuery = (
  date: string,
  windowMs: number,
  spanMs = 1000,
  bars: BarSources = {},
  tickers: Tickers = DEFAULT_TICKERS
): string =>
  `SELECT ${consolidatedColumns.map((c) => `CAST(q."${c.name}" AS ${sqlType("duckdb", c.type, false)}) AS "${c.name}"`).join(", ")}
FROM (${duckdbConsolidateSelect(date, windowMs, spanMs, bars, tickers)}) AS q(${consolidatedColumns.map((c) => `"${c.name}"`).join(", ")})`

/**
 * The date's option, SPY and VIX bars, each a parenthesised relation with the table's columns
 * (DuckDB only; the tables filtered by date when omitted). The warehouse over the lake passes the
 * date's partition files, so a consolidation never lists the other dates' files.
 */
export interface BarSources {
  readonly options?: string
  readonly spy?: string
  readonly vix?: string
}

const duckdbConsolidateSelect = (
  date: string,
  windowMs: number,
  spanMs: number,
  bars: BarSources = {},
  tickers: Tickers = DEFAULT_TICKERS
): string =>
  (tickers.underlyings?.length ?? 1) > 1
    ? duckdbConsolidateSelectMany(date, windowMs, spanMs, bars, tickers)
    : duckdbConsolidateSelectOne(date, windowMs, spanMs, bars, tickers)

/** The date literal, window and span, and a bar relation: the given source, else the table filtered by date (`and` continues its WHERE). */
const duckdbParts = (date: string, windowMs: number, spanMs: number) => {
  const d = `'${assertDate(date)}'`
  return {
    d,
    w: Math.trunc(windowMs),
    span: Math.trunc(spanMs),
    from: (source: string | undefined, table: string) => source ?? `${table} WHERE "date" = ${d}`,
    and: (source: string | undefined) => (source === undefined ? "AND" : "WHERE")
  }
}

const duckdbConsolidateSelectOne = (
  date: string,
  windowMs: number,
  spanMs: number,
  bars: BarSources,
  tickers: Tickers
): string => {
  const { d, w, span, from, and } = duckdbParts(date, windowMs, spanMs)
  const perSecond = (name: string, from: string, on: string) =>
    `${name} AS (SELECT secs.window_start_ms AS t, x.* FROM secs ASOF LEFT JOIN ${from} AS x ON ${on})`
  return `WITH o AS NOT MATERIALIZED (SELECT * FROM ${from(bars.options, "option_bars")}),
spy AS (SELECT * FROM ${from(bars.spy, "spy_bars")} ${and(bars.spy)} ticker = '${tickers.underlying}'),
vix AS (SELECT * FROM ${from(bars.vix, "vix_values")} ${and(bars.vix)} ticker = '${tickers.index}'),
news_spy AS (
  SELECT published_utc_ms, title, spy_sentiment, count(*) OVER (ORDER BY published_utc_ms RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
  FROM news WHERE tickers LIKE ${newsTag(tickers)}
  QUALIFY row_number() OVER (PARTITION BY published_utc_ms ORDER BY id DESC) = 1
),
secs AS (SELECT DISTINCT window_start_ms FROM o),
k AS (${contractsOf(d)}),
${perSecond("s", "spy", "secs.window_start_ms >= x.window_start_ms")},
${perSecond("v", "vix", "secs.window_start_ms >= x.window_start_ms")},
${perSecond("n", "news_spy", `secs.window_start_ms + ${span} >= x.published_utc_ms`)},
${perSecond("n0", "news_spy", `secs.window_start_ms + ${span} - ${w} >= x.published_utc_ms`)},
p AS (SELECT s.t, ${PER_SECOND_VALUES} FROM s JOIN v ON v.t = s.t JOIN n ON n.t = s.t JOIN n0 ON n0.t = s.t)
SELECT
  ${duckdbSelectList(d, "k", span)}
FROM o
JOIN k ON k.ticker = o.ticker
LEFT JOIN p ON p.t = o.window_start_ms`
}

/**
 * DuckDB's query when several underlyings are configured: each option bar
 * is joined with ITS OWN underlying (the `underlying` parsed from its OCC ticker; a ticker that
 * names no configured underlying is joined with the first one, as in the one-underlying query):
 * the underlying's latest bar at or before the option bar's start, and the news tagged with that
 * underlying. The index is the first configured one for every row. Same semantics per row as
 * the one-underlying query (point in time, staleness, news window, latest article with ties broken by id);
 * the as-of lookups run once per distinct (underlying, second), then equi-join the bars.
 * `latest_sentiment`: the article's `spy_sentiment` for the first underlying, its insight for the
 * row's underlying otherwise (./consolidatedNews.ts), computed once per (article, underlying) in `news_u`.
 */
const literal = (t: string) => `'${t.replace(/'/g, "''")}'`

export const duckdbConsolidateSelectMany = (
  date: string,
  windowMs: number,
  spanMs: number,
  bars: BarSources,
  tickers: Tickers
): string => {
  const { d, w, span, from, and } = duckdbParts(date, windowMs, spanMs)
  const inList = (tickers.underlyings ?? [tickers.underlying]).map(literal).join(", ")
  const perKey = (name: string, from: string, on: string) =>
    `${name} AS (SELECT keys.u, keys.window_start_ms AS t, x.* EXCLUDE (u) FROM keys ASOF LEFT JOIN ${from} AS x ON keys.u = x.u AND ${on})`
  return `WITH o AS NOT MATERIALIZED (SELECT * FROM ${from(bars.options, "option_bars")}),
k AS (${contractsOf(d)}),
ku AS (SELECT k.*, CASE WHEN k.f0 IN (${inList}) THEN k.f0 ELSE ${literal(tickers.underlying)} END AS u FROM k),
spy AS (SELECT ticker AS u, * FROM ${from(bars.spy, "spy_bars")} ${and(bars.spy)} ticker IN (${inList})),
vix AS (SELECT * FROM ${from(bars.vix, "vix_values")} ${and(bars.vix)} ticker = ${literal(tickers.index)}),
news_u AS (
  SELECT u.u, x.published_utc_ms, x.title,
    CASE WHEN u.u = ${literal(tickers.underlying)} THEN x.spy_sentiment ELSE ${duckdbInsightSentiment("x.insights", "u.u")} END AS spy_sentiment,
    count(*) OVER (PARTITION BY u.u ORDER BY x.published_utc_ms RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
  FROM news AS x JOIN (SELECT unnest([${inList}]) AS u) AS u ON x.tickers LIKE '%"' || u.u || '"%'
  QUALIFY row_number() OVER (PARTITION BY u.u, x.published_utc_ms ORDER BY x.id DESC) = 1
),
keys AS (SELECT DISTINCT ku.u, o.window_start_ms FROM o JOIN ku ON ku.ticker = o.ticker),
secs AS (SELECT DISTINCT window_start_ms FROM o),
${perKey("s", "spy", "keys.window_start_ms >= x.window_start_ms")},
v AS (SELECT secs.window_start_ms AS t, x.* FROM secs ASOF LEFT JOIN vix AS x ON secs.window_start_ms >= x.window_start_ms),
${perKey("n", "news_u", `keys.window_start_ms + ${span} >= x.published_utc_ms`)},
${perKey("n0", "news_u", `keys.window_start_ms + ${span} - ${w} >= x.published_utc_ms`)},
p AS (SELECT s.u, s.t, ${PER_SECOND_VALUES}
  FROM s JOIN v ON v.t = s.t JOIN n ON n.u = s.u AND n.t = s.t JOIN n0 ON n0.u = s.u AND n0.t = s.t)
SELECT
  ${duckdbSelectList(d, "ku", span)}
FROM o
JOIN ku ON ku.ticker = o.ticker
LEFT JOIN p ON p.u = ku.u AND p.t = o.window_start_ms`
}
