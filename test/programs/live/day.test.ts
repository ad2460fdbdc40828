/**
 * A whole trading day (09:30–16:00) on the TestClock: a fake Polygon WebSocket fed from the
 * SyntheticMarket, the real live program (journal → writer → Parquet → checkpoint → compaction).
 * The lake must equal the market's day exactly: same (ticker, window start) set, same values,
 * no duplicates, one compacted file per partition.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { diffLake, liveTestLayer, readLake, realTick, realWait } from "../../live/fixtures/harness.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../helpers/lakeLayout.js"

const DATE = "2025-10-28"

describe("live: a whole day on the TestClock", () => {
  it.scoped(
    "the lake equals the simulator's day (SPY, VIX, the day's options), with one drop mid-day repaired over REST",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-day-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            live: { shutdown_before_close_s: -1, idle_timeout_s: 180 },
            flush: { interval_s: 300 },
            feeds: { news: { enabled: false } }
          })
        )
        const market = makeSyntheticMarket(42)
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, rest.service, server.connect)
        const start = nyTimeMs(DATE, 9, 29)
        const close = nyTimeMs(DATE, 16)
        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        // Startup and the contract selection do real I/O: let them finish before simulated time moves on.
        const subscribed = (n: number) =>
          realWait(
            () => server.open().filter((s) => s.subs.size > 0).length >= n,
            20_000,
            () => `${n}: ${server.sockets.map((s) => `${s.url} closed=${s.closed} subs=${s.subs.size}`)}`
          )
        yield* subscribed(2)
        // One-minute steps (each TestClock.adjust waits for every fiber to suspend: fewer steps, faster test).
        for (let t = start; t <= close; t += 60_000) {
          yield* TestClock.adjust("60 seconds")
          if (t + 60_000 === nyTimeMs(DATE, 9, 31)) yield* subscribed(3)
          server.emitUntil(t + 60_000)
          if (t === start + 150 * 60_000) {
            // Drop every connection; the 30 s of bars broadcast while they are away never arrive by WebSocket.
            server.dropAll()
            server.nowMs = t + 90_000
          }
          yield* realTick
        }
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(outcome, { _tag: "Streamed", date: DATE, endOfDay: true })

        const contracts = JSON.parse(
          yield* Effect.promise(() =>
            fs.readFile(path.join(root, "raw/contracts/date=2025-10-28/contracts.json"), "utf8")
          )
        ) as {
          contracts: Array<{ ticker: string }>
        }
        const options = contracts.contracts.map((c) => c.ticker)
        assert.deepStrictEqual(
          options,
          chosenContracts(market, DATE).map((c) => c.ticker)
        )
        assert.isAbove(options.length, 10)
        for (const [feed, tickers] of [
          ["spy", ["SPY"]],
          ["vix", ["I:VIX"]],
          ["options", options]
        ] as const) {
          const rows = yield* readLake(root, feed, DATE)
          const d = diffLake(rows, market, tickers, DATE)
          assert.deepStrictEqual(
            { feed, missing: d.missing, duplicates: d.duplicates, wrong: d.wrong, spurious: d.spurious, rows: d.rows },
            {
              feed,
              missing: 0,
              duplicates: 0,
              wrong: 0,
              spurious: 0,
              rows: d.expected
            }
          )
          assert.deepStrictEqual(yield* Effect.promise(() => lakeLayout(root, feed, DATE)), CLEAN_LAYOUT)
        }
        // The drop at noon was repaired over REST (second bars between the last bar before and the first after).
        const repairs = rest.calls.aggs.filter(
          (c) => c.timespan === "second" && typeof c.from === "number" && c.from > nyTimeMs(DATE, 11)
        )
        assert.strictEqual(repairs.length, 2 + options.length)
        const gap = [start + 151 * 60_000, start + 151 * 60_000 + 30_000] as const
        const repaired = (yield* readLake(root, "spy", DATE))
          .filter((r) => r.source === "repair")
          .map((r) => r.s)
          .sort((a, b) => a - b)
        assert.deepStrictEqual(
          repaired,
          market
            .secondBars("SPY", DATE)
            .map((b) => b.t)
            .filter((t) => t >= gap[0] && t < gap[1])
        )
        assert.strictEqual(rec.alerts.length, 0)
      }),
    { timeout: 180_000 }
  )
})
