/**
 * The tail of a live day on the TestClock: `live` stops 60 s before the close (the default), so
 * the sockets never deliver 15:59:00–15:59:59; after the close (+ close_fetch_delay_s) the writers
 * fetch each subscribed ticker's bars up to the close over REST. The day's partitions equal the
 * simulator's day exactly, the last minute included (and nothing from 16:00 on).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { diffLake, liveTestLayer, readLake, realTick, realWait } from "../../live/fixtures/harness.js"

const DATE = "2025-10-28"

/** SPY alone (the defaults), and SPY + QQQ with I:VIX + I:SPX (every underlying, index and set has its tail). */
const CASES = [
  { name: "SPY", overrides: {}, underlyings: ["SPY"], indices: ["I:VIX"], sets: ["contracts.json"] },
  {
    name: "SPY and QQQ, I:VIX and I:SPX",
    overrides: { underlyings: [{ ticker: "SPY" }, { ticker: "QQQ", max_contracts: 30 }], indices: ["I:VIX", "I:SPX"] },
    underlyings: ["SPY", "QQQ"],
    indices: ["I:VIX", "I:SPX"],
    sets: ["contracts.json", "contracts-QQQ.json"]
  }
] as const

describe.each(CASES)("live: the tail of the day ($name)", (c) => {
  it.scoped(
    "stops at 15:59:00, then fetches every ticker's last bars up to 16:00 over REST: the day is complete and exact",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-tail-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            ...c.overrides,
            storage: { root },
            live: { idle_timeout_s: 180 },
            flush: { interval_s: 300 },
            feeds: { news: { enabled: false } }
          })
        )
        assert.strictEqual(settings.live.shutdownBeforeCloseS, 60)
        assert.strictEqual(settings.live.closeFetchDelayS, 15)
        const market = makeSyntheticMarket(42)
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer } = liveTestLayer(settings, rest.service, server.connect)
        // Started late in the day: the morning comes back as a repair from the open, the socket streams 15:50–15:59.
        const start = nyTimeMs(DATE, 15, 50)
        const stop = nyTimeMs(DATE, 15, 59),
          close = nyTimeMs(DATE, 16)
        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        yield* realWait(() => server.open().filter((s) => s.subs.size > 0).length >= 3, 20_000)
        for (let t = start; t <= close + 120_000; t += 20_000) {
          yield* TestClock.adjust("20 seconds")
          server.emitUntil(t + 20_000)
          yield* realTick
        }
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(outcome, { _tag: "Streamed", date: DATE, endOfDay: true })

        const options: Array<string> = []
        for (const file of c.sets) {
          const set = JSON.parse(
            yield* Effect.promise(() => fs.readFile(path.join(root, "raw/contracts/date=2025-10-28", file), "utf8"))
          ) as { contracts: Array<{ ticker: string }> }
          assert.isAbove(set.contracts.length, 10)
          options.push(...set.contracts.map((x) => x.ticker))
        }
        for (const [feed, tickers] of [
          ["spy", c.underlyings],
          ["vix", c.indices],
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
          // the last minute: exactly the market's bars, all from REST (the sockets had stopped)
          const last = rows.filter((r) => r.s >= stop)
          const truth = tickers.flatMap((t) =>
            market
              .secondBars(t, DATE)
              .filter((b) => b.t >= stop)
              .map((b) => `${t}|${b.t}`)
          )
          assert.isAbove(truth.length, 0)
          assert.deepStrictEqual(last.map((r) => `${r.ticker}|${r.s}`).sort(), truth.sort())
          assert.deepStrictEqual([...new Set(last.map((r) => r.source))], ["repair"])
          assert.isFalse(rows.some((r) => r.s >= close))
        }
        // one tail request per ticker, made after the close
        const tailCalls = rest.calls.aggs.filter((c) => c.timespan === "second" && c.to === close - 1)
        assert.deepStrictEqual(
          tailCalls.map((c) => c.ticker).sort(),
          [...c.indices, ...c.underlyings, ...options].sort()
        )
      }),
    { timeout: 120_000 }
  )
})
