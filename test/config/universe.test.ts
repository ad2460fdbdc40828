/**
 * `underlyings:` and `indices:` (src/config/universe.ts) and the start-time checks
 * (src/config/checks.ts): a one-underlying config means what it meant before; every underlying's
 * rule defaults to `options.*`; bad lists are refused at load; `live` refuses a config that needs
 * more WebSocket connections than the plan allows, saying how many; `live` refuses several
 * underlyings, `backfill` too unless the lake is its only destination, exit 2, before any request.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { checkConnectionPlan, connectionNeeds } from "../../src/config/checks.js"
import { loadSettings } from "../../src/config/load.js"
import { buildIfStale } from "../helpers/build.js"
import { runCli } from "../helpers/cli.js"
import { tempRoot } from "../helpers/settings.js"

const load = (text: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const file = path.join(yield* Effect.promise(() => tempRoot("universe-")), "settings.yaml")
      yield* Effect.promise(() => fs.writeFile(file, text))
      return yield* Effect.either(loadSettings({ configPath: file, ignoreEnv: true }))
    }).pipe(Effect.provide(NodeContext.layer))
  )
const settingsOf = async (text: string) => {
  const r = await load(text)
  if (Either.isLeft(r)) throw new Error(String(r.left))
  return r.right
}

const SPY_RULE = {
  ticker: "SPY",
  strikeBandPct: 0.01,
  maxContracts: 100,
  expiration: "next_trading_day",
  recenter: { enabled: false, bandPct: 0.005, cooldownS: 300 },
  news: true
}

describe("underlyings and indices", () => {
  beforeAll(() => buildIfStale(), 120_000)

  it("default: one underlying from tickers.* and options.*, which stay exactly as before", async () => {
    const s = await settingsOf("")
    expect(s.underlyings).toEqual([SPY_RULE])
    expect(s.indices).toEqual(["I:VIX"])
    expect(s.tickers).toEqual({ underlying: "SPY", index: "I:VIX" })
    expect(s.options).toEqual({
      underlying: "SPY",
      strikeBandPct: 0.01,
      maxContracts: 100,
      expiration: "next_trading_day",
      timespan: "second",
      recenter: { enabled: false, bandPct: 0.005, cooldownS: 300 }
    })
    const legacy = await settingsOf("tickers: { underlying: QQQ, index: I:NDX }\noptions: { max_contracts: 40 }\n")
    expect(legacy.underlyings).toEqual([{ ...SPY_RULE, ticker: "QQQ", maxContracts: 40 }])
    expect(legacy.indices).toEqual(["I:NDX"])
  })

  it("a list: every rule defaults to options.*; the first entries become tickers.* and options.*", async () => {
    const s = await settingsOf(
      [
        "options: { max_contracts: 60, strike_band_pct: 0.02 }",
        "underlyings:",
        "  - { ticker: SPY, max_contracts: 80, recenter: { enabled: true } }",
        "  - { ticker: QQQ, expiration: same_day, news: false }",
        "indices: [I:VIX, I:SPX]"
      ].join("\n")
    )
    expect(s.underlyings).toEqual([
      {
        ...SPY_RULE,
        maxContracts: 80,
        strikeBandPct: 0.02,
        recenter: { enabled: true, bandPct: 0.005, cooldownS: 300 }
      },
      { ...SPY_RULE, ticker: "QQQ", maxContracts: 60, strikeBandPct: 0.02, expiration: "same_day", news: false }
    ])
    expect(s.indices).toEqual(["I:VIX", "I:SPX"])
    expect(s.tickers).toEqual({ underlying: "SPY", index: "I:VIX" })
    expect([s.options.maxContracts, s.options.strikeBandPct, s.options.recenter.enabled]).toEqual([80, 0.02, true])
  })

  it("refuses duplicates, non-index indices, unsafe tickers and empty lists, naming each problem", async () => {
    const r = await load('underlyings: [{ ticker: SPY }, { ticker: SPY }, { ticker: "Q\'Q" }]\nindices: [VIX, I:SPX]\n')
    expect(Either.isLeft(r)).toBe(true)
    const text = String(Either.isLeft(r) ? r.left : "")
    expect(text).toContain("SPY is listed twice")
    expect(text).toContain("indices: VIX is not an index ticker")
    expect(text).toContain(`"Q'Q": a ticker is`)
    const empty = await load("indices: []\n")
    expect(String(Either.isLeft(empty) ? empty.left : "")).toContain("at least one index is needed")
  })

  it("connection needs per cluster, and the plan check names the cluster and how many connections", async () => {
    const s = await settingsOf(
      "underlyings: [{ ticker: SPY, max_contracts: 100 }, { ticker: QQQ, max_contracts: 150 }]\nindices: [I:VIX, I:SPX]\n"
    )
    expect(connectionNeeds(s).map((n) => [n.cluster, n.subscriptions, n.connections])).toEqual([
      ["stocks", 2, 1],
      ["options", 250, 3],
      ["indices", 2, 1]
    ])
    expect(checkConnectionPlan(s)).toBeUndefined() // 0 = not checked
    expect(checkConnectionPlan({ ...s, live: { ...s.live, maxConnectionsPerCluster: 3 } })).toBeUndefined()
    const refused = checkConnectionPlan({ ...s, live: { ...s.live, maxConnectionsPerCluster: 2 } })
    expect(refused?.message).toMatch(
      /^live needs 3 WebSocket connections on the options cluster \(250 option contracts \(SPY 100, QQQ 150\), at most 100 per connection\), but live\.max_connections_per_cluster is 2/
    )
    // a re-centring underlying shards its own contracts: QQQ's 150 on 2 connections, SPY's 100 on 1
    const recentred = {
      ...s,
      underlyings: s.underlyings.map((u, i) => (i === 1 ? { ...u, recenter: { ...u.recenter, enabled: true } } : u))
    }
    expect(connectionNeeds(recentred).map((n) => [n.cluster, n.subscriptions, n.connections])).toEqual([
      ["stocks", 2, 1],
      ["options", 250, 3],
      ["indices", 2, 1]
    ])
    const shared = { ...s, live: { ...s.live, maxSubscriptionsPerConnection: 125 } }
    expect(connectionNeeds(shared).find((n) => n.cluster === "options")?.connections).toBe(2) // 250 together
    const apart = { ...recentred, live: { ...s.live, maxSubscriptionsPerConnection: 125 } }
    expect(connectionNeeds(apart).find((n) => n.cluster === "options")?.connections).toBe(3) // QQQ 150 → 2, SPY 100 → 1
    expect(checkConnectionPlan({ ...apart, live: { ...apart.live, maxConnectionsPerCluster: 2 } })?.message).toContain(
      "live needs 3 WebSocket connections on the options cluster (250 option contracts (SPY 100, QQQ 150; re-centring on their own connections: QQQ)"
    )
  })

  it("the CLI refuses at start, exit 2: live over the plan's connections", async () => {
    const root = await tempRoot("universe-cli-")
    const config = path.join(root, "settings.yaml")
    await fs.writeFile(config, "options: { max_contracts: 150 }\nlive: { max_connections_per_cluster: 1 }\n")
    const env = { STORAGE_ROOT: root, POLYGON_REST_URL: "http://127.0.0.1:9", POLYGON_WS_URL: "ws://127.0.0.1:9" }
    const live = await runCli(["live", "--config", config], { ...env, POLYGON_API_KEY: "k" })
    expect(live.code).toBe(2)
    expect(live.stderr + live.stdout).toContain(
      "live needs 2 WebSocket connections on the options cluster (150 option contracts (SPY 150), at most 100 per connection), but live.max_connections_per_cluster is 1"
    )
  }, 60_000)
})
