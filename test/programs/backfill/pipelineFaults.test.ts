/**
 * The pipelined backfill under a fault: eight days with the DuckDB warehouse (as views over the
 * lake, the default, and as loaded tables). The warehouse load of the first day is held until a
 * 5xx storm, switched on as that load starts, has failed requests of the later days' fetches and
 * the fourth day is fetched: proof that the fetch runs ahead of the load, while the sink stage
 * takes the days one at a time, in date order (the backfill before the pipeline ran two days,
 * fetch then load, side by side: its second slot loaded day 2 during day 1's load). The storm then goes on for the rest of the run. At the
 * end the lake and the warehouse each hold exactly the ground truth: rows = distinct keys = the
 * simulator's bars, compared as sets (ticker, start, close).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as DuckDbSink from "../../../src/services/sinks/DuckDbSink.js"
import { SinkRouter, layer as routerLayer } from "../../../src/services/sinks/SinkRouter.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot, testSettingsLayer } from "../../helpers/settings.js"

const SEED = 23
const KEY = "pipeline-fault-key"
// more days than the fetch stage runs ahead (2 in flight + a 2-day buffer), so fetches remain while day 1 loads
const DATES = [
  "2025-10-20",
  "2025-10-21",
  "2025-10-22",
  "2025-10-23",
  "2025-10-24",
  "2025-10-27",
  "2025-10-28",
  "2025-10-29"
]
const MAX_CONTRACTS = 3

const failures = (byStatus: Readonly<Record<string, number>>) =>
  Object.entries(byStatus)
    .filter(([s]) => s.startsWith("5"))
    .reduce((n, [, c]) => n + c, 0)

const truth = () => {
  const market = makeSyntheticMarket(SEED)
  const bars = (ticker: string, date: string) => market.secondBars(ticker, date).map((b) => `${ticker}|${b.t}|${b.c}`)
  return {
    spy: DATES.flatMap((d) => bars("SPY", d)).sort(),
    vix: DATES.flatMap((d) => bars("I:VIX", d)).sort(),
    options: DATES.flatMap((d) =>
      chosenContracts(market, d, 0.01, MAX_CONTRACTS).flatMap((c) => bars(c.ticker, d))
    ).sort()
  }
}

/** rows, distinct keys and the (ticker, start, close) set of `from`. */
const contents = (db: DuckDb.DuckDbService, from: string) =>
  Effect.gen(function* () {
    const [n] = yield* db.query<{ rows: number; keys: number }>(
      `SELECT count(*)::DOUBLE AS rows, count(DISTINCT (ticker, window_start_ms))::DOUBLE AS keys FROM ${from}`
    )
    const set = yield* db.query<{ ticker: string; t: number; c: number }>(
      `SELECT ticker, window_start_ms::DOUBLE AS t, close AS c FROM ${from}`
    )
    return { rows: n!.rows, keys: n!.keys, set: set.map((r) => `${r.ticker}|${r.t}|${r.c}`).sort() }
  })

const exact = (want: ReadonlyArray<string>) => ({ rows: want.length, keys: want.length, set: want })

