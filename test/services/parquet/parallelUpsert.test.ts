/**
 * A live commit's merge split over two connections (ParquetWriter.upsert with `splitBuckets`)
 * writes exactly the lake one merge writes: the same files, each with the same rows, after a first
 * commit into an empty partition and a second one of corrections, stale versions and new bars
 * across several windows. Every key stays in the one file it maps to.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import type { ColumnBatch } from "../../../src/domain/columnBatch.js"
import { OPTIONS_SCHEMA } from "../../../src/domain/feeds.js"
import { bucketFileName, bucketOf } from "../../../src/domain/lakeBuckets.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { splitGroups } from "../../../src/services/parquet/parallelUpsert.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))
const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const TICKERS = ["O:SPY251028C00580000", "O:QQQ251028P00500000", "O:IWM251028C00240000"]

interface Bar {
  readonly ticker: number
  readonly second: number
  readonly close: number
  readonly received: number
}

const batchOf = (bars: ReadonlyArray<Bar>): ColumnBatch => ({
  length: bars.length,
  doubles: [
    ["window_start_ms", Float64Array.from(bars.map((b) => OPEN + b.second * 1000))],
    ["close", Float64Array.from(bars.map((b) => b.close))],
    ["received_at_ms", Float64Array.from(bars.map((b) => b.received))]
  ],
  constants: { source: "ws" },
  coded: [{ name: "ticker", dictionary: TICKERS, codes: Float64Array.from(bars.map((b) => b.ticker)) }]
})

/** Every row of the partition with its file name, as sorted text. */
const lake = (dir: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    db.query<{ r: string }>(
      `SELECT parse_filename(filename) || '|' || ticker || '|' || window_start_ms || '|' || close || '|' || received_at_ms AS r
       FROM read_parquet('${dir}/*.parquet', filename = true) ORDER BY r`
    )
  ).pipe(Effect.map((rows) => rows.map((x) => x.r)))

describe("ParquetWriter.upsert with splitBuckets", () => {
  it.scoped("writes the same files and rows as one merge, each key in the file it maps to", () =>
    Effect.gen(function* () {
      const writer = yield* ParquetWriter.ParquetWriter
      // three tickers not in step: 09:30–10:15 for one, 09:50–10:05 for another, 10:00–10:20 for the third
      const first: Array<Bar> = [
        ...Array.from({ length: 45 * 60 }, (_, s) => ({ ticker: 0, second: s, close: s, received: 100 })),
        ...Array.from({ length: 15 * 60 }, (_, s) => ({ ticker: 1, second: 1200 + s, close: s, received: 100 })),
        ...Array.from({ length: 20 * 60 }, (_, s) => ({ ticker: 2, second: 1800 + s, close: s, received: 100 }))
      ]
      const second: Array<Bar> = [
        ...Array.from({ length: 30 }, (_, i) => ({ ticker: 0, second: 60 * i + 7, close: -1, received: 200 })),
        ...Array.from({ length: 30 }, (_, i) => ({ ticker: 1, second: 1200 + 30 * i, close: -2, received: 50 })),
        ...Array.from({ length: 20 * 60 }, (_, s) => ({ ticker: 0, second: 2700 + s, close: s, received: 200 }))
      ]
      const roots: Array<string> = []
      for (const split of [false, true]) {
        const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "split-upsert-")))
        roots.push(root)
        const dir = lakePaths(root).partitionDir("options", DATE)
        for (const bars of [first, second]) {
          if (split) {
            const groups = yield* Effect.promise(() => splitGroups("options", dir, DATE, [batchOf(bars)]))
            assert.strictEqual(groups?.length, 2) // the split path is the one under test
          }
          const r = yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { batches: [batchOf(bars)] }, "merge", {
            splitBuckets: split
          })
          assert.strictEqual(r.rows, bars.length)
        }
      }
      const [one, two] = yield* Effect.forEach(roots, (root) => lake(lakePaths(root).partitionDir("options", DATE)))
      assert.deepStrictEqual(two, one)
      // each key once, in the file its window maps to; the newer correction won, the stale one lost
      const keys = new Set(two!.map((r) => r.split("|").slice(1, 3).join("|")))
      assert.strictEqual(keys.size, two!.length)
      for (const r of two!) {
        const [file, , start] = r.split("|")
        assert.strictEqual(file, bucketFileName("options", bucketOf("options", DATE, Number(start))))
      }
      const closes = two!.map((r) => Number(r.split("|")[3]))
      assert.strictEqual(closes.filter((c) => c === -1).length, 30)
      assert.strictEqual(closes.filter((c) => c === -2).length, 0)
      assert.strictEqual(two!.length, 45 * 60 + 15 * 60 + 20 * 60 + 20 * 60)
    }).pipe(Effect.provide(TestLayer))
  )
})
