/**
 * Settings precedence (overrides > environment > .env > settings.yaml > defaults) and the
 * SNOWFLAKE_* fallbacks for the Snowflake sink; a sink enabled without its credentials fails at
 * start naming what is missing (and opens no connection).
 */
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { loadSettings } from "../../src/config/load.js"
import type { Settings } from "../../src/config/Settings.js"
import { timings } from "../../src/layers/Cluster.js"
import * as Sinks from "../../src/layers/Sinks.js"
import * as AppSettings from "../../src/services/AppSettings.js"
import { tempRoot } from "../helpers/settings.js"

const load = (options: Parameters<typeof loadSettings>[0]) =>
  Effect.runPromise(loadSettings(options).pipe(Effect.provide(NodeContext.layer)))
const yamlFile = async (text: string) => {
  const file = path.join(await tempRoot("cfg-"), "settings.yaml")
  await fs.writeFile(file, text)
  return file
}
const envKeys = [
  "SINKS_POSTGRES_BATCH_ROWS",
  "SNOWFLAKE_ACCOUNT",
  "SINKS_LIVE_LOAD_INTERVAL_S",
  "SINKS_LIVE_LOAD_WORKER"
]
afterEach(() => {
  for (const k of envKeys) delete process.env[k]
})

describe("settings", () => {
  it("tickers: SPY and I:VIX by default; tickers.underlying (or the older options.underlying) and tickers.index from YAML; unsafe tickers refused", async () => {
    const d = await load({ ignoreEnv: true })
    expect([d.tickers, d.options.underlying]).toEqual([{ underlying: "SPY", index: "I:VIX" }, "SPY"])
    const set = await load({
      ignoreEnv: true,
      configPath: await yamlFile("tickers:\n  underlying: QQQ\n  index: I:VIX9D\n")
    })
    expect([set.tickers, set.options.underlying]).toEqual([{ underlying: "QQQ", index: "I:VIX9D" }, "QQQ"])
    const legacy = await load({ ignoreEnv: true, configPath: await yamlFile("options:\n  underlying: IWM\n") })
    expect([legacy.tickers.underlying, legacy.options.underlying]).toEqual(["IWM", "IWM"])
    const bad = await Effect.runPromise(
      Effect.either(
        loadSettings({
          ignoreEnv: true,
          configPath: await yamlFile('tickers:\n  underlying: "SPY\'; DROP TABLE x; --"\n')
        })
      ).pipe(Effect.provide(NodeContext.layer))
    )
    expect(Either.isLeft(bad)).toBe(true)
  })

  it("environment beats settings.yaml, overrides beat the environment, defaults fill the rest", async () => {
    const configPath = await yamlFile("sinks:\n  postgres: { batch_rows: 77 }\n  mysql: { batch_rows: 66 }\n")
    expect((await load({ configPath })).sinks.postgres.batchRows).toBe(77)
    process.env["SINKS_POSTGRES_BATCH_ROWS"] = "123"
    const fromEnv = await load({ configPath })
    expect([fromEnv.sinks.postgres.batchRows, fromEnv.sinks.mysql.batchRows, fromEnv.sinks.duckdb.batchRows]).toEqual([
      123, 66, 500_000
    ])
    expect(
      (await load({ configPath, overrides: { sinks: { postgres: { batch_rows: 9 } } } })).sinks.postgres.batchRows
    ).toBe(9)
  })

  it("sinks.live_load_interval_s: 60 by default, 0 turns incremental live loads off, negative is refused", async () => {
    expect((await load({ ignoreEnv: true })).sinks.liveLoadIntervalS).toBe(60)
    expect(
      (await load({ configPath: await yamlFile("sinks:\n  live_load_interval_s: 15\n") })).sinks.liveLoadIntervalS
    ).toBe(15)
    process.env["SINKS_LIVE_LOAD_INTERVAL_S"] = "0"
    expect((await load({})).sinks.liveLoadIntervalS).toBe(0)
    const bad = await Effect.runPromise(
      Effect.either(
        loadSettings({ ignoreEnv: true, overrides: { sinks: { live_load_interval_s: -5 } } }).pipe(
          Effect.provide(NodeContext.layer)
        )
      )
    )
    expect(Either.isLeft(bad) && JSON.stringify(bad.left).includes("sinks.live_load_interval_s must be >= 0")).toBe(
      true
    )
  })

  it("sinks.live_load_worker: true by default (live loads in a worker thread), false from the YAML or SINKS_LIVE_LOAD_WORKER", async () => {
    expect((await load({ ignoreEnv: true })).sinks.liveLoadWorker).toBe(true)
    expect(
      (await load({ configPath: await yamlFile("sinks:\n  live_load_worker: false\n") })).sinks.liveLoadWorker
    ).toBe(false)
    process.env["SINKS_LIVE_LOAD_WORKER"] = "false"
    expect((await load({})).sinks.liveLoadWorker).toBe(false)
  })

  it("cluster failover timings: defaults, from the YAML into the ShardingConfig, a non-positive one refused", async () => {
    const seconds = (d: Duration.DurationInput | undefined) => Duration.toSeconds(Duration.decode(d!))
    const of = (c: Settings["cluster"]) => {
      const t = timings(c)
      return [
        t.shardLockExpiration,
        t.shardLockRefreshInterval,
        t.runnerHealthCheckInterval,
        t.entityMessagePollInterval
      ].map(seconds)
    }
    expect(of((await load({ ignoreEnv: true })).cluster)).toEqual([10, 3, 3, 2])
    const yaml =
      "cluster:\n  shard_lock_expiration_s: 6\n  health_check_interval_s: 1.5\n  message_poll_interval_s: 0.5\n"
    expect(of((await load({ ignoreEnv: true, configPath: await yamlFile(yaml) })).cluster)).toEqual([6, 2, 1.5, 0.5])
    const bad = await Effect.runPromise(
      Effect.either(
        loadSettings({ ignoreEnv: true, overrides: { cluster: { shard_lock_expiration_s: 0 } } }).pipe(
          Effect.provide(NodeContext.layer)
        )
      )
    )
    expect(Either.isLeft(bad) && JSON.stringify(bad.left).includes("shard_lock_expiration_s must be > 0")).toBe(true)
  })

  it("SNOWFLAKE_* variables supply the Snowflake credentials", async () => {
    process.env["SNOWFLAKE_ACCOUNT"] = "acct-from-env"
    const s = await load({
      overrides: { SNOWFLAKE_PASSWORD: "pw-0042", SNOWFLAKE_USER: "u", SNOWFLAKE_DATABASE: "db" }
    })
    expect([
      Option.getOrNull(s.snowflakeEnv.account),
      Option.getOrNull(s.snowflakeEnv.username),
      Option.getOrNull(s.snowflakeEnv.database)
    ]).toEqual(["acct-from-env", "u", "db"])
    expect(Option.map(s.snowflakeEnv.password, Redacted.value)).toEqual(Option.some("pw-0042"))
    expect(String(s.snowflakeEnv.password)).not.toContain("pw-0042")
  })

  it("the Snowflake sink enabled without a password fails at start, naming the variables", async () => {
    const settings = AppSettings.layer({
      ignoreEnv: true,
      overrides: {
        sinks: { enabled: ["snowflake"] },
        SNOWFLAKE_ACCOUNT: "a",
        SNOWFLAKE_USER: "u",
        SNOWFLAKE_DATABASE: "d"
      }
    })
    const result = await Effect.runPromise(
      Effect.either(
        Effect.scoped(Layer.build(Sinks.layer.pipe(Layer.provide(settings), Layer.provide(NodeContext.layer))))
      )
    )
    expect(Either.isLeft(result)).toBe(true)
    expect(JSON.stringify(Either.isLeft(result) ? result.left : "")).toContain("SNOWFLAKE_PASSWORD")
  })

  it("retry.max_retries: 3 by default (4 attempts); max_attempts N is the deprecated spelling of max_retries N-1", async () => {
    expect((await load({ ignoreEnv: true })).retry.maxRetries).toBe(3)
    const retries = await load({ ignoreEnv: true, configPath: await yamlFile("retry: { max_retries: 5 }\n") })
    expect([retries.retry.maxRetries, Option.getOrNull(retries.retry.deprecatedMaxAttempts ?? Option.none())]).toEqual([
      5,
      null
    ])
    const legacy = await load({ ignoreEnv: true, configPath: await yamlFile("retry: { max_attempts: 3 }\n") })
    expect([legacy.retry.maxRetries, Option.getOrNull(legacy.retry.deprecatedMaxAttempts ?? Option.none())]).toEqual([
      2, 3
    ])
    const both = await load({
      ignoreEnv: true,
      configPath: await yamlFile("retry: { max_attempts: 9, max_retries: 1 }\n")
    })
    expect(both.retry.maxRetries).toBe(1)
  })

  it("sinks.enabled: [] in YAML or overrides means no sink", async () => {
    expect(
      (await load({ ignoreEnv: true, configPath: await yamlFile("sinks:\n  enabled: []\n") })).sinks.enabled
    ).toEqual([])
    expect((await load({ ignoreEnv: true, overrides: { sinks: { enabled: [] } } })).sinks.enabled).toEqual([])
    expect(
      (await load({ ignoreEnv: true, overrides: { sinks: { enabled: ["postgres", "mysql"] } } })).sinks.enabled
    ).toEqual(["postgres", "mysql"])
  })
})
