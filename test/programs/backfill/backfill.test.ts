import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { nyDateOf } from "../../../src/domain/calendar.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { chosenContracts, expectedBars } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot, testSettingsLayer } from "../../helpers/settings.js"

const SEED = 7
const DAYS = ["2025-10-27", "2025-10-28"]

const readLake = (root: string, feed: string, cols: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.DuckDb
    return yield* db.query<Record<string, unknown>>(
      `SELECT ${cols}, date::VARCHAR AS date FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet', hive_partitioning = true) ORDER BY ALL`
    )
  }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)

describe("backfill end to end through loopback HTTP", () => {
  it.live("two simulated days: the lake equals what the simulator serves, no duplicates, second run does nothing", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: "test-key-1234" }))
      const root = yield* Effect.promise(() => tempRoot())
      const settings = yield* Effect.promise(() =>
        loadTestSettings({ polygon: { rest_url: sim.url }, storage: { root }, POLYGON_API_KEY: "test-key-1234" })
      )
      const layer = BackfillLayer.pipe(Layer.provideMerge(testSettingsLayer(settings)))
      const summary = yield* backfillProgram({ startDate: "2025-10-25", endDate: DAYS[1]! }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(
        summary.days.map((d) => d.date),
        DAYS
      )
      const market = makeSyntheticMarket(SEED)

      const spy = yield* readLake(root, "spy", "ticker, window_start_ms::DOUBLE AS t, open, high, low, close, volume")
      const expectedSpy = DAYS.flatMap((d) => expectedBars(market, "SPY", d).map((b) => ({ ...b, date: d })))
      assert.strictEqual(spy.length, expectedSpy.length)
      assert.deepStrictEqual(
        spy.map(
          (r) =>
            `${r["date"]}|${r["ticker"]}|${r["t"]}|${r["open"]}|${r["high"]}|${r["low"]}|${r["close"]}|${r["volume"]}`
        ),
        expectedSpy.map((b) => `${b.date}|SPY|${b.t}|${b.o}|${b.h}|${b.l}|${b.c}|${b.v}`)
      )
      const vix = yield* readLake(root, "vix", "ticker, window_start_ms::DOUBLE AS t, close")
      assert.deepStrictEqual(
        vix.map((r) => `${r["t"]}|${r["close"]}`),
        DAYS.flatMap((d) => expectedBars(market, "I:VIX", d).map((b) => `${b.t}|${b.c}`))
      )
      const options = yield* readLake(root, "options", "ticker, window_start_ms::DOUBLE AS t, close, volume")
      const expectedOptions = DAYS.flatMap((d) =>
        chosenContracts(market, d).flatMap((c) =>
          expectedBars(market, c.ticker, d).map((b) => `${d}|${b.ticker}|${b.t}|${b.c}|${b.v}`)
        )
      ).sort()
      assert.ok(expectedOptions.length > 1000, "the simulated day has option bars to compare")
      assert.deepStrictEqual(
        options.map((r) => `${r["date"]}|${r["ticker"]}|${r["t"]}|${r["close"]}|${r["volume"]}`).sort(),
        expectedOptions
      )
      const keys = new Set(options.map((r) => `${r["ticker"]}|${r["t"]}`))
      assert.strictEqual(keys.size, options.length, "no (ticker, timestamp) twice")

      const news = yield* readLake(root, "news", "id, published_utc_ms::DOUBLE AS t")
      const expectedNews = DAYS.flatMap((d) =>
        market
          .news(d)
          .filter((a) => a.tickers.includes("SPY") && nyDateOf(Date.parse(a.published_utc)) === d)
          .map((a) => a.id)
      ).sort()
      assert.deepStrictEqual(news.map((r) => r["id"] as string).sort(), expectedNews)

      const requestsBefore = sim.stats().requests
      const again = yield* backfillProgram({ startDate: DAYS[0]!, endDate: DAYS[1]! }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(
        again.days.map((d) => d.rows),
        summary.days.map((d) => d.rows)
      )
      assert.strictEqual(sim.stats().requests - requestsBefore, 1, "only the holiday calendar is fetched again")
      yield* Effect.promise(() => sim.close())
    })
  )
})
