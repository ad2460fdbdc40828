/**
 * The platform's settings, described once with Effect Config. Values come from, in order:
 * the environment, `.env`, `config/settings.yaml` (+ `config/retry_policy.yaml` under `retry`),
 * then the defaults below. Env names are the YAML path in CONSTANT_CASE: `polygon.rest_url`
 * is `POLYGON_REST_URL`, `options.max_contracts` is `OPTIONS_MAX_CONTRACTS`.
 */
import { Config, Option, type Redacted } from "effect"
import { RetryPolicyConfig } from "./retryPolicy.js"
import { applyUniverse, UniverseConfig } from "./universe.js"

export type { RetryPolicy } from "./retryPolicy.js"

const str = (name: string, fallback: string) => Config.string(name).pipe(Config.withDefault(fallback))
const num = (name: string, fallback: number) => Config.number(name).pipe(Config.withDefault(fallback))
const int = (name: string, fallback: number) => Config.integer(name).pipe(Config.withDefault(fallback))
const bool = (name: string, fallback: boolean) => Config.boolean(name).pipe(Config.withDefault(fallback))
const optStr = (name: string) => Config.option(Config.string(name))
const ticker = Config.string().pipe(
  Config.validate({
    message: "a ticker is 1-40 of A-Z a-z 0-9 : . _ -",
    validation: (t) => /^[A-Za-z0-9:._-]{1,40}$/.test(t) && !t.includes("..")
  })
)
/** The underlying: `tickers.underlying`, else the older `options.underlying`, else SPY (both keys always agree). */
const underlying = Config.nested(Config.nested(ticker, "underlying"), "tickers").pipe(
  Config.orElse(() => Config.nested(Config.nested(ticker, "underlying"), "options")),
  Config.withDefault("SPY")
)
const enabled = (feed: string, fallback = true) =>
  Config.all({ enabled: bool("enabled", fallback) }).pipe(Config.nested(feed))

/**
 * Effect's JSON ConfigProvider reads an empty array as one missing element: the loader writes `[]`
 * as `[EMPTY_LIST]` and list settings drop the marker, so `sinks.enabled: []` means no sink.
 */
export const EMPTY_LIST = "<empty list>"

const positive = (name: string, fallback: number) =>
  num(name, fallback).pipe(
    Config.validate({ message: `${name} must be > 0`, validation: (n) => Number.isFinite(n) && n > 0 })
  )

/** Server-side statement limits of a SQL sink (statementGuard.ts), and its test-only fault knob. */
const sqlBounds = {
  /** Seconds the server lets one load statement (a batch of batch_rows rows) run before cancelling it; an overwrite transaction gets it per started batch. */
  statementTimeoutS: positive("statement_timeout_s", 60),
  /** Seconds the server lets the consolidation of one day (a single statement) run. */
  consolidateTimeoutS: positive("consolidate_timeout_s", 600),
  /** FAULT INJECTION, tests only: the server sleeps this long inside every consolidate transaction (0 = off). */
  faultSleepConsolidateS: num("fault_sleep_consolidate_s", 0)
}

export const SinkNames = ["duckdb", "postgres", "mysql", "snowflake"] as const
export type SinkName = (typeof SinkNames)[number]