describe("pipelined backfill under a 5xx storm during a warehouse load", () => {
  for (const storage of ["lake", "tables"] as const)
    it.live(
      `lake and warehouse (${storage}) end exact`,
      () =>
        Effect.gen(function* () {
          const sim = yield* Effect.acquireRelease(
            Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: KEY })),
            (s) => Effect.promise(() => s.close())
          )
          const root = yield* Effect.promise(() => tempRoot())
          const settings = yield* Effect.promise(() =>
            loadTestSettings({
              polygon: { rest_url: sim.url },
              storage: { root },
              POLYGON_API_KEY: KEY,
              options: { max_contracts: MAX_CONTRACTS },
              retry: { max_retries: 30, base_delay_ms: 5, max_delay_ms: 20, max_retry_after_ms: 100 }
            })
          )
          let heldFor5xx = -1
          const loading = new Set<string>()
          const overlaps: Array<string> = []
          const order: Array<string> = []
          // The real DuckDB sink, its first load of the first day held until the storm has hit later fetches.
          const sinks = Layer.scopedDiscard(
            Effect.gen(function* () {
              const router = yield* SinkRouter
              const real = yield* DuckDbSink.make({ root, storage, newsWindowMinutes: 15, commitSlaS: 300 })
              let held = false
              // the sink stage takes one day at a time, in date order
              const tracked = <A, E>(date: string, load: Effect.Effect<A, E>) =>
                Effect.acquireUseRelease(
                  Effect.sync(() => {
                    for (const d of loading) if (d !== date) overlaps.push(`${date} loaded during ${d}`)
                    loading.add(date)
                    if (!order.includes(date)) order.push(date)
                  }),
                  () => load,
                  () => Effect.sync(() => loading.delete(date))
                )
              yield* router.register({
                ...real,
                loadPartition: (feed, date, o) =>
                  tracked(
                    date,
                    Effect.suspend(() => {
                      if (held || date !== DATES[0]) return real.loadPartition(feed, date, o)
                      held = true
                      const before = failures(sim.stats().byStatus)
                      sim.setFaults({ rate5xx: 0.5 })
                      // the fourth day fetched and checkpointed while the first is held: more than the 2 days in flight
                      const fourthDone = path.join(root, "state", "checkpoints", "spy", DATES[3]!, "_day.json")
                      return Effect.sleep("20 millis").pipe(
                        Effect.zipRight(
                          Effect.sync(
                            () => [failures(sim.stats().byStatus) - before, fsSync.existsSync(fourthDone)] as const
                          )
                        ),
                        Effect.repeat({ until: ([n, fourth]) => n >= 10 && fourth }),
                        Effect.map(([n]) => n),
                        Effect.timeoutFail({
                          duration: "60 seconds",
                          onTimeout: () =>
                            new Error(
                              "day 4 not fetched through a storm while day 1 was loading: the fetch does not run ahead of the warehouse load"
                            )
                        }),
                        Effect.orDie,
                        Effect.flatMap((n) => Effect.sync(() => (heldFor5xx = n))),
                        Effect.zipRight(real.loadPartition(feed, date, o))
                      )
                    })
                  )
              })
            })
          ).pipe(Layer.provideMerge(routerLayer))
          const summary = yield* backfillProgram({ startDate: DATES[0]!, endDate: DATES[DATES.length - 1]! }).pipe(
            Effect.provide(Layer.mergeAll(BackfillLayer, sinks).pipe(Layer.provideMerge(testSettingsLayer(settings))))
          )
          assert.deepStrictEqual(
            summary.days.map((d) => d.date),
            DATES
          )
          assert.isAtLeast(heldFor5xx, 10)
          assert.deepStrictEqual([order, overlaps], [DATES, []])

          const want = truth()
          const lake = (feed: string) => `read_parquet('${root}/raw/${feed}/date=*/*.parquet')`
          const warehouse = lakePaths(root).warehouse
          const got = yield* Effect.gen(function* () {
            const db = yield* DuckDb.DuckDb
            yield* db.run(`ATTACH '${warehouse}' AS wh (READ_ONLY)`)
            return {
              lake: {
                spy: yield* contents(db, lake("spy")),
                vix: yield* contents(db, lake("vix")),
                options: yield* contents(db, lake("options"))
              },
              warehouse: {
                spy: yield* contents(db, "wh.spy_bars"),
                vix: yield* contents(db, "wh.vix_values"),
                options: yield* contents(db, "wh.option_bars")
              }
            }
          }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)
          const expected = { spy: exact(want.spy), vix: exact(want.vix), options: exact(want.options) }
          assert.deepStrictEqual(got.lake, expected)
          assert.deepStrictEqual(got.warehouse, expected)
          yield* Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
        }).pipe(Effect.scoped),
      { timeout: 180_000 }
    )
})
