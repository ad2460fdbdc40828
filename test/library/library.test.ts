/**
 * The platform as a library: another Effect app imports only the package entry (src/index.ts),
 * composes the documented layers and runs a backfill of one day against the built-in simulator.
 * Exact: the SPY partition equals the simulator's bars, and options_consolidated in the embedded
 * DuckDB has one row per option bar of the lake.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { AppSettings, DuckDb, Layers, Programs, SyntheticMarket } from "../../src/index.js"
import { expectedBars } from "../helpers/groundTruth.js"
import { tempRoot } from "../helpers/settings.js"

const DAY = "2025-10-28"

describe("library entry", () => {
  it.live("backfill + sinks composed from the exported layers: the lake and the consolidated view are exact", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("library-"))
      const settingsLayer = AppSettings.layer({
        configPath: "config/settings.yaml",
        ignoreEnv: true,
        overrides: { storage: { root }, simulator: { seed: 5 } } // polygon.*_url default to the built-in simulator
      })
      const summary = yield* Programs.backfillProgram({ startDate: DAY, endDate: DAY }).pipe(
        Effect.provide(Layer.mergeAll(Layers.Backfill.BackfillLayer, Layers.Sinks.layer)),
        Effect.provide(settingsLayer),
        Effect.provide(NodeContext.layer)
      )
      assert.deepStrictEqual(
        summary.days.map((d) => d.date),
        [DAY]
      )

      const market = SyntheticMarket.makeSyntheticMarket(5)
      const lake = (sql: string) =>
        DuckDb.DuckDb.pipe(
          Effect.flatMap((db) => db.query<Record<string, unknown>>(sql)),
          Effect.provide(DuckDb.layer()),
          Effect.scoped
        )
      const spy = yield* lake(
        `SELECT window_start_ms::DOUBLE AS t, close FROM read_parquet('${root}/raw/spy/date=${DAY}/*.parquet') ORDER BY t`
      )
      assert.deepStrictEqual(
        spy.map((r) => `${r["t"]}|${r["close"]}`),
        expectedBars(market, "SPY", DAY).map((b) => `${b.t}|${b.c}`)
      )

      const [options] = yield* lake(
        `SELECT count(*)::DOUBLE AS n FROM read_parquet('${root}/raw/options/date=${DAY}/*.parquet')`
      )
      const warehouse = path.join(root, "warehouse.duckdb")
      const [view] = yield* DuckDb.DuckDb.pipe(
        Effect.flatMap((db) =>
          db.query<Record<string, unknown>>(
            `SELECT count(*)::DOUBLE AS n, count(DISTINCT (ticker, window_start_ms))::DOUBLE AS k FROM options_consolidated WHERE date = '${DAY}'`
          )
        ),
        Effect.provide(DuckDb.layer(warehouse)),
        Effect.scoped
      )
      assert.isAbove(Number(options!["n"]), 10_000)
      assert.strictEqual(view!["n"], options!["n"])
      assert.strictEqual(view!["k"], options!["n"])
    })
  )
})
