/**
 * `live` outside market hours: a weekend, a holiday listed by the API, after an early close, and
 * 90 s before the close (within shutdown_before_close_s): "Market closed - streaming inactive",
 * no socket opened. A failing holidays API means an empty list (and a warning), not a failure.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest, type FakeRestOptions } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { liveTestLayer } from "../../live/fixtures/harness.js"

const market = makeSyntheticMarket(42)

const runAt = (
  nowMs: number,
  date: string,
  restOptions: FakeRestOptions = {},
  overrides: Record<string, unknown> = {}
) =>
  Effect.gen(function* () {
    const root = yield* Effect.promise(() => tempRoot("live-closed-"))
    const settings = yield* Effect.promise(() => loadTestSettings({ storage: { root }, ...overrides }))
    const server = new FakeServer(market, date)
    const rest = fakeRest(market, restOptions)
    yield* TestClock.setTime(nowMs)
    const outcome = yield* liveProgram().pipe(
      Effect.provide(liveTestLayer(settings, rest.service, server.connect).layer)
    )
    return { outcome, server, root, rest }
  })

describe("live outside market hours", () => {
  it.scoped("a Saturday: closed, next open Monday 09:30, no socket", () =>
    Effect.gen(function* () {
      const { outcome, server } = yield* runAt(nyTimeMs("2025-11-01", 11), "2025-11-01")
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: nyTimeMs("2025-11-03", 9, 30) })
      assert.strictEqual(server.sockets.length, 0)
    })
  )

  it.scoped("a holiday from the API (cached per year): closed, no socket", () =>
    Effect.gen(function* () {
      const holidays = [{ date: "2025-10-28", name: "Test Day", status: "closed" as const }]
      const { outcome, server, root } = yield* runAt(nyTimeMs("2025-10-28", 11), "2025-10-28", { holidays })
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: nyTimeMs("2025-10-29", 9, 30) })
      assert.strictEqual(server.sockets.length, 0)
      const cached = JSON.parse(fs.readFileSync(path.join(root, "state/holidays-2025.json"), "utf8")) as {
        holidays: Array<{ date: string }>
      }
      assert.deepStrictEqual(
        cached.holidays.map((h) => h.date),
        ["2025-10-28"]
      )
    })
  )

  it.scoped("earlier before the open than live.pre_open_s: closed, next open today, no socket", () =>
    Effect.gen(function* () {
      const { outcome, server } = yield* runAt(
        nyTimeMs("2025-10-28", 9, 28, 30),
        "2025-10-28",
        {},
        { live: { pre_open_s: 60 } }
      )
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: nyTimeMs("2025-10-28", 9, 30) })
      assert.strictEqual(server.sockets.length, 0)
    })
  )

  it.scoped("after an early close: closed, no socket", () =>
    Effect.gen(function* () {
      const holidays = [
        {
          date: "2025-11-28",
          name: "Day after Thanksgiving",
          status: "early-close" as const,
          open: "2025-11-28T14:30:00.000Z",
          close: "2025-11-28T18:00:00.000Z"
        }
      ]
      const { outcome, server } = yield* runAt(nyTimeMs("2025-11-28", 13, 30), "2025-11-28", { holidays })
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: nyTimeMs("2025-12-01", 9, 30) })
      assert.strictEqual(server.sockets.length, 0)
    })
  )

  it.scoped("within shutdown_before_close_s of the close: no socket", () =>
    Effect.gen(function* () {
      const { outcome, server } = yield* runAt(nyTimeMs("2025-10-28", 15, 59, 30), "2025-10-28")
      assert.strictEqual(outcome._tag, "MarketClosed")
      assert.strictEqual(server.sockets.length, 0)
    })
  )

  it.scoped("the holidays API failing: an empty list and a warning, a weekday still opens", () =>
    Effect.gen(function* () {
      const { outcome, server, rest } = yield* runAt(nyTimeMs("2025-11-01", 11), "2025-11-01", { holidays: "fail" })
      assert.deepStrictEqual(outcome, { _tag: "MarketClosed", nextOpenMs: nyTimeMs("2025-11-03", 9, 30) })
      assert.strictEqual(server.sockets.length, 0)
      assert.strictEqual(rest.calls.holidays, 2)
    })
  )
})