const BaseSettingsConfig = Config.all({
  polygon: Config.all({
    restUrl: str("rest_url", "builtin"),
    wsUrl: str("ws_url", "builtin"),
    /** Concurrent REST requests (the real API asks for < 100 requests/s). */
    maxConcurrency: int("max_concurrency", 8),
    /** The plan's REST limit (5 on the free plan; 0 = unlimited): one limiter paces every REST call of the process. */
    requestsPerMinute: int("requests_per_minute", 0),
    pageLimit: int("page_limit", 50_000),
    /**
     * `realtime` (default) or `delayed` (the 15-minute plans, `wss://delayed.polygon.io`): with
     * `delayed`, `live` runs its session on the feed clock, wall clock − `feed_delay_s`.
     */
    feed: Config.literal("realtime", "delayed")("feed").pipe(Config.withDefault("realtime" as const)),
    feedDelayS: num("feed_delay_s", 900).pipe(
      Config.validate({ message: "polygon.feed_delay_s must be >= 0", validation: (n) => Number.isFinite(n) && n >= 0 })
    )
  }).pipe(Config.nested("polygon")),
  apiKey: Config.option(Config.redacted("POLYGON_API_KEY")),
  massiveApiKey: Config.option(Config.redacted("MASSIVE_API_KEY")),
  simulator: Config.all({
    seed: int("seed", 42),
    /** The built-in simulator's plan limit: REST requests per rolling minute (0 = unlimited), 429 beyond it. */
    rateLimit: int("rate_limit", 0),
    /** The built-in simulator serves pre-market/after-hours REST bars, as the real API does. */
    extendedHours: bool("extended_hours", true),
    /** The built-in simulator's feed delay (`simulate --delay-s`); with `polygon.feed: delayed` it is `polygon.feed_delay_s`. */
    delayS: num("delay_s", 0).pipe(
      Config.validate({ message: "simulator.delay_s must be >= 0", validation: (n) => Number.isFinite(n) && n >= 0 })
    )
  }).pipe(Config.nested("simulator")),
  /**
   * Which bars are stored: `regular` keeps 09:30:00 ≤ start < 16:00:00 America/New_York (13:00 on
   * early closes) in every bar feed, backfill and live alike, and counts the rest; `extended` keeps all.
   */
  session: Config.all({
    hours: Config.literal("regular", "extended")("hours").pipe(Config.withDefault("regular" as const))
  }).pipe(Config.nested("session")),
  storage: Config.all({ root: str("root", "data") }).pipe(Config.nested("storage")),
  /** The backfill range when the CLI gives none (`--start-date`/`--end-date` win). */
  backfill: Config.all({ startDate: optStr("start_date"), endDate: optStr("end_date") }).pipe(
    Config.nested("backfill")
  ),
  logging: Config.all({
    level: Config.literal(
      "all",
      "trace",
      "debug",
      "info",
      "warning",
      "error",
      "fatal",
      "none"
    )("level").pipe(Config.withDefault("info" as const)),
    /** Also append every log line to data/logs/YYYY-MM-DD.log. */
    file: bool("file", false)
  }).pipe(Config.nested("logging")),
  feeds: Config.all({
    spy: enabled("spy"),
    options: enabled("options"),
    vix: enabled("vix"),
    news: enabled("news")
  }).pipe(Config.nested("feeds")),
  /** SCOPE's ticker symbols: the underlying (its bars, its options, its news) and the index (the `vix` feed). */
  tickers: Config.all({
    underlying,
    index: Config.nested(Config.nested(ticker, "index"), "tickers").pipe(Config.withDefault("I:VIX"))
  }),
  options: Config.zipWith(
    underlying,
    Config.all({
      strikeBandPct: num("strike_band_pct", 0.01),
      maxContracts: int("max_contracts", 100),
      expiration: Config.literal(
        "next_trading_day",
        "same_day"
      )("expiration").pipe(Config.withDefault("next_trading_day" as const)),
      timespan: Config.literal("second", "minute")("timespan").pipe(Config.withDefault("second" as const)),
      recenter: Config.all({
        enabled: bool("enabled", false),
        bandPct: num("band_pct", 0.005),
        cooldownS: int("cooldown_s", 300)
      }).pipe(Config.nested("recenter"))
    }).pipe(Config.nested("options")),
    (u, o) => ({ underlying: u, ...o })
  ),
  news: Config.all({ pollIntervalS: num("poll_interval_s", 30) }).pipe(Config.nested("news")),
  clock: Config.all({ start: optStr("start"), speed: num("speed", 1) }).pipe(Config.nested("clock")),
  live: Config.all({
    maxSubscriptionsPerConnection: int("max_subscriptions_per_connection", 100),
    /** The plan's WebSocket connections per cluster and key (the real plans: 1; 0 = not checked). */
    maxConnectionsPerCluster: int("max_connections_per_cluster", 0),
    idleTimeoutS: num("idle_timeout_s", 30),
    /** Keepalive: a WebSocket ping every ping_interval_s (0 = none), dead without a pong within pong_timeout_s. */
    pingIntervalS: num("ping_interval_s", 10),
    pongTimeoutS: num("pong_timeout_s", 10),
    /** How long before the open `live` may start, connect and wait for the first bars. */
    preOpenS: num("pre_open_s", 120),
    reconnectBaseMs: int("reconnect_base_ms", 500),
    reconnectMaxMs: int("reconnect_max_ms", 30_000),
    maxConnectionsRetryS: num("max_connections_retry_s", 60),
    shutdownBeforeCloseS: num("shutdown_before_close_s", 60),
    /**
     * The tail of the day: after stopping before the close, wait until close + this many seconds,
     * then fetch every subscribed ticker's bars up to the close over REST (committed as repairs).
     * Negative = no tail fetch.
     */
    closeFetchDelayS: num("close_fetch_delay_s", 15)
  }).pipe(Config.nested("live")),
  journal: Config.all({
    /** `none`: written, not fsynced (survives kill -9, not a power cut); `batch`: group-committed fdatasync before the writer reads. */
    fsync: Config.literal("none", "batch")("fsync").pipe(Config.withDefault("none" as const)),
    /** Journals of dates more than this many trading days back, fully checkpointed, are deleted at live start. */
    retainDays: int("retain_days", 7)
  }).pipe(Config.nested("journal")),
  flush: Config.all({ intervalS: num("interval_s", 5), maxRows: int("max_rows", 50_000) }).pipe(Config.nested("flush")),
  lateData: Config.all({ graceSeconds: num("grace_seconds", 0) }).pipe(Config.nested("late_data")),
  heartbeat: Config.all({ intervalS: num("interval_s", 300), staleAfterS: num("stale_after_s", 900) }).pipe(
    Config.nested("heartbeat")
  ),
  alerts: Config.all({
    webhookUrl: optStr("webhook_url"),
    commitSlaS: num("commit_sla_s", 300),
    errorRatePct: num("error_rate_pct", 1),
    errorWindowS: num("error_window_s", 900),
    maxConsecutiveConnectionFailures: int("max_consecutive_connection_failures", 3)
  }).pipe(Config.nested("alerts")),
  /** The live status page, /metrics and /healthz (port 0 = off; 127.0.0.1 unless host says otherwise). */
  http: Config.all({ port: int("port", 8787), host: str("host", "127.0.0.1") }).pipe(Config.nested("http")),
  /** `verify`: a SPY or VIX gap longer than this fails the day. */
  verify: Config.all({ maxGapS: num("max_gap_s", 60) }).pipe(Config.nested("verify")),
  consolidated: Config.all({ newsWindowMinutes: num("news_window_minutes", 15) }).pipe(Config.nested("consolidated")),
  sinks: Config.all({
    enabled: Config.array(Config.literal(...SinkNames, EMPTY_LIST)(), "enabled").pipe(
      Config.map((names) => names.filter((n): n is SinkName => n !== EMPTY_LIST)),
      Config.withDefault(["duckdb" as SinkName])
    ),
    /** Seconds between incremental loads of the live day's new lake files into the sinks (0 = only at the end of the day). */
    liveLoadIntervalS: num("live_load_interval_s", 60).pipe(
      Config.validate({
        message: "sinks.live_load_interval_s must be >= 0",
        validation: (n) => Number.isFinite(n) && n >= 0
      })
    ),
    /** Run those loads in a worker thread (default), so they never delay the sockets; false = on the main thread. */
    liveLoadWorker: Config.boolean("live_load_worker").pipe(Config.withDefault(true)),
    duckdb: Config.all({
      path: optStr("path"),
      batchRows: int("batch_rows", 500_000),
      /** `lake`: the feed tables are views over the lake's Parquet (nothing copied); `tables`: loaded copies (upserts). */
      storage: Config.literal("lake", "tables")("storage").pipe(Config.withDefault("lake" as const)),
      /** DuckDB threads per statement in the warehouse. */
      threads: positive("threads", 2).pipe(Config.map(Math.trunc))
    }).pipe(Config.nested("duckdb")),
    postgres: Config.all({
      url: Config.option(Config.redacted("url")),
      batchRows: int("batch_rows", 5_000),
      maxInFlight: int("max_in_flight", 2),
      maxRowsPerSecond: int("max_rows_per_second", 0),
      ...sqlBounds
    }).pipe(Config.nested("postgres")),
    mysql: Config.all({
      url: Config.option(Config.redacted("url")),
      batchRows: int("batch_rows", 2_000),
      maxInFlight: int("max_in_flight", 2),
      maxRowsPerSecond: int("max_rows_per_second", 0),
      ...sqlBounds
    }).pipe(Config.nested("mysql")),
    snowflake: Config.all({
      account: optStr("account"),
      username: optStr("user"),
      password: Config.option(Config.redacted("password")),
      database: optStr("database"),
      schema: optStr("schema"),
      warehouse: optStr("warehouse"),
      stage: str("stage", "SPY_LAKE_STAGE")
    }).pipe(Config.nested("snowflake"))
  }).pipe(Config.nested("sinks")),
  /**
   * `runner` and `backfill --cluster` (issue 17): this runner's address (host:port, reachable by the other
   * runners), the shards, and each runner's units at a time. Cluster tables go to `database_url`, else DATABASE_URL.
   */
  cluster: Config.all({
    host: str("host", "127.0.0.1"),
    port: int("port", 34431),
    databaseUrl: Config.option(Config.redacted("database_url")),
    shards: int("shards", 300),
    unitsPerRunner: int("units_per_runner", 4),
    /** `backfill --cluster`: load each date into the sinks as soon as its units are done, while the runners work (false: after the last unit). */
    overlapSinkLoads: Config.boolean("overlap_sink_loads").pipe(Config.withDefault(false)),
    /** Failover (src/layers/Cluster.ts): a dead runner's shard locks expire after this long, then its shards move. */
    shardLockExpirationS: positive("shard_lock_expiration_s", 10),
    /** How often one runner pings the others and marks an unreachable one unhealthy. */
    healthCheckIntervalS: positive("health_check_interval_s", 3),
    /** How often a runner reads unprocessed messages of its shards from storage (a moved shard's, too). */
    messagePollIntervalS: positive("message_poll_interval_s", 2)
  }).pipe(Config.nested("cluster")),
  /** Top-level env fallbacks named by the issues. */
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  mysqlUrl: Config.option(Config.redacted("MYSQL_URL")),
  /** SNOWFLAKE_ACCOUNT, _USER, _PASSWORD, _DATABASE, _SCHEMA, _WAREHOUSE (used where sinks.snowflake.* is unset). */
  snowflakeEnv: Config.all({
    account: Config.option(Config.string("SNOWFLAKE_ACCOUNT")),
    username: Config.option(Config.string("SNOWFLAKE_USER")),
    password: Config.option(Config.redacted("SNOWFLAKE_PASSWORD")),
    database: Config.option(Config.string("SNOWFLAKE_DATABASE")),
    schema: Config.option(Config.string("SNOWFLAKE_SCHEMA")),
    warehouse: Config.option(Config.string("SNOWFLAKE_WAREHOUSE"))
  }),
  retry: RetryPolicyConfig
})

