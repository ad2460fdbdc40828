/**
 * Merges into a partition that already holds rows (the live commits' path, ./keyedMerge.ts) against
 * a model of the contract: per key the greatest `received_at_ms` wins, a tie between a stored and an
 * incoming row goes to the incoming one, incoming rows that repeat a key keep their latest. Seeded
 * random rounds of corrections, stale versions, repeats and new bars over several buckets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { OPTIONS_SCHEMA, type Row } from "../../../src/domain/feeds.js"
import { bucketFileName, bucketOf } from "../../../src/domain/lakeBuckets.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { barRow } from "../../helpers/barRows.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))
const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const TICKERS = ["O:SPY251028C00580000", "O:SPY251028P00580000", "O:SPY251028C00585000"]

/** mulberry32: a small seeded generator, so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface Version {
  readonly received: number
  readonly close: number
}

/** One commit: rows over 09:30–10:00 (three buckets); a key repeated in it never ties on received. */
const commit = (next: () => number, size: number, close: number): Array<Row> => {
  const seen = new Map<string, Set<number>>()
  const rows: Array<Row> = []
  while (rows.length < size) {
    const ticker = TICKERS[Math.floor(next() * TICKERS.length)]!
    const second = Math.floor(next() * 30 * 60)
    const received = 1 + Math.floor(next() * 6)
    const used = seen.get(`${ticker}|${second}`) ?? new Set<number>()
    if (used.has(received)) continue
    seen.set(`${ticker}|${second}`, used.add(received))
    rows.push(barRow(DATE, ticker, second, received, close + rows.length))
  }
  return rows
}

/** The model's state after `rows` are merged into `state`. */
const apply = (state: Map<string, Version>, rows: ReadonlyArray<Row>): void => {
  const latest = new Map<string, Version>()
  for (const r of rows) {
    const key = `${r["ticker"]}|${r["window_start_ms"]}`
    const v = { received: Number(r["received_at_ms"]), close: Number(r["close"]) }
    if ((latest.get(key)?.received ?? -1) < v.received) latest.set(key, v)
  }
  for (const [key, v] of latest) if ((state.get(key)?.received ?? -1) <= v.received) state.set(key, v)
}

describe("ParquetWriter.upsert: merges into stored rows", () => {
  it.scoped(
    "seeded rounds of corrections, stale versions and repeats end as the model says, key-sorted in each file",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "keyed-merge-")))
        const dir = lakePaths(root).partitionDir("options", DATE)
        const writer = yield* ParquetWriter.ParquetWriter
        const db = yield* DuckDb.DuckDb
        const next = random(20251028)
        const model = new Map<string, Version>()
        for (let round = 0; round < 6; round++) {
          const rows = commit(next, round === 0 ? 2000 : 600, round * 10_000)
          yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows })
          apply(model, rows)
          const stored = yield* db.query<{ ticker: string; t: number; close: number; received: number; file: string }>(
            `SELECT ticker, window_start_ms::DOUBLE AS t, close, received_at_ms::DOUBLE AS received,
             parse_filename(filename) AS file
           FROM read_parquet('${dir}/*.parquet', filename = true)`
          )
          assert.strictEqual(stored.length, model.size, `round ${round}: rows`)
          for (const r of stored) {
            const want = model.get(`${r.ticker}|${r.t}`)
            assert.deepStrictEqual({ received: r.received, close: r.close }, want, `round ${round}: ${r.ticker} ${r.t}`)
            assert.strictEqual(r.file, bucketFileName("options", bucketOf("options", DATE, r.t)))
          }
          // each file in key order: the rows' order as read equals their sorted order
          const unordered = yield* db.query<{ n: number }>(
            `SELECT count(*)::INTEGER AS n FROM (
             SELECT ticker, window_start_ms, lag(ticker) OVER w AS pt, lag(window_start_ms) OVER w AS pw
             FROM read_parquet('${dir}/*.parquet', filename = true, file_row_number = true)
             WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
           WHERE pt IS NOT NULL AND (pt > ticker OR (pt = ticker AND pw >= window_start_ms))`
          )
          assert.strictEqual(unordered[0]?.n, 0, `round ${round}: key order`)
        }
        const stale = [...model.values()].filter((v) => v.received < 6).length
        assert.isAbove(stale, 0, "some keys kept a version older than the largest received")
        assert.isAbove(model.size, 2000)
        assert.isBelow(
          Math.min(...[...model.keys()].map((k) => Number(k.split("|")[1]))),
          OPEN + 60_000,
          "bars from the first minute"
        )
      }).pipe(Effect.provide(TestLayer))
  )
})
