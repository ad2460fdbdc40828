/**
 * The lake's schema: one column list per feed. This file is the single source of truth for
 * Parquet files, quarantine, the SQL sinks and the README's column reference.
 *
 * Every row handed to the lake writer is a plain object keyed by these column names.
 * Timestamps travel as epoch milliseconds (`*_ms`); the writer derives the matching
 * `TIMESTAMP WITH TIME ZONE` column (UTC) from each `*_ms` column listed in `timestamps`.
 */
export type Feed = "spy" | "options" | "vix" | "news" | "contracts"
export const MARKET_FEEDS = ["spy", "options", "vix", "news"] as const
export type MarketFeed = (typeof MARKET_FEEDS)[number]

export type ColumnType = "BIGINT" | "DOUBLE" | "VARCHAR" | "BOOLEAN"

export interface Column {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  readonly doc: string
}

export interface FeedSchema {
  readonly feed: Feed
  readonly columns: ReadonlyArray<Column>
  /** The natural key: one stored row per key, the latest received version wins. */
  readonly key: ReadonlyArray<string>
  /** `[msColumn, timestampColumn]`: TIMESTAMPTZ columns the writer derives. */
  readonly timestamps: ReadonlyArray<readonly [string, string]>
}

const c = (name: string, type: ColumnType, nullable: boolean, doc: string): Column => ({ name, type, nullable, doc })

/** Columns shared by every row, whatever the feed: provenance and forward compatibility. */
const provenance: ReadonlyArray<Column> = [
  c(
    "source",
    "VARCHAR",
    false,
    "`rest` (backfill), `ws` (live stream) or `repair` (REST gap repair after a reconnect)"
  ),
  c(
    "received_at_ms",
    "BIGINT",
    false,
    "when the platform received the row (epoch ms, Effect Clock); the latest version of a key wins"
  ),
  c(
    "extra",
    "VARCHAR",
    true,
    "JSON object of fields the API sent that this schema does not know yet (schema drift); null when none"
  )
]

const aggColumns: ReadonlyArray<Column> = [
  c("ticker", "VARCHAR", false, "`SPY` or the OCC option ticker `O:SPY251028C00580000`"),
  c("window_start_ms", "BIGINT", false, "bar window start, epoch ms (REST `t`, WebSocket `s`)"),
  c("open", "DOUBLE", false, "`o`"),
  c("high", "DOUBLE", false, "`h`"),
  c("low", "DOUBLE", false, "`l`"),
  c("close", "DOUBLE", false, "`c`"),
  c(
    "volume",
    "DOUBLE",
    false,
    "`v`, exactly as sent (the API sends fractional volumes too; DOUBLE is exact for integers up to 2^53)"
  ),
  c("vwap", "DOUBLE", true, "`vw`, the window's VWAP"),
  c("transactions", "BIGINT", true, "`n`, REST only"),
  c("window_end_ms", "BIGINT", true, "`e`, WebSocket only"),
  c("accumulated_volume", "DOUBLE", true, "`av`, today's volume so far, WebSocket only"),
  c("official_open", "DOUBLE", true, "`op`, today's official open, WebSocket only"),
  c("day_vwap", "DOUBLE", true, "`a`, today's VWAP, WebSocket only"),
  c("avg_trade_size", "DOUBLE", true, "`z`, WebSocket only"),
  c("otc", "BOOLEAN", true, "`otc`, present only when true")
]

export const SPY_SCHEMA: FeedSchema = {
  feed: "spy",
  columns: [...aggColumns, ...provenance],
  key: ["ticker", "window_start_ms"],
  timestamps: [["window_start_ms", "window_start"]]
}

export const OPTIONS_SCHEMA: FeedSchema = { ...SPY_SCHEMA, feed: "options" }

