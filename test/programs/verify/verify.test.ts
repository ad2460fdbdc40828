/**
 * `verify` on a real simulated day (backfill of the built-in simulator's default day, no sinks):
 * clean, it reports rows = distinct keys = the simulator's bars for SPY and VIX, 100 % VIX coverage,
 * SPY coverage = the simulator's seconds with a trade, and verdict OK. Then a duplicate key and a
 * gap are planted, and verify names each and fails.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import * as Sinks from "../../../src/layers/Sinks.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import { verifyProgram, verifyReport } from "../../../src/programs/verify.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { expectedBars } from "../../helpers/groundTruth.js"
import { tempRoot } from "../../helpers/settings.js"

const DAY = "2025-10-28"
const SEED = 5

describe("verify", () => {
  it.live(
    "a clean day passes with exact figures; a planted duplicate and a planted SPY gap are named and fail it",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("verify-"))
        const settings = AppSettings.layer({
          configPath: "config/settings.yaml",
          ignoreEnv: true,
          overrides: { storage: { root }, simulator: { seed: SEED }, sinks: { enabled: [] } }
        })
        const run = <A, E>(effect: Effect.Effect<A, E, AppSettings.AppSettings>) =>
          effect.pipe(Effect.provide(settings), Effect.provide(NodeContext.layer))
        yield* run(backfillProgram({ startDate: DAY, endDate: DAY }).pipe(Effect.provide(BackfillLayer)))

        const market = makeSyntheticMarket(SEED)
        const spyBars = expectedBars(market, "SPY", DAY)
        const vixBars = expectedBars(market, "I:VIX", DAY)
        const clean = yield* run(verifyReport({ date: DAY }))
        const by = (feed: string) => clean.feeds.find((f) => f.feed === feed)!
        assert.deepStrictEqual(
          [by("spy").rows, by("spy").distinctKeys, by("spy").duplicateKeys, by("spy").outsideSession],
          [spyBars.length, spyBars.length, 0, 0]
        )
        assert.deepStrictEqual(
          [by("vix").rows, by("vix").distinctKeys, by("vix").tickers[0]!.coveragePct],
          [vixBars.length, vixBars.length, (100 * vixBars.length) / 23_400]
        )
        assert.strictEqual(by("spy").tickers[0]!.coveragePct, (100 * spyBars.length) / 23_400)
        assert.strictEqual(by("options").rows, by("options").distinctKeys)
        assert.strictEqual(by("options").tickers.length, by("contracts").rows)
        assert.deepStrictEqual(clean.problems, [])

        // plant: a second file in the SPY partition repeating two bars, and 10 minutes of VIX removed
        const lake = (sql: string) =>
          DuckDb.DuckDb.pipe(
            Effect.flatMap((db) => db.run(sql)),
            Effect.provide(DuckDb.layer()),
            Effect.scoped
          )
        const spyDir = path.join(root, "raw/spy", `date=${DAY}`)
        const [a, b] = [spyBars[100]!.t, spyBars[200]!.t]
        yield* lake(
          `COPY (SELECT * FROM read_parquet('${spyDir}/*.parquet') WHERE window_start_ms IN (${a}, ${b})) TO '${spyDir}/stray.parquet' (FORMAT parquet)`
        )
        const vixFile = path.join(root, "raw/vix", `date=${DAY}`, "bars-1100.parquet")
        const [from, to] = [nyTimeMs(DAY, 11, 0), nyTimeMs(DAY, 11, 10)]
        yield* lake(
          `COPY (SELECT * FROM read_parquet('${vixFile}') WHERE window_start_ms < ${from} OR window_start_ms >= ${to}) TO '${vixFile}.new' (FORMAT parquet)`
        )
        yield* Effect.promise(() => fs.rename(`${vixFile}.new`, vixFile))

        const failed = yield* run(Effect.either(verifyProgram({ date: DAY })))
        assert.ok(Either.isLeft(failed))
        const problems = Either.isLeft(failed) && failed.left._tag === "VerifyFailed" ? failed.left.problems : []
        assert.deepStrictEqual(problems, [
          `spy: 2 duplicate key(s), e.g. SPY|${a} ×2, SPY|${b} ×2`,
          `vix: I:VIX has no bar for 600 s from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`
        ])
        const spyAfter = (yield* run(verifyReport({ date: DAY, feeds: ["spy"] }))).feeds[0]!
        assert.deepStrictEqual(
          [spyAfter.rows, spyAfter.distinctKeys, spyAfter.files.map((f) => path.basename(f))],
          [
            spyBars.length + 2,
            spyBars.length,
            [
              "bars-0900.parquet",
              "bars-1000.parquet",
              "bars-1100.parquet",
              "bars-1200.parquet",
              "bars-1300.parquet",
              "bars-1400.parquet",
              "bars-1500.parquet",
              "stray.parquet"
            ]
          ]
        )
      })
  )

  // loaded copies (storage: tables), the only warehouse that can miss rows; views over the lake are the lake
  it.live(
    "with the DuckDB sink: its tables and the consolidated view equal the lake's keys; rows missing in the sink are named and fail the day",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("verify-sinks-"))
        const settings = AppSettings.layer({
          configPath: "config/settings.yaml",
          ignoreEnv: true,
          overrides: {
            storage: { root },
            simulator: { seed: SEED },
            sinks: { enabled: ["duckdb"], duckdb: { storage: "tables" } }
          }
        })
        const run = <A, E>(effect: Effect.Effect<A, E, AppSettings.AppSettings>) =>
          effect.pipe(Effect.provide(settings), Effect.provide(NodeContext.layer))
        yield* run(
          backfillProgram({ startDate: DAY, endDate: DAY }).pipe(
            Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer))
          )
        )
        const clean = yield* run(verifyReport({ date: DAY }))
        const keys = new Map(clean.feeds.map((f) => [f.feed, f.distinctKeys]))
        assert.deepStrictEqual(
          clean.sinks.map((s) => [s.table, s.rows]).sort(),
          [
            ["news", keys.get("news")],
            ["option_bars", keys.get("options")],
            ["option_contracts", keys.get("contracts")],
            ["options_consolidated", keys.get("options")],
            ["spy_bars", keys.get("spy")],
            ["vix_values", keys.get("vix")]
          ].sort()
        )
        assert.deepStrictEqual(clean.problems, [])
        yield* DuckDb.DuckDb.pipe(
          Effect.flatMap((db) =>
            db.run(
              `DELETE FROM spy_bars WHERE window_start_ms IN (SELECT window_start_ms FROM spy_bars ORDER BY window_start_ms LIMIT 3)`
            )
          ),
          Effect.provide(DuckDb.layer(path.join(root, "warehouse.duckdb"))),
          Effect.scoped
        )
        const failed = yield* run(verifyReport({ date: DAY }))
        assert.deepStrictEqual(failed.problems, [
          `duckdb: spy_bars has ${keys.get("spy")! - 3} rows for ${DAY}, the lake ${keys.get("spy")} keys`
        ])
        assert.deepStrictEqual((yield* run(verifyReport({ date: DAY, lakeOnly: true }))).problems, [])
      })
  )
})
