/**
 * The SinkRouter with every sink listed in `sinks.enabled` registered (default: duckdb only).
 * Sinks that are not enabled open no connection. Each SQL sink gets its own client layer, provided
 * locally, so PgClient's and MysqlClient's generic SqlClient never meet.
 *
 *   program.pipe(Effect.provide(Sinks.layer), Effect.provide(AppSettings.layer()))
 *
 * Requires AppSettings; optionally uses a SinkAlerts service if the environment has one (else logs).
 * Fails with SinkError when an enabled sink has no URL/credentials or cannot connect/migrate.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option } from "effect"
import type { SinkName } from "../config/Settings.js"
import { AppSettings } from "../services/AppSettings.js"
import * as DuckDbSink from "../services/sinks/DuckDbSink.js"
import * as LakeReader from "../services/sinks/LakeReader.js"
import * as MysqlSink from "../services/sinks/MysqlSink.js"
import * as PgSink from "../services/sinks/PgSink.js"
import { SinkError, sinkError } from "../services/sinks/Sink.js"
import { sessionTag } from "../services/sinks/statementGuard.js"
import * as SinkRouter from "../services/sinks/SinkRouter.js"
import * as SnowflakeSink from "../services/sinks/SnowflakeSink.js"

const missing = (sink: SinkName, what: string) =>
  Layer.fail(new SinkError({ sink, operation: "configure", message: `sink ${sink} is enabled but ${what} is not set` }))

export const layer: Layer.Layer<SinkRouter.SinkRouter, SinkError, AppSettings> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const enabled = new Set<SinkName>(settings.sinks.enabled)
    const common = {
      newsWindowMinutes: settings.consolidated.newsWindowMinutes,
      commitSlaS: settings.alerts.commitSlaS,
      barSpanMs: settings.options.timespan === "minute" ? 60_000 : 1_000,
      tickers: { ...settings.tickers, underlyings: settings.underlyings.map((u) => u.ticker) }
    }
    const sinks: Array<Layer.Layer<never, SinkError, SinkRouter.SinkRouter | LakeReader.LakeReader>> = []

    if (enabled.has("duckdb"))
      sinks.push(
        SinkRouter.registerLayer(
          DuckDbSink.make({
            root: settings.storage.root,
            path: Option.getOrUndefined(settings.sinks.duckdb.path),
            batchRows: settings.sinks.duckdb.batchRows,
            storage: settings.sinks.duckdb.storage,
            threads: settings.sinks.duckdb.threads,
            ...common
          })
        )
      )

    if (enabled.has("postgres")) {
      const url = Option.orElse(settings.sinks.postgres.url, () => settings.databaseUrl)
      sinks.push(
        Option.isNone(url)
          ? missing("postgres", "sinks.postgres.url / DATABASE_URL")
          : SinkRouter.registerLayer(PgSink.make({ ...settings.sinks.postgres, ...common })).pipe(
              Layer.provide(PgClient.layer({ url: url.value, applicationName: sessionTag() })),
              Layer.mapError(sinkError("postgres", "connect"))
            )
      )
    }

    if (enabled.has("mysql")) {
      const url = Option.orElse(settings.sinks.mysql.url, () => settings.mysqlUrl)
      sinks.push(
        Option.isNone(url)
          ? missing("mysql", "sinks.mysql.url / MYSQL_URL")
          : SinkRouter.registerLayer(MysqlSink.make({ ...settings.sinks.mysql, ...common })).pipe(
              Layer.provide(MysqlClient.layer({ url: url.value })),
              Layer.mapError(sinkError("mysql", "connect"))
            )
      )
    }

    if (enabled.has("snowflake")) {
      const env = settings.snowflakeEnv
      const sf = {
        ...settings.sinks.snowflake,
        account: Option.orElse(settings.sinks.snowflake.account, () => env.account),
        username: Option.orElse(settings.sinks.snowflake.username, () => env.username),
        password: Option.orElse(settings.sinks.snowflake.password, () => env.password),
        database: Option.orElse(settings.sinks.snowflake.database, () => env.database),
        schema: Option.orElse(settings.sinks.snowflake.schema, () => env.schema),
        warehouse: Option.orElse(settings.sinks.snowflake.warehouse, () => env.warehouse)
      }
      const { account, username, password, database } = sf
      if (Option.isNone(account) || Option.isNone(username) || Option.isNone(password) || Option.isNone(database)) {
        const given: Record<string, boolean> = {
          account: Option.isSome(account),
          user: Option.isSome(username),
          password: Option.isSome(password),
          database: Option.isSome(database)
        }
        const unset = Object.keys(given).filter((k) => !given[k])
        sinks.push(
          missing("snowflake", unset.map((k) => `sinks.snowflake.${k} / SNOWFLAKE_${k.toUpperCase()}`).join(", "))
        )
      } else
        sinks.push(
          SinkRouter.registerLayer(
            SnowflakeSink.make({
              root: settings.storage.root,
              account: account.value,
              username: username.value,
              password: password.value,
              database: database.value,
              schema: Option.getOrElse(sf.schema, () => "PUBLIC"),
              warehouse: Option.getOrUndefined(sf.warehouse),
              stage: sf.stage,
              ...common
            })
          )
        )
    }

    return Layer.mergeAll(Layer.empty, ...sinks).pipe(
      Layer.provideMerge(SinkRouter.layer),
      Layer.provide(LakeReader.layer(settings.storage.root))
    )
  })
)