export const VIX_SCHEMA: FeedSchema = {
  feed: "vix",
  columns: [
    c("ticker", "VARCHAR", false, "`I:VIX`"),
    c("window_start_ms", "BIGINT", false, "value window start, epoch ms (REST `t`, WebSocket `s`)"),
    c("open", "DOUBLE", false, "`o`"),
    c("high", "DOUBLE", false, "`h`"),
    c("low", "DOUBLE", false, "`l`"),
    c("close", "DOUBLE", false, "`c`: the index value at the end of the second"),
    c("window_end_ms", "BIGINT", true, "`e`, WebSocket only"),
    c("official_open", "DOUBLE", true, "`op`, WebSocket only"),
    ...provenance
  ],
  key: ["ticker", "window_start_ms"],
  timestamps: [["window_start_ms", "window_start"]]
}

export const NEWS_SCHEMA: FeedSchema = {
  feed: "news",
  columns: [
    c("id", "VARCHAR", false, "article id"),
    c("published_utc_ms", "BIGINT", false, "`published_utc` as epoch ms"),
    c("title", "VARCHAR", false, "headline"),
    c("author", "VARCHAR", false, "author"),
    c("article_url", "VARCHAR", false, "link to the article"),
    c("publisher_name", "VARCHAR", false, "`publisher.name`"),
    c("publisher_homepage_url", "VARCHAR", true, "`publisher.homepage_url`"),
    c("publisher_logo_url", "VARCHAR", true, "`publisher.logo_url`"),
    c("publisher_favicon_url", "VARCHAR", true, "`publisher.favicon_url`"),
    c("tickers", "VARCHAR", false, "JSON array of tickers"),
    c("amp_url", "VARCHAR", true, "`amp_url`"),
    c("image_url", "VARCHAR", true, "`image_url`"),
    c("description", "VARCHAR", true, "`description`"),
    c("keywords", "VARCHAR", true, "JSON array of keywords"),
    c("insights", "VARCHAR", true, "JSON array of `{ticker, sentiment, sentiment_reasoning}`"),
    c("spy_sentiment", "VARCHAR", true, "the insight's sentiment for SPY: positive, neutral or negative"),
    c("spy_sentiment_reasoning", "VARCHAR", true, "the insight's reasoning for SPY"),
    ...provenance
  ],
  key: ["id"],
  timestamps: [["published_utc_ms", "published_utc"]]
}

export const CONTRACTS_SCHEMA: FeedSchema = {
  feed: "contracts",
  columns: [
    c("as_of", "VARCHAR", false, "the trading date this contract set was chosen for (YYYY-MM-DD)"),
    c("ticker", "VARCHAR", false, "OCC option ticker"),
    c("underlying_ticker", "VARCHAR", false, "`SPY`"),
    c("contract_type", "VARCHAR", false, "`call` or `put`"),
    c("exercise_style", "VARCHAR", true, "`american`"),
    c("expiration_date", "VARCHAR", false, "YYYY-MM-DD"),
    c("strike_price", "DOUBLE", false, "strike"),
    c("shares_per_contract", "DOUBLE", true, "usually 100"),
    c("primary_exchange", "VARCHAR", true, "MIC"),
    c("cfi", "VARCHAR", true, "ISO 10962 code"),
    c("correction", "BIGINT", true, "`correction`"),
    c("additional_underlyings", "VARCHAR", true, "JSON array, when present"),
    c("open_price", "DOUBLE", false, "SPY's official open the set was centred on"),
    c("moneyness_rank", "BIGINT", false, "0 = nearest the money"),
    ...provenance
  ],
  key: ["as_of", "ticker"],
  timestamps: []
}

export const SCHEMAS: Readonly<Record<Feed, FeedSchema>> = {
  spy: SPY_SCHEMA,
  options: OPTIONS_SCHEMA,
  vix: VIX_SCHEMA,
  news: NEWS_SCHEMA,
  contracts: CONTRACTS_SCHEMA
}

export type Row = Record<string, string | number | boolean | null>
