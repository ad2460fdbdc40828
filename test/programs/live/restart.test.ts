/**
 * Crash and restart, and graceful stop, on the TestClock. A copy of the data directory taken
 * while `live` streams is exactly what a kill -9 leaves behind (journal appended synchronously,
 * Parquet and checkpoints published atomically). `live` restarted on that copy a minute later
 * replays the journal tail after the checkpoint and repairs the downtime over REST: the lake then
 * equals the market (0 lost, 0 doubled). A graceful stop leaves nothing to replay.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { diffLake, liveTestLayer, readLake, realTick, realWait } from "../../live/fixtures/harness.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../helpers/lakeLayout.js"

const DATE = "2025-10-28"
const market = makeSyntheticMarket(42)

/** Run `live` on `root` from `from` to `to` (one-minute steps), calling `at(t)` after each step; then stop it gracefully. */
const stream = (root: string, from: number, to: number, at: (t: number) => void = () => {}) =>
  Effect.gen(function* () {
    const settings = yield* Effect.promise(() =>
      loadTestSettings({
        storage: { root },
        live: { idle_timeout_s: 180 },
        flush: { interval_s: 60 },
        feeds: { news: { enabled: false }, options: { enabled: false } }
      })
    )
    const server = new FakeServer(market, DATE)
    const rest = fakeRest(market)
    yield* TestClock.setTime(from)
    server.nowMs = from
    const fiber = yield* Effect.fork(
      liveProgram().pipe(Effect.provide(liveTestLayer(settings, rest.service, server.connect).layer))
    )
    yield* realWait(() => server.open().filter((s) => s.subs.size > 0).length >= 2)
    for (let t = from + 60_000; t <= to; t += 60_000) {
      yield* TestClock.adjust("60 seconds")
      server.emitUntil(t)
      yield* realTick
      at(t)
    }
    yield* Fiber.interrupt(fiber)
    return rest
  })

describe("live: crash and restart", () => {
  it.scoped(
    "kill -9 mid-stream, restart a minute later: journal tail replayed, downtime repaired, 0 lost, 0 doubled",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-crash-"))
        const crashed = `${root}-crashed`
        const crashAt = nyTimeMs(DATE, 10, 0)
        yield* stream(root, nyTimeMs(DATE, 9, 30), nyTimeMs(DATE, 10, 5), (t) => {
          if (t === crashAt) fs.cpSync(root, crashed, { recursive: true })
        })
        const cp = JSON.parse(fs.readFileSync(checkpointFile(crashed, "spy", DATE), "utf8")) as LiveCheckpoint
        const journalSize = fs.statSync(path.join(crashed, "journal/spy", `${DATE}.ndjson`)).size
        assert.isBelow(cp.offset, journalSize) // a tail to replay (anti-vacuity)

        const end = nyTimeMs(DATE, 10, 30)
        const rest = yield* stream(crashed, crashAt + 60_000, end)
        for (const [feed, ticker] of [
          ["spy", "SPY"],
          ["vix", "I:VIX"]
        ] as const) {
          const rows = yield* readLake(crashed, feed, DATE)
          const d = diffLake(rows, market, [ticker], DATE, (s) => s + 1000 <= end)
          assert.deepStrictEqual(
            { feed, missing: d.missing, duplicates: d.duplicates, wrong: d.wrong, spurious: d.spurious },
            { feed, missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
          )
          assert.strictEqual(d.rows, d.expected)
        }
        // The minute of downtime came back over REST, one range per ticker.
        assert.deepStrictEqual(rest.calls.aggs.map((c) => c.ticker).sort(), ["I:VIX", "SPY"])
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "graceful stop: everything committed (checkpoint at the journal's end), restart resumes with nothing to replay",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-stop-"))
        yield* stream(root, nyTimeMs(DATE, 9, 30), nyTimeMs(DATE, 9, 45))
        const cp = JSON.parse(fs.readFileSync(checkpointFile(root, "spy", DATE), "utf8")) as LiveCheckpoint
        assert.strictEqual(cp.offset, fs.statSync(path.join(root, "journal/spy", `${DATE}.ndjson`)).size)
        assert.deepStrictEqual(yield* Effect.promise(() => lakeLayout(root, "spy", DATE)), CLEAN_LAYOUT)
        assert.isFalse(fs.existsSync(path.join(root, "state/live.pid")))
        yield* stream(root, nyTimeMs(DATE, 9, 45), nyTimeMs(DATE, 10, 0))
        const rows = yield* readLake(root, "spy", DATE)
        const d = diffLake(rows, market, ["SPY"], DATE, (s) => s + 1000 <= nyTimeMs(DATE, 10, 0))
        assert.deepStrictEqual(
          { missing: d.missing, duplicates: d.duplicates, wrong: d.wrong, spurious: d.spurious },
          { missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
        )
      }),
    { timeout: 60_000 }
  )
})
