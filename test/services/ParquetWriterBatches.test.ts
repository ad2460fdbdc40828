/**
 * `writeBatches` writes the very file `write` writes for the same rows (types, column order,
 * values, 2^53 volumes), concatenates batches and existing files, and leaves nothing behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { batchRows, type ColumnBatch } from "../../src/domain/columnBatch.js"
import { OPTIONS_SCHEMA, VIX_SCHEMA } from "../../src/domain/feeds.js"
import * as DuckDb from "../../src/services/DuckDb.js"
import * as ParquetWriter from "../../src/services/ParquetWriter.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))

const optionBatch = (ticker: string, n: number, offset = 0): ColumnBatch => {
  const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i + offset))
  return {
    length: n,
    doubles: [
      ["window_start_ms", col((i) => 1_761_658_200_000 + i * 1000)],
      ["open", col((i) => 1 + i / 100)],
      ["high", col((i) => 2 + i / 100)],
      ["low", col((i) => 0.5 + i / 1000)],
      ["close", col((i) => 1.25 + i / 100)],
      ["volume", col((i) => (i % 2 === 0 ? 2 ** 53 - i : 0.125 * i))],
      ["vwap", col((i) => 1.1 + i / 7)],
      ["transactions", col((i) => i % 13)]
    ],
    constants: {
      ticker,
      window_end_ms: null,
      accumulated_volume: null,
      official_open: null,
      day_vwap: null,
      avg_trade_size: null,
      otc: null,
      source: "rest",
      received_at_ms: 1_761_700_000_123,
      extra: null
    }
  }
}

const dump = (file: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.DuckDb
    const schema = yield* db.query<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${DuckDb.sqlString(file)})`
    )
    const rows = yield* db.query(
      `SELECT * EXCLUDE (window_start_ms, received_at_ms, transactions), window_start_ms::VARCHAR ms, received_at_ms::VARCHAR r, transactions::VARCHAR n, volume::BIGINT::VARCHAR vi, window_start::VARCHAR ts FROM read_parquet(${DuckDb.sqlString(file)}) ORDER BY ticker, window_start_ms`
    )
    return { schema: schema.map((c) => `${c.column_name} ${c.column_type}`), rows }
  })

describe("ParquetWriter.writeBatches", () => {
  it.scoped("the same file as write() for the same rows, several batches and files in one", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pwb-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const batches = [
        optionBatch("O:SPY251028C00580000", 5000),
        optionBatch("O:SPY251028P00580000", 3, 7),
        optionBatch("O:SPY251028C00581000", 0)
      ]
      const viaRows = path.join(dir, "rows.parquet"),
        viaBatches = path.join(dir, "batches", "b.parquet")
      assert.strictEqual(
        yield* writer.write(
          OPTIONS_SCHEMA,
          batches.flatMap((b) => batchRows(OPTIONS_SCHEMA, b)),
          viaRows
        ),
        5003
      )
      assert.strictEqual(yield* writer.writeBatches(OPTIONS_SCHEMA, batches, viaBatches), 5003)
      const expected = yield* dump(viaRows)
      assert.deepStrictEqual(yield* dump(viaBatches), expected)
      assert.include(expected.schema, "window_start TIMESTAMP WITH TIME ZONE")
      assert.strictEqual((expected.rows[0] as Record<string, unknown>)["vi"], String(2 ** 53))

      // batches + an existing file of the same schema, in one file
      const extra = optionBatch("O:SPY251028P00579000", 10)
      const extraFile = path.join(dir, "extra.parquet")
      yield* writer.write(OPTIONS_SCHEMA, batchRows(OPTIONS_SCHEMA, extra), extraFile)
      const combined = path.join(dir, "combined.parquet"),
        reference = path.join(dir, "reference.parquet")
      assert.strictEqual(yield* writer.writeBatches(OPTIONS_SCHEMA, batches, combined, [extraFile]), 5013)
      yield* writer.write(
        OPTIONS_SCHEMA,
        [...batches, extra].flatMap((b) => batchRows(OPTIONS_SCHEMA, b)),
        reference
      )
      assert.deepStrictEqual(yield* dump(combined), yield* dump(reference))

      const db = yield* DuckDb.DuckDb
      const temp = yield* db.query<{ n: bigint }>(`SELECT count(*) n FROM duckdb_tables() WHERE temporary`)
      assert.strictEqual(temp[0]!.n, 0n, "staging tables dropped")
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(path.join(dir, "batches"))), ["b.parquet"])
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("concurrent writes on every pooled connection", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pwb-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const counts = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, k) => k),
        (k) =>
          writer.writeBatches(
            OPTIONS_SCHEMA,
            [optionBatch(`O:SPY251028C0058${k}000`, 3000 + k), optionBatch(`O:SPY251028P0058${k}000`, 10)],
            path.join(dir, `${k}.parquet`)
          ),
        { concurrency: 4 }
      )
      assert.deepStrictEqual(
        counts,
        Array.from({ length: 8 }, (_, k) => 3010 + k)
      )
      const db = yield* DuckDb.DuckDb
      const [r] = yield* db.query<{ n: bigint }>(`SELECT count(*) n FROM read_parquet('${dir}/*.parquet')`)
      assert.strictEqual(r!.n, BigInt(8 * 3010 + 28))
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("coded text/boolean columns and NaN as NULL: the same file as write() for the same rows", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pwb-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const n = 4000
      const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i))
      const batch: ColumnBatch = {
        length: n,
        doubles: [
          ["window_start_ms", col((i) => 1_761_658_200_000 + Math.floor(i / 3) * 1000)],
          ["open", col((i) => 1 + i / 100)],
          ["high", col((i) => 2 + i / 100)],
          ["low", col(() => 0.5)],
          ["close", col((i) => -i / 8)],
          ["volume", col((i) => (i === 0 ? 2 ** 53 : i * 1.5))],
          ["vwap", col((i) => (i % 5 === 0 ? NaN : i / 3))],
          ["transactions", col(() => NaN)],
          ["window_end_ms", col((i) => (i % 7 === 0 ? NaN : 1_761_658_201_000 + Math.floor(i / 3) * 1000))],
          ["accumulated_volume", col((i) => i * 10)],
          ["official_open", col(() => 5.5)],
          ["day_vwap", col((i) => (i % 2 === 0 ? NaN : 5.25))],
          ["avg_trade_size", col((i) => i % 11)],
          ["received_at_ms", col((i) => 1_761_658_300_000 + i)]
        ],
        constants: {},
        coded: [
          {
            name: "ticker",
            dictionary: ["O:SPY251029C00580000", "O:SPY251029P00580000", 'it\'s "quoted"'],
            codes: col((i) => i % 3)
          },
          { name: "source", dictionary: ["ws", "repair", "rest"], codes: col((i) => (i % 13 === 0 ? 1 : 0)) },
          { name: "otc", dictionary: [null, true, false], codes: col((i) => i % 3) },
          {
            name: "extra",
            dictionary: [null, '{"x":1}', '{"q":"it\'s"}'],
            codes: col((i) => (i % 17 === 0 ? 1 + (i % 2) : 0))
          }
        ],
        nanIsNull: [
          "vwap",
          "transactions",
          "window_end_ms",
          "accumulated_volume",
          "official_open",
          "day_vwap",
          "avg_trade_size"
        ]
      }
      const rows = batchRows(OPTIONS_SCHEMA, batch)
      assert.strictEqual(rows[5]!["vwap"], null)
      assert.strictEqual(rows[1]!["otc"], true)
      assert.strictEqual(rows[17]!["extra"], '{"q":"it\'s"}')
      const viaRows = path.join(dir, "rows.parquet"),
        viaBatches = path.join(dir, "batches.parquet")
      yield* writer.write(OPTIONS_SCHEMA, rows, viaRows)
      assert.strictEqual(yield* writer.writeBatches(OPTIONS_SCHEMA, [batch], viaBatches), n)
      assert.deepStrictEqual(yield* dump(viaBatches), yield* dump(viaRows))
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("no batches and no files: an empty file with the schema's columns", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "pwb-")))
      const writer = yield* ParquetWriter.ParquetWriter
      const a = path.join(dir, "a.parquet"),
        b = path.join(dir, "b.parquet")
      assert.strictEqual(yield* writer.writeBatches(VIX_SCHEMA, [], a), 0)
      yield* writer.write(VIX_SCHEMA, [], b)
      const db = yield* DuckDb.DuckDb
      const describe = (f: string) => db.query(`DESCRIBE SELECT * FROM read_parquet(${DuckDb.sqlString(f)})`)
      assert.deepStrictEqual(yield* describe(a), yield* describe(b))
    }).pipe(Effect.provide(TestLayer))
  )
})
