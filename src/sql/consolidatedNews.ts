/**
 * The articles the PostgreSQL and MySQL consolidations read (./consolidatedPerSecond.ts), and the
 * sentiment `latest_sentiment` shows in every engine.
 *
 * `latest_sentiment` with several underlyings. The news column `spy_sentiment` holds the article's
 * insight for the FIRST configured underlying (set at ingest from the article's `insights`), so:
 * - the first underlying's rows (and a one-underlying config) read `spy_sentiment`, as always;
 * - a further underlying U reads, from the article's `insights` (VARCHAR: a JSON array of
 *   `{ticker, sentiment, sentiment_reasoning}`), the `sentiment` of the first element whose
 *   `ticker` is exactly U (case-sensitive); NULL when `insights` is NULL, not an array, or has no U.
 * Every engine evaluates it where the articles are selected (the news CTE or temporary table),
 * once per article, never once per option bar. Tickers are validated (no quotes).
 */
import { newsTag, type Tickers } from "../domain/tickers.js"
import type { Dialect } from "./tables.js"

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`

/** DuckDB: the sentiment toward the ticker `tickerSql` (an SQL expression) in the JSON text `insights`. */
export const duckdbInsightSentiment = (insights: string, tickerSql: string): string =>
  `(list_filter(json_extract(${insights}, '$[*]'), lambda e: json_extract_string(e, '$.ticker') = ${tickerSql})[1] ->> 'sentiment')`

/** The sentiment toward `ticker` in the JSON text `insights` (an SQL expression), per engine. */
export const insightSentiment = (dialect: Dialect | "snowflake", insights: string, ticker: string): string => {
  switch (dialect) {
    case "duckdb":
      return duckdbInsightSentiment(insights, literal(ticker))
    case "postgres":
      return `(jsonb_path_query_first(${insights}::jsonb, ${literal(`strict $[*] ? (@.ticker == "${ticker}").sentiment`)}, '{}', true) #>> '{}')`
    case "mysql":
      return `(SELECT j.s FROM JSON_TABLE(${insights}, '$[*]' COLUMNS (t VARCHAR(255) PATH '$.ticker', s MEDIUMTEXT PATH '$.sentiment')) j WHERE j.t = BINARY ${literal(ticker)} LIMIT 1)`
    case "snowflake":
      return `GET(GET(FILTER(AS_ARRAY(TRY_PARSE_JSON(${insights})), e -> e:ticker::STRING = ${literal(ticker)}), 0), 'sentiment')::STRING`
  }
}

/**
 * The article's sentiment in a news SELECT list: `column` (`x.spy_sentiment`) as is when `insight`
 * is undefined (the statement is then byte for byte the one-underlying one), else the insight for
 * `insight` read from `insights`, named `alias` (so the statement reads it as it read the column).
 */
export const sentimentColumn = (
  dialect: Dialect | "snowflake",
  column: string,
  insights: string,
  alias: string,
  insight: string | undefined
): string => (insight === undefined ? column : `${insightSentiment(dialect, insights, insight)} AS ${alias}`)

/**
 * PostgreSQL and MySQL: the SPY-tagged news of the day, (lo − window, hi] plus the latest at or
 * before lo − window; `sentiment` is the article's sentiment column (`sentimentColumn`).
 */
export const newsOfDay = (o: {
  readonly lo: string
  readonly hi: string
  readonly window: string
  readonly idDesc: string
  readonly tickers: Tickers
  readonly sentiment: string
}) => `
  SELECT x.id, x.published_utc_ms, x.title, ${o.sentiment} FROM news x
  WHERE x.published_utc_ms > ${o.lo} - ${o.window} AND x.published_utc_ms <= ${o.hi} AND x.tickers LIKE ${newsTag(o.tickers)}
  UNION ALL
  (SELECT x.id, x.published_utc_ms, x.title, ${o.sentiment} FROM news x
  WHERE x.published_utc_ms <= ${o.lo} - ${o.window} AND x.tickers LIKE ${newsTag(o.tickers)}
  ORDER BY x.published_utc_ms DESC, ${o.idDesc} DESC LIMIT 1)`
