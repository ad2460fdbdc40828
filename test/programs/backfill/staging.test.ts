/**
 * Option contracts are staged as column files (clean) or Parquet files (item path); the day's
 * partition is assembled from both, from memory or, after a failed run, from disk.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ColumnBatch } from "../../../src/domain/columnBatch.js"
import { AlertsLayer, LakeLayer, withContractRegistry } from "../../../src/layers/Backfill.js"
import { PolygonRestFromSettings } from "../../../src/layers/Polygon.js"
import { ColumnFileError, readColumnFile, writeColumnFile } from "../../../src/lib/columnFile.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { PolygonError, PolygonRest } from "../../../src/services/polygon/PolygonRest.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import type { WireAgg } from "../../../src/simulator/MarketData.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot, testSettingsLayer } from "../../helpers/settings.js"

const SEED = 13
const DATE = "2025-10-28"
const KEY = "staging-test-key-7777"

describe("column staging files", () => {
  it("round-trip exactly, and a damaged file is refused", async () => {
    const root = await tempRoot("cols-")
    const batch: ColumnBatch = {
      length: 5,
      doubles: [
        ["a", Float64Array.from([0, -0, 2 ** 53, 1e-300, 123.456])],
        ["b", Float64Array.from([1, 2, 3, 4, 5])]
      ],
      constants: {
        ticker: "O:SPY251028C00580000",
        note: "é\u{1F600}'\"",
        n: 1_761_700_000_123,
        flag: false,
        none: null
      }
    }
    const file = path.join(root, "x", "c.cols")
    await writeColumnFile(file, batch)
    const back = await readColumnFile(file)
    assert.strictEqual(back.length, 5)
    assert.deepStrictEqual(back.constants, batch.constants)
    assert.deepStrictEqual(
      back.doubles.map(([n, v]) => [n, [...v]]),
      batch.doubles.map(([n, v]) => [n, [...v]])
    )
    assert.ok(Object.is(back.doubles[0]![1][1], -0))
    assert.deepStrictEqual(await fs.readdir(path.dirname(file)), ["c.cols"])
    const bytes = await fs.readFile(file)
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 8))
    const refused = await readColumnFile(file).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.instanceOf(refused, ColumnFileError)
  })
})

describe("options day assembled from column and Parquet staging", () => {
  it.live("some contracts through the item path, a failed run, then a re-run: the partition is exact", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: KEY }))
      const root = yield* Effect.promise(() => tempRoot("staging-"))
      const settings = yield* Effect.promise(() =>
        loadTestSettings({
          polygon: { rest_url: sim.url, max_concurrency: 1 },
          storage: { root },
          POLYGON_API_KEY: KEY,
          options: { max_contracts: 12 }
        })
      )
      const contracts = chosenContracts(makeSyntheticMarket(SEED), DATE, 0.01, 12).map((c) => c.ticker)
      assert.strictEqual(contracts.length, 12)
      const itemPath = new Set([contracts[1]!, contracts[4]!, contracts[9]!])
      const failing = new Set([contracts[6]!])
      // Every third contract goes through the item path; the first run fails at the seventh contract.
      const rest = (fail: boolean) =>
        Layer.effect(
          PolygonRest,
          Effect.map(PolygonRest, (live) => ({
            ...live,
            aggsColumnar: (r, shape) =>
              fail && failing.has(r.ticker)
                ? Effect.fail(new PolygonError({ reason: "NotFound", message: "scripted", path: r.ticker }))
                : itemPath.has(r.ticker)
                  ? live.aggs(r).pipe(Effect.map((items) => ({ _tag: "Items" as const, items })))
                  : live.aggsColumnar!(r, shape)
          }))
        ).pipe(Layer.provide(PolygonRestFromSettings))
      const run = (fail: boolean) =>
        backfillProgram({ startDate: DATE, endDate: DATE, feeds: ["options"] }).pipe(
          Effect.provide(
            withContractRegistry(Layer.mergeAll(LakeLayer, rest(fail))).pipe(
              Layer.provide(AlertsLayer),
              Layer.provideMerge(testSettingsLayer(settings))
            )
          )
        )
      const first = yield* run(true).pipe(Effect.exit)
      assert.ok(Exit.isFailure(first))
      const staged = (yield* Effect.promise(() =>
        fs.readdir(path.join(root, "staging/options", `date=${DATE}`))
      )).sort()
      assert.deepStrictEqual(staged.filter((f) => f.endsWith(".cols")).length, 4)
      assert.deepStrictEqual(staged.filter((f) => f.endsWith(".parquet")).length, 2)

      const second = yield* run(false)
      const market = makeSyntheticMarket(SEED)
      const expected = contracts
        .flatMap((t) =>
          (market.secondBars(t, DATE) as ReadonlyArray<WireAgg>).map(
            (b) => `${t}|${b.t}|${b.o}|${b.h}|${b.l}|${b.c}|${b.v}|${b.vw}|${b.n}`
          )
        )
        .sort()
      assert.strictEqual(second.days[0]!.rows.options, expected.length)
      const got = yield* Effect.gen(function* () {
        const db = yield* DuckDb.DuckDb
        return yield* db.query<Record<string, number | string>>(
          `SELECT ticker, window_start_ms::DOUBLE t, open, high, low, close, volume, vwap, transactions::DOUBLE n FROM read_parquet('${root}/raw/options/date=*/*.parquet')`
        )
      }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)
      const keys = got
        .map((r) => ["ticker", "t", "open", "high", "low", "close", "volume", "vwap", "n"].map((k) => r[k]).join("|"))
        .sort()
      assert.ok(
        keys.length === expected.length && keys.every((k, i) => k === expected[i]),
        "the partition is the simulator's bars exactly"
      )
      assert.deepStrictEqual(
        yield* Effect.promise(() => fs.readdir(path.join(root, "staging/options")).catch(() => [])),
        []
      )
      yield* Effect.promise(() => sim.close())
    })
  )
})
