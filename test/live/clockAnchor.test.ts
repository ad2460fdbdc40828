/**
 * The simulated clock's anchor (src/live/clockAnchor.ts): a restart with the same --clock-start and
 * speed resumes the first run's mapping from wall time to simulated time (the clock says the time of
 * the data the simulator streams), on the same simulated day only; anything else starts anew.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as fs from "node:fs"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { anchor, anchorFile, resolve } from "../../src/live/clockAnchor.js"
import { tempRoot } from "../helpers/settings.js"

const START = nyTimeMs("2025-10-28", 9, 29, 50)
const WALL = Date.parse("2026-12-06T08:00:00Z")

describe("simulated clock anchor", () => {
  it("resumes the same start and speed on the same simulated day; otherwise a new anchor", () => {
    const stored = { clockStartMs: START, speed: 60, wallStartMs: WALL }
    // 25 real seconds later at 60x: 25 simulated minutes after the start, not the start again.
    assert.deepStrictEqual(resolve(stored, START, 60, WALL + 25_000), {
      nowMs: START + 25 * 60_000,
      anchor: stored,
      resumed: true
    })
    const fresh = (wall: number) => ({
      nowMs: START,
      anchor: { clockStartMs: START, speed: 60, wallStartMs: wall },
      resumed: false
    })
    assert.deepStrictEqual(resolve({ ...stored, speed: 120 }, START, 60, WALL + 25_000), fresh(WALL + 25_000)) // another speed
    assert.deepStrictEqual(
      resolve({ ...stored, clockStartMs: START + 1 }, START, 60, WALL + 25_000),
      fresh(WALL + 25_000)
    ) // another start
    // 15 real minutes at 60x = 15 simulated hours: past the simulated day (00:29:50 the next NY day).
    assert.deepStrictEqual(resolve(stored, START, 60, WALL + 15 * 60_000), fresh(WALL + 15 * 60_000))
    assert.deepStrictEqual(resolve(stored, START, 60, WALL - 1), fresh(WALL - 1)) // wall clock went back
    assert.deepStrictEqual(resolve(undefined, START, 60, WALL), fresh(WALL))
    assert.deepStrictEqual(resolve({ clockStartMs: "x" }, START, 60, WALL), fresh(WALL))
  })

  it.effect(
    "stored in data/state: the first run writes it, a restart 25 s later resumes it, a new start replaces it",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("clock-anchor-"))
        yield* TestClock.setTime(WALL)
        const first = yield* anchor(root, START, 60)
        assert.deepStrictEqual([first.nowMs, first.resumed], [START, false])
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(anchorFile(root), "utf8")), {
          clockStartMs: START,
          speed: 60,
          wallStartMs: WALL
        })
        yield* TestClock.adjust("25 seconds")
        const again = yield* anchor(root, START, 60)
        assert.deepStrictEqual([again.nowMs, again.resumed], [START + 25 * 60_000, true])
        const other = yield* anchor(root, START + 60_000, 60)
        assert.deepStrictEqual([other.nowMs, other.resumed], [START + 60_000, false])
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(anchorFile(root), "utf8")), {
          clockStartMs: START + 60_000,
          speed: 60,
          wallStartMs: WALL + 25_000
        })
      })
  )
})
