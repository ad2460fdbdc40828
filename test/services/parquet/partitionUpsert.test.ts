/**
 * The lake contract at the writer: every key of a partition in exactly one file, the file its key
 * maps to (domain/lakeBuckets.ts); corrections replace the row in that file only; the latest
 * received version wins; `replace` leaves only the incoming rows; an older layout is folded in.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { NEWS_SCHEMA, OPTIONS_SCHEMA, type Row, SPY_SCHEMA } from "../../../src/domain/feeds.js"
import { bucketFileName, bucketOf } from "../../../src/domain/lakeBuckets.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { barRow } from "../../helpers/barRows.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))
const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)

const bar = (ticker: string, second: number, received: number, close = 1): Row =>
  barRow(DATE, ticker, second, received, close)

/** Every row of the partition with the file holding it. */
const lakeRows = (dir: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    db.query<{ ticker: string; t: number; close: number; received: number; file: string }>(
      `SELECT ticker, window_start_ms::DOUBLE AS t, close, received_at_ms::DOUBLE AS received, parse_filename(filename) AS file
       FROM read_parquet('${dir}/*.parquet', filename = true) ORDER BY ticker, t`
    )
  )

const fileState = (dir: string) =>
  Effect.promise(async () => {
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith(".parquet")).sort()
    return new Map(await Promise.all(names.map(async (n) => [n, (await fs.stat(path.join(dir, n))).ino] as const)))
  })

