/**
 * Live batches split by bucket file for a merge on two connections: each bucket's rows go to one
 * group only, the groups hold every row exactly once in the batch's order, and the rows are
 * balanced between them; a batch of one bucket, or a feed of one file a day, is not split.
 */
import { describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { ColumnBatch } from "../../src/domain/columnBatch.js"
import { batchRows } from "../../src/domain/columnBatch.js"
import { OPTIONS_SCHEMA } from "../../src/domain/feeds.js"
import { bucketGroups } from "../../src/domain/bucketGroups.js"
import { bucketOf } from "../../src/domain/lakeBuckets.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const TICKERS = ["O:SPY251028C00580000", "O:QQQ251028P00500000", null]

/** One row per second offset, the ticker cycling through TICKERS (null: a NULL ticker code). */
const batchAt = (seconds: ReadonlyArray<number>): ColumnBatch => ({
  length: seconds.length,
  doubles: [
    ["window_start_ms", Float64Array.from(seconds.map((s) => OPEN + s * 1000))],
    ["close", Float64Array.from(seconds.map((s, i) => (i % 5 === 0 ? Number.NaN : s / 10)))]
  ],
  constants: { source: "ws" },
  coded: [{ name: "ticker", dictionary: TICKERS, codes: Float64Array.from(seconds.map((_, i) => i % 3)) }],
  nanIsNull: ["close"]
})

const rowText = (batch: ColumnBatch) =>
  batchRows(OPTIONS_SCHEMA, batch).map((r) => `${r["ticker"]}|${r["window_start_ms"]}|${r["close"]}|${r["source"]}`)

describe("bucketGroups", () => {
  it("splits whole buckets into two groups holding every row once, in order, balanced", () => {
    // 09:30–10:09: 600 rows in 09:30, 300 in 09:40, 200 in 09:50, 100 in 10:00.
    const seconds = [
      ...Array.from({ length: 600 }, (_, i) => i),
      ...Array.from({ length: 300 }, (_, i) => 600 + 2 * i),
      ...Array.from({ length: 200 }, (_, i) => 1200 + 3 * i),
      ...Array.from({ length: 100 }, (_, i) => 1800 + 6 * i)
    ]
    const input = [batchAt(seconds.slice(0, 700)), batchAt(seconds.slice(700))]
    const groups = bucketGroups("options", DATE, input, 2)!
    expect(groups).toHaveLength(2)
    const bucketsOf = (g: ReadonlyArray<ColumnBatch>) =>
      new Set(g.flatMap((b) => [...b.doubles[0]![1]].map((t) => bucketOf("options", DATE, t))))
    const [a, b] = groups.map(bucketsOf)
    expect([...a!].filter((x) => b!.has(x))).toEqual([])
    // largest first: 600 | 300 + 200 + 100
    expect(groups.map((g) => g.reduce((n, x) => n + x.length, 0))).toEqual([600, 600])
    // every row once, each group in the input's order, values (NULLs included) kept
    const all = input.flatMap(rowText)
    const out = groups.flatMap((g) => g.flatMap(rowText))
    expect([...out].sort()).toEqual([...all].sort())
    for (const g of groups) {
      const texts = g.flatMap(rowText)
      expect(texts).toEqual(all.filter((t) => texts.includes(t)))
    }
  })

  it("leaves a batch of one bucket, and a feed of one file a day, unsplit", () => {
    expect(bucketGroups("options", DATE, [batchAt([0, 5, 599])], 2)).toBeUndefined()
    expect(bucketGroups("news", DATE, [batchAt([0, 700])], 2)).toBeUndefined()
    expect(bucketGroups("options", DATE, [batchAt([0, 700])], 1)).toBeUndefined()
  })
})
