/**
 * `polygon.feed: delayed` on the TestClock: `live` judges the session on the feed clock (wall −
 * 900 s). At 09:35 on the wall (09:20 feed) the market is closed for it; at 09:43:30 wall (09:28:30
 * feed, within live.pre_open_s of the feed's open) it connects and streams, and the pre-market
 * bars the socket sends are counted (telemetry → heartbeat) and not stored.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { liveTestLayer, readLake, realTick, realWait } from "../../live/fixtures/harness.js"

const DATE = "2025-10-28"
const DELAY_MS = 900_000
const OPEN = nyTimeMs(DATE, 9, 30)

const setup = (root: string) =>
  Effect.gen(function* () {
    const settings = yield* Effect.promise(() =>
      loadTestSettings({
        storage: { root },
        polygon: { feed: "delayed", feed_delay_s: 900 },
        live: { idle_timeout_s: 180 },
        flush: { interval_s: 300 },
        feeds: { news: { enabled: false }, options: { enabled: false } }
      })
    )
    const market = makeSyntheticMarket(42)
    const server = new FakeServer(market, DATE)
    return { market, server, ...liveTestLayer(settings, fakeRest(market).service, server.connect) }
  })

describe("live on a delayed feed (TestClock)", () => {
  it.scoped("at 09:35 wall the delayed feed is at 09:20: market closed, next open 09:30 feed time", () =>
    Effect.gen(function* () {
      const { layer } = yield* setup(yield* Effect.promise(() => tempRoot("delayed-closed-")))
      yield* TestClock.setTime(nyTimeMs(DATE, 9, 35))
      const outcome = yield* liveProgram().pipe(Effect.provide(layer))
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: OPEN })
    })
  )

  it.scoped(
    "at 09:43:30 wall it streams the feed's pre-open: pre-market bars counted, not stored",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("delayed-open-"))
        const { server, layer, rec, market } = yield* setup(root)
        const feedStart = nyTimeMs(DATE, 9, 28, 30)
        yield* TestClock.setTime(feedStart + DELAY_MS)
        server.nowMs = feedStart
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        yield* realWait(() => server.open().filter((s) => s.subs.size > 0).length >= 2, 20_000)
        // the delayed socket sends SPY's pre-market bars of 09:29 (feed time) at 09:44 on the wall clock
        const pre = [nyTimeMs(DATE, 9, 29), nyTimeMs(DATE, 9, 29, 1), nyTimeMs(DATE, 9, 29, 30)]
        const spySocket = server.open().find((s) => s.subs.has("SPY"))!
        spySocket.deliver(
          JSON.stringify(
            pre.map((s) => ({
              ev: "A",
              sym: "SPY",
              v: 10,
              av: 10,
              op: 0,
              vw: 580,
              o: 580,
              c: 580,
              h: 580,
              l: 580,
              a: 580,
              z: 10,
              s,
              e: s + 1000
            }))
          )
        )
        const feedEnd = nyTimeMs(DATE, 9, 32, 10) // 11 steps of 20 s: the last emitUntil is feedEnd
        for (let t = feedStart; t < feedEnd; t += 20_000) {
          yield* TestClock.adjust("20 seconds")
          server.emitUntil(t + 20_000)
          yield* realTick
        }
        yield* realWait(() => rec.totals.outsideSession >= 3, 20_000)
        assert.isTrue((yield* Fiber.poll(fiber))._tag === "None") // still streaming: the feed's session is open
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(rec.totals.outsideSession, 3)
        // stored: exactly SPY's regular bars from the open up to the last emitted window, none of 09:29
        const rows = yield* readLake(root, "spy", DATE)
        const keys = rows.map((r) => r.s).sort((a, b) => a - b)
        const truth = market
          .secondBars("SPY", DATE)
          .filter((b) => b.t >= OPEN && b.t + 1000 <= feedEnd)
          .map((b) => b.t)
        assert.deepStrictEqual(keys, truth)
      }),
    { timeout: 120_000 }
  )
})
