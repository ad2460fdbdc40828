import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { NEWS_SCHEMA, type Row, SPY_SCHEMA } from "../../src/domain/feeds.js"
import * as DuckDb from "../../src/services/DuckDb.js"
import * as ParquetWriter from "../../src/services/ParquetWriter.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))

const bar = (i: number, received = 1, close = 580 + i / 100): Row => ({
  ticker: "SPY",
  window_start_ms: 1761658200000 + i * 1000,
  open: 580,
  high: 581,
  low: 579,
  close,
  volume: 2 ** 53 - i,
  vwap: 580.5,
  transactions: 12,
  window_end_ms: null,
  accumulated_volume: null,
  official_open: null,
  day_vwap: null,
  avg_trade_size: null,
  otc: null,
  source: "rest",
  received_at_ms: received,
  extra: null
})

describe("ParquetWriter", () => {
  it.scoped("writes typed Parquet atomically and reads back exactly", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pw-")))
      const target = path.join(dir, "date=2025-10-28", "backfill.parquet")
      const writer = yield* ParquetWriter.ParquetWriter
      const rows = Array.from({ length: 5000 }, (_, i) => bar(i))
      const n = yield* writer.write(SPY_SCHEMA, rows, target)
      assert.strictEqual(n, 5000)
      const db = yield* DuckDb.DuckDb
      const [stats] = yield* db.query<{ n: bigint; maxv: bigint; first: string; t: string }>(
        `SELECT count(*) n, max(volume)::BIGINT maxv, min(window_start_ms)::VARCHAR "first", typeof(any_value(window_start)) t FROM read_parquet('${target}')`
      )
      assert.strictEqual(stats!.n, 5000n)
      assert.strictEqual(stats!.maxv, BigInt(2 ** 53))
      assert.strictEqual(stats!.first, "1761658200000")
      assert.strictEqual(stats!.t, "TIMESTAMP WITH TIME ZONE")
      const files = yield* Effect.promise(() => fs.readdir(path.dirname(target)))
      assert.deepStrictEqual(files, ["backfill.parquet"])
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("dedupes by key keeping the latest received version, also on merge", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pw-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const a = path.join(dir, "a.parquet"),
        b = path.join(dir, "b.parquet"),
        m = path.join(dir, "m.parquet")
      assert.strictEqual(
        yield* writer.write(SPY_SCHEMA, [bar(0, 1, 1), bar(0, 3, 3), bar(1, 1)], a, { dedupe: true }),
        2
      )
      assert.strictEqual(yield* writer.write(SPY_SCHEMA, [bar(0, 2, 2), bar(2, 1)], b), 2)
      assert.strictEqual(yield* writer.merge(SPY_SCHEMA, [a, b], m), 3)
      const db = yield* DuckDb.DuckDb
      const rows = yield* db.query<{ close: number }>(
        `SELECT close FROM read_parquet('${m}') WHERE window_start_ms = 1761658200000`
      )
      assert.deepStrictEqual(
        rows.map((r) => r.close),
        [3]
      )
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("keeps hostile strings intact", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pw-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const title = `'; DROP TABLE news; -- “quotes” \u00e9\u{1F600} ${"x".repeat(10_000)}`
      const row: Row = Object.fromEntries(
        NEWS_SCHEMA.columns.map((c) => [c.name, c.type === "BIGINT" ? 1 : c.nullable ? null : "v"])
      )
      const target = path.join(dir, "n's.parquet")
      yield* writer.write(NEWS_SCHEMA, [{ ...row, title }], target)
      const db = yield* DuckDb.DuckDb
      const [r] = yield* db.query<{ title: string }>(`SELECT title FROM read_parquet(${DuckDb.sqlString(target)})`)
      assert.strictEqual(r!.title, title)
    }).pipe(Effect.provide(TestLayer))
  )
})
