/**
 * The DuckDB consolidation's export (`consolidated/date=D/consolidated.parquet`, Parquet format
 * version 2) read by a second, independent Parquet reader (hyparquet, pure JavaScript): every row
 * and every column equal what DuckDB reads from the same file. Researchers read these files with
 * pyarrow or polars, not only DuckDB; this is the check that version 2's pages and encodings are
 * not a DuckDB-only dialect.
 */
import { Effect } from "effect"
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import * as path from "node:path"
import { expect, it } from "vitest"
import * as DuckDbSink from "../../../src/services/sinks/DuckDbSink.js"
import { consolidatedColumns } from "../../../src/sql/tables.js"
import { DATES, makeDay } from "./fixtures.js"
import { queryDuck, tempRoot, writeDays } from "./support.js"

/** One comparable text per value: integers and instants as epoch numbers, null as "null". */
const text = (v: unknown): string =>
  v === null || v === undefined
    ? "null"
    : v instanceof Date
      ? String(v.getTime())
      : typeof v === "bigint"
        ? v.toString()
        : String(v)

/** The date column as YYYY-MM-DD whichever way a reader returns a DATE. */
const day = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v))

const rowKey = (r: Record<string, unknown>) =>
  consolidatedColumns.map((c) => (c.name === "date" ? day(r[c.name]) : text(r[c.name]))).join("|")

it("an independent reader reads the consolidated export exactly as DuckDB does", async () => {
  const root = await tempRoot()
  const date = DATES[0]!
  await writeDays(root, [makeDay(date, 0)])
  const rows = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const sink = yield* DuckDbSink.make({ root, newsWindowMinutes: 15, commitSlaS: 300 })
        for (const feed of ["spy", "vix", "news", "contracts", "options"] as const)
          yield* sink.loadPartition(feed, date)
        return (yield* sink.consolidate!(date)).rows
      })
    )
  )
  const file = path.join(root, "consolidated", `date=${date}`, "consolidated.parquet")
  const select = consolidatedColumns
    .map((c) => (c.name === "window_start" ? `epoch_ms(window_start) AS window_start` : `"${c.name}"`))
    .join(", ")
  const byDuckDb = await queryDuck<Record<string, unknown>>(root, `SELECT ${select} FROM read_parquet('${file}')`)

  const buffer = await asyncBufferFromFile(file)
  const metadata = await parquetMetadataAsync(buffer)
  const encodings = new Set(metadata.row_groups.flatMap((g) => g.columns.flatMap((c) => c.meta_data?.encodings ?? [])))
  // Version 2's encodings are in use, so this reader really decoded them.
  expect([...encodings].some((e) => e.startsWith("DELTA_") || e === "BYTE_STREAM_SPLIT")).toBe(true)
  const byHyparquet = (await parquetReadObjects({ file: buffer, compressors })) as Array<Record<string, unknown>>

  expect(rows).toBeGreaterThan(100)
  expect(byDuckDb.length).toBe(rows)
  expect(byHyparquet.length).toBe(rows)
  const duck = byDuckDb.map(rowKey).sort()
  const hy = byHyparquet.map(rowKey).sort()
  expect(new Set(duck).size).toBe(rows)
  expect(hy).toEqual(duck)
})
