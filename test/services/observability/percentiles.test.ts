import { assert, describe, it } from "@effect/vitest"
import { percentileSorted, percentiles } from "../../../src/domain/percentiles.js"

describe("percentiles (nearest rank)", () => {
  it("is exact on 1..100", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i)
    assert.deepStrictEqual(percentiles(values), { p50: 50, p95: 95, p99: 99 })
  })
  it("handles small and skewed samples", () => {
    assert.deepStrictEqual(percentiles([7]), { p50: 7, p95: 7, p99: 7 })
    assert.deepStrictEqual(percentiles([1, 2, 3, 1000]), { p50: 2, p95: 1000, p99: 1000 })
    assert.deepStrictEqual(percentiles([10, 20]), { p50: 10, p95: 20, p99: 20 })
    assert.strictEqual(percentiles([]), undefined)
    assert.strictEqual(percentileSorted(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 90), 9)
  })
  it("sorts numerically, not lexically", () => {
    assert.deepStrictEqual(percentiles([9, 10, 100, 2]), { p50: 9, p95: 100, p99: 100 })
  })
})
