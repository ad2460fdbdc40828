/**
 * Each lake file is written in key order (ticker, window_start_ms), on both of the upsert's paths
 * (into an empty partition; a merge with corrections), with more rows than one DuckDB row group and
 * four threads: the COPYs rely on the result table's order instead of sorting each bucket again
 * (partitionUpsert.ts), and sort when the instance does not keep insertion order. Checked: without
 * that sort, the instance set not to keep the order writes the file out of key order.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { OPTIONS_SCHEMA, type Row } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { barRow } from "../../helpers/barRows.js"

const DATE = "2025-10-28"
const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer(undefined, undefined, { threads: 4 })))

/** A deterministic shuffle (the writer must not depend on the input's order). */
const shuffled = <A>(xs: ReadonlyArray<A>): Array<A> => {
  const out = [...xs]
  let seed = 42
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const tickers = Array.from({ length: 300 }, (_, i) => `O:SPY251028C00${String(400 + i).padStart(3, "0")}000`)
/** Every ticker at every `step`-th second of the first 600, one bucket file (close = the version). */
const rows = (step: number, from: number, version: number): Array<Row> =>
  tickers.flatMap((t) =>
    Array.from({ length: 600 / step }, (_, i) => barRow(DATE, t, from + i * step, version, version))
  )

/** Each file's keys in file order; whether each file is in key order; all rows and distinct keys. */
const inspect = (dir: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    Effect.gen(function* () {
      const names = (yield* Effect.promise(() => fs.readdir(dir))).filter((n) => n.endsWith(".parquet"))
      let sorted = true
      for (const name of names) {
        const keys = yield* db.query<{ ticker: string; t: number }>(
          `SELECT ticker, window_start_ms::DOUBLE AS t FROM read_parquet('${path.join(dir, name)}', file_row_number = true) ORDER BY file_row_number`
        )
        for (let i = 1; i < keys.length; i++) {
          const [a, b] = [keys[i - 1]!, keys[i]!]
          if (a.ticker > b.ticker || (a.ticker === b.ticker && a.t >= b.t)) sorted = false
        }
      }
      const [n] = yield* db.query<{ rows: number; keys: number; v2: number }>(
        `SELECT count(*)::DOUBLE AS rows, count(DISTINCT (ticker, window_start_ms))::DOUBLE AS keys, count(*) FILTER (WHERE close = 2)::DOUBLE AS v2 FROM read_parquet('${dir}/*.parquet')`
      )
      return { files: names.length, sorted, ...n! }
    })
  )

describe("lake files in key order", () => {
  for (const preserve of [true, false])
    it.scoped(
      `into an empty partition, then by a merge with corrections, 180k rows in one file, insertion order ${preserve ? "kept (no sort)" : "not kept (sorted)"}: the file in key order`,
      () =>
        Effect.gen(function* () {
          const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "upsert-order-")))
          const writer = yield* ParquetWriter.ParquetWriter
          // A DuckDB instance set not to keep insertion order: the writer must sort each file itself.
          if (!preserve)
            yield* Effect.flatMap(DuckDb.DuckDb, (db) => db.run("SET GLOBAL preserve_insertion_order = false"))
          const dir = lakePaths(root).partitionDir("options", DATE)
          // Even seconds first (90k rows), then the odd ones plus a correction of every 4th second.
          yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: shuffled(rows(2, 0, 1)) })
          const first = yield* inspect(dir)
          assert.deepStrictEqual(first, { files: 1, sorted: true, rows: 90_000, keys: 90_000, v2: 0 })
          yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: shuffled([...rows(2, 1, 2), ...rows(4, 0, 2)]) })
          const merged = yield* inspect(dir)
          assert.deepStrictEqual(merged, { files: 1, sorted: true, rows: 180_000, keys: 180_000, v2: 135_000 })
        }).pipe(Effect.provide(TestLayer)),
      120_000
    )
})