/** Everything, with `underlyings` and `indices` (./universe.ts) resolved against `tickers.*` and `options.*`. */
export const SettingsConfig = Config.zipWith(BaseSettingsConfig, UniverseConfig, (base, input) => ({
  base,
  input
})).pipe(Config.mapOrFail(({ base, input }) => applyUniverse(base, input)))

export type Settings = Config.Config.Success<typeof SettingsConfig>

/** The live feed's delay in ms: `polygon.feed_delay_s` on a `delayed` feed, else 0. */
/** The built-in simulator's delay in seconds: the feed's on a `delayed` feed (so the two agree), else `simulator.delay_s`. */
export const simulatorDelayS = (s: Pick<Settings, "polygon" | "simulator">): number =>
  s.polygon.feed === "delayed" ? s.polygon.feedDelayS : s.simulator.delayS

export const feedDelayMs = (s: Pick<Settings, "polygon">): number =>
  s.polygon.feed === "delayed" ? s.polygon.feedDelayS * 1000 : 0

/** Which variable supplied the key, for messages that must name it. */
export const apiKeyOf = (
  s: Settings
): Option.Option<{ readonly key: Redacted.Redacted<string>; readonly variable: string }> =>
  Option.orElse(
    Option.map(s.apiKey, (key) => ({ key, variable: "POLYGON_API_KEY" })),
    () => Option.map(s.massiveApiKey, (key) => ({ key, variable: "MASSIVE_API_KEY" }))
  )
