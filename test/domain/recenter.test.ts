import { describe, expect, it } from "vitest"
import { shouldRecenter, subscriptionChange } from "../../src/domain/recenter.js"

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
    expect([601, 602, 604, 606].map((p) => shouldRecenter(moved, p, 900_000, rule))).toEqual([false, false, false, false])
    expect(shouldRecenter(moved, 600.4, 900_000, rule)).toBe(true)
  })

  it("adds what is new, drops what left, keeps the rest", () => {
    expect(subscriptionChange(["a", "b", "c"], ["c", "d", "b"])).toEqual({ add: ["d"], drop: ["a"], next: ["c", "d", "b"] })
    expect(subscriptionChange(["a"], ["a"])).toEqual({ add: [], drop: [], next: ["a"] })
  })
})
