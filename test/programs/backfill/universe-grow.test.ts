/**
 * A lake grows a second underlying: backfilled with SPY alone, then with SPY and QQQ (and I:SPX
 * beside I:VIX) over the same day. QQQ's bars, set and contracts are added, SPY's stay exactly
 * (its set read back, the same `contracts.json`), every partition equals the truth, and the
 * one-underlying config then finds its day complete (nothing fetched).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { chosenContracts, expectedBars } from "../../helpers/groundTruth.js"
import { tempRoot } from "../../helpers/settings.js"

const SEED = 3
const DAY = "2025-10-28"

const lines = (root: string, feed: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    db.query<{ ticker: string; t: number; close: number }>(
      `SELECT ticker, window_start_ms::DOUBLE AS t, close FROM read_parquet('${root}/raw/${feed}/date=${DAY}/*.parquet')`
    )
  ).pipe(
    Effect.map((rows) => rows.map((r) => `${r.ticker}|${r.t}|${r.close}`).sort()),
    Effect.provide(DuckDb.layer()),
    Effect.scoped
  )

describe("a lake grows a second underlying", () => {
  it.live("SPY alone, then SPY + QQQ: QQQ added, SPY's files and set kept, the truth per ticker", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: "test-key-1234" }))
      const root = yield* Effect.promise(() => tempRoot("universe-grow-"))
      const backfill = (overrides: Record<string, unknown>) =>
        backfillProgram({ startDate: DAY, endDate: DAY }).pipe(
          Effect.provide(BackfillLayer),
          Effect.provide(
            AppSettings.layer({
              configPath: "config/settings.yaml",
              ignoreEnv: true,
              overrides: {
                polygon: { rest_url: sim.url },
                storage: { root },
                sinks: { enabled: [] },
                POLYGON_API_KEY: "test-key-1234",
                ...overrides
              }
            })
          ),
          Effect.provide(NodeContext.layer)
        )
      const market = makeSyntheticMarket(SEED)
      const truth = (tickers: ReadonlyArray<string>) =>
        tickers.flatMap((t) => expectedBars(market, t, DAY).map((b) => `${t}|${b.t}|${b.c}`)).sort()
      const contractsJson = `${root}/raw/contracts/date=${DAY}/contracts.json`

      yield* backfill({})
      const spyOnly = yield* Effect.promise(() => fs.readFile(contractsJson, "utf8"))
      const spySet = chosenContracts(market, DAY).map((c) => c.ticker)
      assert.deepStrictEqual(yield* lines(root, "options"), truth(spySet))

      yield* backfill({ underlyings: [{ ticker: "SPY" }, { ticker: "QQQ" }], indices: ["I:VIX", "I:SPX"] })
      assert.deepStrictEqual(yield* lines(root, "spy"), truth(["SPY", "QQQ"]))
      assert.deepStrictEqual(yield* lines(root, "vix"), truth(["I:VIX", "I:SPX"]))
      assert.strictEqual(
        yield* Effect.promise(() => fs.readFile(contractsJson, "utf8")),
        spyOnly,
        "SPY's set read back"
      )
      const qqqSet = (
        JSON.parse(
          yield* Effect.promise(() => fs.readFile(`${root}/raw/contracts/date=${DAY}/contracts-QQQ.json`, "utf8"))
        ) as { contracts: ReadonlyArray<{ ticker: string; underlying_ticker: string }> }
      ).contracts
      assert.ok(qqqSet.length > 0 && qqqSet.every((c) => c.underlying_ticker === "QQQ"))
      assert.deepStrictEqual(yield* lines(root, "options"), truth([...spySet, ...qqqSet.map((c) => c.ticker)]))
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(`${root}/staging/options`)), [])

      const before = sim.stats().requests
      yield* backfill({})
      assert.strictEqual(sim.stats().requests - before, 1, "the one-underlying day is complete: only the calendar")
      yield* Effect.promise(() => sim.close())
    })
  )
})