describe("ParquetWriter.upsert (the lake contract)", () => {
  it.scoped("each key in the one file it maps to; a correction rewrites that file only; the latest received wins", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
      const dir = lakePaths(root).partitionDir("options", DATE)
      const writer = yield* ParquetWriter.ParquetWriter
      const tickers = ["O:SPY251028C00580000", "O:SPY251028P00580000"]
      // 09:30:00 … 10:05:59, every 7th second: four 10-minute buckets.
      const seconds = Array.from({ length: 36 * 60 }, (_, s) => s).filter((s) => s % 7 === 0)
      const first = tickers.flatMap((t) => seconds.map((s) => bar(t, s, 100)))
      const r1 = yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: first })
      assert.strictEqual(r1.rows, first.length)
      const before = yield* fileState(dir)
      assert.deepStrictEqual(
        [...before.keys()],
        ["bars-0930.parquet", "bars-0940.parquet", "bars-0950.parquet", "bars-1000.parquet"]
      )

      // A correction of 09:41:03 (newer), a stale version of 09:52:01 (older: must lose), a new bar in 09:42.
      const s1 = 11 * 60 + 3 - ((11 * 60 + 3) % 7)
      const s2 = 22 * 60 + 1 - ((22 * 60 + 1) % 7)
      const r2 = yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, {
        batches: [],
        rows: [bar(tickers[0]!, s1, 200, 9), bar(tickers[1]!, s2, 50, 7), bar(tickers[0]!, 12 * 60 + 1, 200, 5)]
      })
      assert.deepStrictEqual(
        r2.written.map((f) => path.basename(f)),
        ["bars-0940.parquet", "bars-0950.parquet"]
      )
      const after = yield* fileState(dir)
      // Untouched files are the same inodes; touched ones were replaced (a rename, never an edit).
      assert.strictEqual(after.get("bars-0930.parquet"), before.get("bars-0930.parquet"))
      assert.strictEqual(after.get("bars-1000.parquet"), before.get("bars-1000.parquet"))
      assert.notStrictEqual(after.get("bars-0940.parquet"), before.get("bars-0940.parquet"))

      const rows = yield* lakeRows(dir)
      const truth = new Map(first.map((r) => [`${r["ticker"]}|${r["window_start_ms"]}`, 1]))
      truth.set(`${tickers[0]}|${OPEN + s1 * 1000}`, 9)
      truth.set(`${tickers[0]}|${OPEN + (12 * 60 + 1) * 1000}`, 5)
      assert.strictEqual(rows.length, truth.size)
      assert.strictEqual(new Set(rows.map((r) => `${r.ticker}|${r.t}`)).size, truth.size)
      for (const r of rows) {
        assert.strictEqual(r.close, truth.get(`${r.ticker}|${r.t}`), `${r.ticker} ${r.t}`)
        assert.strictEqual(r.file, bucketFileName("options", bucketOf("options", DATE, r.t)))
      }
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("a tie on received_at_ms goes to the incoming row; merging the same rows again changes nothing", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
      const dir = lakePaths(root).partitionDir("spy", DATE)
      const writer = yield* ParquetWriter.ParquetWriter
      yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 0, 5, 1), bar("SPY", 1, 5, 1)] })
      yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 0, 5, 2)] })
      yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 0, 5, 2)] })
      const rows = yield* lakeRows(dir)
      assert.deepStrictEqual(
        rows.map((r) => [r.t - OPEN, r.close, r.file]),
        [
          [0, 2, "bars-0900.parquet"],
          [1000, 1, "bars-0900.parquet"]
        ]
      )
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped(
    "into an empty partition: incoming rows that repeat a key keep the latest received; unique rows are written as they are, key-sorted",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
        const writer = yield* ParquetWriter.ParquetWriter
        // Repeated keys (the dedupe path): 09:30:00 three times, the middle one received last.
        yield* writer.upsert(SPY_SCHEMA, root, DATE, {
          rows: [bar("SPY", 0, 5, 1), bar("SPY", 0, 9, 2), bar("SPY", 2, 5, 3), bar("SPY", 0, 7, 4)]
        })
        const dupes = yield* lakeRows(lakePaths(root).partitionDir("spy", DATE))
        assert.deepStrictEqual(
          dupes.map((r) => [r.t - OPEN, r.close, r.received]),
          [
            [0, 2, 9],
            [2000, 3, 5]
          ]
        )
        // Unique keys, unsorted, over two buckets (the no-dedupe path): every row, in key order within each file.
        const tickers = ["O:SPY251028P00580000", "O:SPY251028C00580000"]
        yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, {
          rows: [bar(tickers[0]!, 700, 1), bar(tickers[1]!, 3, 1), bar(tickers[0]!, 3, 1), bar(tickers[1]!, 601, 1)]
        })
        const rows = yield* lakeRows(lakePaths(root).partitionDir("options", DATE))
        const order = yield* Effect.flatMap(DuckDb.DuckDb, (db) =>
          db.query<{ ticker: string; t: number }>(
            `SELECT ticker, window_start_ms::DOUBLE AS t FROM read_parquet('${lakePaths(root).partitionDir("options", DATE)}/bars-0930.parquet')`
          )
        )
        assert.deepStrictEqual(
          rows.map((r) => [r.ticker, r.t - OPEN, r.file]),
          [
            [tickers[1], 3000, "bars-0930.parquet"],
            [tickers[1], 601_000, "bars-0940.parquet"],
            [tickers[0], 3000, "bars-0930.parquet"],
            [tickers[0], 700_000, "bars-0940.parquet"]
          ]
        )
        assert.deepStrictEqual(
          order.map((r) => r.ticker),
          [tickers[1], tickers[0]]
        )
      }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("replace leaves exactly the incoming rows; files of an older layout are folded in by a merge", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
      const dir = lakePaths(root).partitionDir("spy", DATE)
      const writer = yield* ParquetWriter.ParquetWriter
      // The layout before buckets: a backfill file and a live file holding the same key twice.
      yield* writer.write(SPY_SCHEMA, [bar("SPY", 0, 1, 1), bar("SPY", 3600, 1, 1)], path.join(dir, "backfill.parquet"))
      yield* writer.write(SPY_SCHEMA, [bar("SPY", 0, 2, 2)], path.join(dir, "live.parquet"))
      yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 7200, 3, 3)] })
      assert.deepStrictEqual(
        [...(yield* fileState(dir)).keys()],
        ["bars-0900.parquet", "bars-1000.parquet", "bars-1100.parquet"]
      )
      assert.deepStrictEqual(
        (yield* lakeRows(dir)).map((r) => [r.t - OPEN, r.close]),
        [
          [0, 2],
          [3_600_000, 1],
          [7_200_000, 3]
        ]
      )

      const r = yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 5, 4, 4)] }, "replace")
      assert.deepStrictEqual(r.removed.map((f) => path.basename(f)).sort(), ["bars-1000.parquet", "bars-1100.parquet"])
      assert.deepStrictEqual(
        (yield* lakeRows(dir)).map((r) => [r.t - OPEN, r.close, r.file]),
        [[5000, 4, "bars-0900.parquet"]]
      )
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("news: one day file, deduplicated by id; concurrent writers of one partition lose nothing", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
      const dir = lakePaths(root).partitionDir("news", DATE)
      const writer = yield* ParquetWriter.ParquetWriter
      const article = (id: string, received: number): Row =>
        Object.fromEntries(
          NEWS_SCHEMA.columns.map((c) => [
            c.name,
            c.name === "id"
              ? id
              : c.name === "received_at_ms"
                ? received
                : c.type === "BIGINT"
                  ? OPEN
                  : c.nullable
                    ? null
                    : "v"
          ])
        )
      // Twenty writes at once, each of its own article plus a shared one: the lock serializes them.
      yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => writer.upsert(NEWS_SCHEMA, root, DATE, { rows: [article(`a${i}`, i), article("shared", i)] }),
        { concurrency: "unbounded", discard: true }
      )
      const db = yield* DuckDb.DuckDb
      const rows = yield* db.query<{ id: string; received: number; file: string }>(
        `SELECT id, received_at_ms::DOUBLE AS received, parse_filename(filename) AS file FROM read_parquet('${dir}/*.parquet', filename = true) ORDER BY id`
      )
      assert.strictEqual(rows.length, 21)
      assert.deepStrictEqual(new Set(rows.map((r) => r.file)), new Set(["day.parquet"]))
      assert.strictEqual(rows.find((r) => r.id === "shared")!.received, 19)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("replaceWhere: the scope's rows become the incoming ones, the others stay, an emptied file goes", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-")))
      const dir = lakePaths(root).partitionDir("spy", DATE)
      const writer = yield* ParquetWriter.ParquetWriter
      const fileOf = (second: number) => bucketFileName("spy", bucketOf("spy", DATE, OPEN + second * 1000))
      // SPY over 09:30 and 10:30 (two 60-minute files), QQQ over 09:30 only.
      yield* writer.upsert(SPY_SCHEMA, root, DATE, {
        rows: [bar("SPY", 1, 100), bar("SPY", 3601, 100), bar("QQQ", 1, 100), bar("QQQ", 2, 100)]
      })
      // QQQ again, older received and one bar fewer: replaces QQQ's rows, SPY's stay untouched.
      const r = yield* writer.upsert(
        SPY_SCHEMA,
        root,
        DATE,
        { rows: [bar("QQQ", 2, 50, 9)] },
        {
          replaceWhere: "ticker = 'QQQ'"
        }
      )
      assert.strictEqual(r.rows, 1)
      assert.deepStrictEqual(
        (yield* lakeRows(dir)).map((x) => `${x.ticker}|${x.t - OPEN}|${x.close}|${x.received}|${x.file}`),
        [`QQQ|2000|9|50|${fileOf(2)}`, `SPY|1000|1|100|${fileOf(1)}`, `SPY|3601000|1|100|${fileOf(3601)}`]
      )
      // SPY replaced by nothing in the later hour: that file is removed; the first keeps QQQ.
      assert.notStrictEqual(fileOf(1), fileOf(3601))
      yield* writer.upsert(SPY_SCHEMA, root, DATE, { rows: [bar("SPY", 1, 100)] }, { replaceWhere: "ticker = 'SPY'" })
      assert.deepStrictEqual([...(yield* fileState(dir)).keys()], [fileOf(1)])
      assert.deepStrictEqual(
        (yield* lakeRows(dir)).map((x) => `${x.ticker}|${x.t - OPEN}`),
        ["QQQ|2000", "SPY|1000"]
      )
    }).pipe(Effect.provide(TestLayer))
  )
})
