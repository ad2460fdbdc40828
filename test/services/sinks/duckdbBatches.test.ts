/**
 * DuckDB sink batching: a partition larger than `batch_rows` commits batch by batch with its
 * checkpoint; a load interrupted after some batches (simulated: the table and the checkpoint hold
 * exactly what the first batches committed) goes on from there and ends with the exact lake.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, describe, expect, it } from "vitest"
import type { Row } from "../../../src/domain/feeds.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { makeDay } from "./fixtures.js"
import * as DuckDbSink from "../../../src/services/sinks/DuckDbSink.js"
import { dedupe, queryDuck, tempRoot, writeLake } from "./support.js"

const root = await tempRoot()
const date = "2025-10-28"
const rows: ReadonlyArray<Row> = makeDay(date, 0).files.options.flatMap(([, r]) => r)
const truth = [...dedupe("options", rows).values()]
  .map((r) => `${r["ticker"]}|${Number(r["window_start_ms"])}|${Number(r["close"])}`)
  .sort()
const stored = async () =>
  (
    await queryDuck<{ ticker: string; t: number; close: number }>(
      root,
      `SELECT ticker, window_start_ms::DOUBLE AS t, close FROM option_bars WHERE "date" = '${date}'`
    )
  )
    .map((r) => `${r.ticker}|${r.t}|${r.close}`)
    .sort()
const load = (batchRows: number) =>
  Effect.runPromise(
    Effect.flatMap(DuckDbSink.make({ root, batchRows, newsWindowMinutes: 15, commitSlaS: 300 }), (sink) =>
      sink.loadPartition("options", date)
    ).pipe(Effect.scoped)
  )
const checkpoint = async () =>
  (
    await queryDuck<{ rows: number; total: number }>(
      root,
      `SELECT "rows"::DOUBLE AS rows, total::DOUBLE AS total FROM sink_checkpoints WHERE feed = 'options' AND "date" = '${date}'`
    )
  )[0]

afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe("duckdb sink: batches", () => {
  it("commits in batches and resumes after the last committed one", async () => {
    const batchRows = 7
    expect(truth.length).toBeGreaterThan(3 * batchRows)
    await writeLake(root, "options", date, "backfill.parquet", rows)
    const first = await load(batchRows)
    expect([first, await stored(), await checkpoint()]).toEqual([
      { rows: truth.length, written: truth.length },
      truth,
      { rows: truth.length, total: truth.length }
    ])

    // as if the process had died after 2 batches: the rows past them and the checkpoint rolled back
    const sorted = [...dedupe("options", rows).values()]
      .map((r) => [String(r["ticker"]), Number(r["window_start_ms"])] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
    const [lastTicker, lastMs] = sorted[2 * batchRows - 1]!
    await Effect.runPromise(
      Effect.flatMap(DuckDb.make(lakePaths(root).warehouse), (db) =>
        Effect.zipRight(
          db.run(`DELETE FROM option_bars WHERE (ticker, window_start_ms) > ('${lastTicker}', ${lastMs})`),
          db.run(`UPDATE sink_checkpoints SET "rows" = ${2 * batchRows} WHERE feed = 'options'`)
        )
      ).pipe(Effect.scoped)
    )
    expect((await stored()).length).toBe(2 * batchRows)
    const resumed = await load(batchRows)
    expect([resumed, await stored(), await checkpoint()]).toEqual([
      { rows: truth.length, written: truth.length - 2 * batchRows },
      truth,
      { rows: truth.length, total: truth.length }
    ])
    expect(await load(batchRows)).toEqual({ rows: truth.length, written: 0 })
  })
})
