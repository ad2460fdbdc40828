/**
 * `session.hours` against a simulator with extended hours on (the default, as the real API):
 * `regular` stores exactly the regular-session truth and counts the rest; `extended` stores the
 * whole extended day. Per feed, as sets: rows = distinct keys = truth.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import { lakePaths } from "../../../src/domain/paths.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import { formatBackfillSummary } from "../../../src/programs/summary.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../../src/simulator/server.js"
import { chosenContracts, type ExpectedBar, expectedBars, expectedExtendedBars } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot, testSettingsLayer } from "../../helpers/settings.js"

const SEED = 5
const KEY = "session-key"
// a plain day and the early close after Thanksgiving (13:00; the 27th is closed)
const DAYS = ["2025-11-26", "2025-11-28"]
const market = makeSyntheticMarket(SEED)
const CONTRACTS = 24

const keyOf = (date: string, b: ExpectedBar) => `${date}|${b.ticker}|${b.t}|${b.o}|${b.h}|${b.l}|${b.c}|${b.v ?? ""}`

const truth = (bars: typeof expectedBars) => ({
  spy: DAYS.flatMap((d) => bars(market, "SPY", d).map((b) => keyOf(d, b))),
  vix: DAYS.flatMap((d) => bars(market, "I:VIX", d).map((b) => keyOf(d, b))),
  options: DAYS.flatMap((d) =>
    chosenContracts(market, d, 0.01, CONTRACTS).flatMap((c) => bars(market, c.ticker, d).map((b) => keyOf(d, b)))
  )
})

const lakeKeys = (root: string, feed: "spy" | "vix" | "options") =>
  Effect.gen(function* () {
    const db = yield* DuckDb.DuckDb
    const rows = yield* db.query<Record<string, number | string | null>>(
      `SELECT date::VARCHAR AS date, ticker, window_start_ms::DOUBLE AS t, open, high, low, close, ${feed === "vix" ? "NULL" : "volume"} AS v
       FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet', hive_partitioning = true)`
    )
    return rows.map((r) =>
      keyOf(String(r["date"]), {
        ticker: String(r["ticker"]),
        t: Number(r["t"]),
        o: Number(r["open"]),
        h: Number(r["high"]),
        l: Number(r["low"]),
        c: Number(r["close"]),
        ...(r["v"] === null ? {} : { v: Number(r["v"]) })
      })
    )
  }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)

/** rows = distinct keys = truth, as sets. */
const assertExact = (feed: string, lake: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  const keys = new Set(lake)
  assert.strictEqual(keys.size, lake.length, `${feed}: no key twice`)
  assert.strictEqual(lake.length, new Set(expected).size, `${feed}: rows = truth`)
  const truthKeys = new Set(expected)
  const missing = [...truthKeys].filter((k) => !keys.has(k)),
    extra = [...keys].filter((k) => !truthKeys.has(k))
  assert.deepStrictEqual(
    { missing: missing.slice(0, 3), extra: extra.slice(0, 3), counts: [missing.length, extra.length] },
    { missing: [], extra: [], counts: [0, 0] },
    `${feed}: the very bars`
  )
}

const backfill = (sim: RunningSimulator, hours: "regular" | "extended", existingRoot?: string) =>
  Effect.gen(function* () {
    const root = existingRoot ?? (yield* Effect.promise(() => tempRoot()))
    const settings = yield* Effect.promise(() =>
      loadTestSettings({
        polygon: { rest_url: sim.url },
        storage: { root },
        session: { hours },
        options: { max_contracts: CONTRACTS },
        feeds: { news: { enabled: false } },
        POLYGON_API_KEY: KEY
      })
    )
    const layer = BackfillLayer.pipe(Layer.provideMerge(testSettingsLayer(settings)))
    const summary = yield* backfillProgram({ startDate: DAYS[0]!, endDate: DAYS[1]! }).pipe(Effect.provide(layer))
    return { root, summary }
  })

describe("session.hours on an extended-hours simulator", () => {
  it.live("regular keeps exactly the session and counts the rest; extended keeps the whole extended day", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: KEY }))
      const regular = truth(expectedBars),
        extended = truth(expectedExtendedBars)
      // the simulated days do carry bars outside the session in every feed
      for (const feed of ["spy", "vix", "options"] as const)
        assert.ok(extended[feed].length > regular[feed].length, feed)

      const r = yield* backfill(sim, "regular")
      assert.deepStrictEqual(
        r.summary.days.map((d) => d.date),
        DAYS
      )
      for (const feed of ["spy", "vix", "options"] as const)
        assertExact(feed, yield* lakeKeys(r.root, feed), regular[feed])
      const outside =
        extended.spy.length -
        regular.spy.length +
        (extended.vix.length - regular.vix.length) +
        (extended.options.length - regular.options.length)
      assert.strictEqual(
        r.summary.days.reduce((n, d) => n + d.outsideSession, 0),
        outside
      )
      // contracts are chosen from the regular open (the 09:30 bar), not the first pre-market bar
      for (const d of DAYS) {
        const set = JSON.parse(
          yield* Effect.promise(() => fs.readFile(lakePaths(r.root).contractsJson(d), "utf8"))
        ) as { openPrice: number }
        assert.strictEqual(set.openPrice, market.officialOpen(d))
        assert.notStrictEqual(market.extendedSecondBars!("SPY", d)[0]!.o, market.officialOpen(d))
      }
      const text = formatBackfillSummary(r.summary)
      assert.include(text, "outside session")
      assert.include(text, `${outside.toLocaleString("en-US")} bars outside the regular session`)

      // a second run skips every unit (checkpoints) and still reports what was left out
      const again = yield* backfill(sim, "regular", r.root)
      assert.deepStrictEqual(
        again.summary.days.map((d) => [d.rows, d.outsideSession]),
        r.summary.days.map((d) => [d.rows, d.outsideSession])
      )

      const e = yield* backfill(sim, "extended")
      for (const feed of ["spy", "vix", "options"] as const)
        assertExact(feed, yield* lakeKeys(e.root, feed), extended[feed])
      assert.strictEqual(
        e.summary.days.reduce((n, d) => n + d.outsideSession, 0),
        0
      )
      yield* Effect.promise(() => sim.close())
    })
  )
})
