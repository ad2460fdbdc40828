import { describe, expect, it } from "vitest"
import {
  afterEntry,
  decide,
  type RecenterEntry,
  type RecenterTracker,
  replay,
  shouldRecenter,
  subscriptionChange,
  windowFloor
} from "../../src/domain/recenter.js"

const rule = { bandPct: 0.005, cooldownMs: 300_000 }

describe("recenter", () => {
  it("needs a move beyond the band from the anchor AND the cooldown", () => {
    const state = { anchor: 600, changedAtMs: 0 }
    expect(shouldRecenter(state, 603, 300_000, rule)).toBe(false) // exactly 0.5%: not beyond
    expect(shouldRecenter(state, 603.01, 300_000, rule)).toBe(true)
    expect(shouldRecenter(state, 596.99, 300_000, rule)).toBe(true)
    expect(shouldRecenter(state, 603.01, 299_999, rule)).toBe(false)
    expect(shouldRecenter(state, Number.NaN, 300_000, rule)).toBe(false)
  })

  it("hysteresis: after a change the anchor is the new price, so wobbling back does not flip", () => {
    const moved = { anchor: 603.5, changedAtMs: 300_000 }
    expect([601, 602, 604, 606].map((p) => shouldRecenter(moved, p, 900_000, rule))).toEqual([
      false,
      false,
      false,
      false
    ])
    expect(shouldRecenter(moved, 600.4, 900_000, rule)).toBe(true)
  })

  it("adds what is new, drops what left, keeps the rest", () => {
    expect(subscriptionChange(["a", "b", "c"], ["c", "d", "b"])).toEqual({
      add: ["d"],
      drop: ["a"],
      next: ["c", "d", "b"]
    })
    expect(subscriptionChange(["a"], ["a"])).toEqual({ add: [], drop: [], next: ["a"] })
  })
})

/** A target rule for tests: the strikes within ±2 of the price, as tickers `K<strike>`. */
const around = (price: number) => [0, -1, 1, -2, 2].map((d) => Math.round(price) + d).map((k) => `K${k}`)
const start: RecenterTracker = { anchor: 600, changedAtMs: 0, current: around(600) }

describe("recenter: decide over a price path", () => {
  it("a wobble inside the band never changes anything, all day", () => {
    let state = start
    const entries: Array<RecenterEntry> = []
    for (let i = 0; i < 23_400; i++) {
      const price = 600 + 2.99 * Math.sin(i / 7) // |move| < 3.00 = 0.5 % of 600
      const e = decide(state, price, i * 1000, rule, around)
      if (e) {
        entries.push(e)
        state = afterEntry(e)
      }
    }
    expect(entries).toEqual([])
  })

  it("one move beyond the band, then a wobble around the new level: exactly one change, never flipped back", () => {
    let state = start
    const entries: Array<RecenterEntry> = []
    const path = [601, 602, 603.5, 602.5, 604.5, 601.2, 605.9, 601.1, 603.5] // after 603.5 the anchor is 603.5: ±3.0175
    path.forEach((price, i) => {
      const e = decide(state, price, 300_000 + i * 400_000, rule, around)
      if (e) {
        entries.push(e)
        state = afterEntry(e)
      }
    })
    expect(entries).toEqual([
      {
        at_ms: 1_100_000,
        at: new Date(1_100_000).toISOString(),
        window_ms: 1_100_000,
        spy_price: 603.5,
        old_anchor: 600,
        new_anchor: 603.5,
        added: ["K604", "K603", "K605", "K606"],
        dropped: ["K600", "K599", "K601", "K598"],
        contracts: ["K604", "K603", "K605", "K602", "K606"]
      }
    ])
    expect(state.current).toEqual(around(603.5))
  })

  it("the cooldown holds: a move beyond the band waits until cooldown_s after the last change", () => {
    const moved = { anchor: 600, changedAtMs: 1_000_000, current: around(600) }
    expect(decide(moved, 610, 1_299_999, rule, around)).toBeUndefined()
    expect(decide(moved, 610, 1_300_000, rule, around)?.new_anchor).toBe(610)
  })

  it("an empty target (no strike listed near the price) changes nothing, anchor included", () => {
    expect(decide(start, 650, 1_000_000, rule, () => [])).toBeUndefined()
  })

  it("replay: the set, anchor and time of the last entry; since which window each current ticker was added, until which each other one was", () => {
    // Decided at 400 s and 800 s (Clock) on bars ending at 399 s and 799 s (market time).
    const e1 = decide(start, 603.5, 400_000, rule, around, 399_000)!
    const s1 = afterEntry(e1)
    const e2 = decide(s1, 599.9, 800_000, rule, around, 799_000)!
    const r = replay(start, [e1, e2])
    expect({ anchor: r.anchor, changedAtMs: r.changedAtMs, current: r.current }).toEqual({
      anchor: 599.9,
      changedAtMs: 800_000,
      current: around(599.9)
    })
    expect([e2.added, e2.dropped]).toEqual([
      ["K600", "K599", "K601", "K598"],
      ["K604", "K603", "K605", "K606"]
    ])
    // The open's K600/K599/K601/K598 were dropped at 400 s and re-added at 800 s: covered again from 800 s.
    expect(Object.fromEntries(r.addedAt)).toEqual({ K600: 799_000, K599: 799_000, K601: 799_000, K598: 799_000 })
    expect(Object.fromEntries(r.droppedAt)).toEqual({ K604: 799_000, K603: 799_000, K605: 799_000, K606: 799_000 })
    // First listed that day, beyond the open's set: the day's contract list grows by these.
    expect(r.listed.map((l) => [l.ticker, l.entry.at_ms])).toEqual([
      ["K604", 400_000],
      ["K603", 400_000],
      ["K605", 400_000],
      ["K606", 400_000]
    ])
    expect(replay(start, [])).toEqual({ ...start, addedAt: new Map(), droppedAt: new Map(), listed: [] })
  })

  it("windowFloor: the window containing a time", () => {
    expect(windowFloor(1_000_999, 1000)).toBe(1_000_000)
    expect(windowFloor(1_000_000, 1000)).toBe(1_000_000)
    expect(windowFloor(1_000_000 + 59_999, 60_000)).toBe(960_000 + 60_000)
  })
})
