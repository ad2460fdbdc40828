/**
 * `options_consolidated` of one date in DuckDB: the query (sql/consolidated.ts) COPYed to the
 * date's Parquet file, replaced atomically; the warehouse's view reads those files. Writing 2.34 M
 * rows into the warehouse file cost ~10x the query; a view over the files costs nothing. Over the
 * lake (`storage: lake`) the query reads the date's files only, pinned (lakeSnapshot.ts).
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Tickers } from "../../domain/tickers.js"
import { CONSOLIDATED } from "../../sql/tables.js"
import { duckdbConsolidateQuery } from "../../sql/consolidated.js"
import { sqlString } from "../DuckDb.js"
import { withSnapshot } from "../parquet/lakeSnapshot.js"
import { publish } from "../ParquetWriter.js"
import * as LakeViews from "./duckdbLakeViews.js"
import { tempPath } from "../../lib/atomicFile.js"

export interface ConsolidateOptions {
  readonly root: string
  readonly storage?: "tables" | "lake" | undefined
  readonly newsWindowMinutes: number
  readonly barSpanMs?: number | undefined
  readonly tickers?: Tickers | undefined
}

/**
 * Parquet format version 2 (data pages v2, delta and byte-stream-split encodings): the 2.34 M-bar
 * day's export took 15% less CPU and 9.3 MB instead of 34 MB. DuckDB reads it, and so does an
 * independent reader (hyparquet, test/services/sinks/consolidatedExportReaders.test.ts); pyarrow,
 * polars and Spark 3 document support (not tested here). The lake's own files stay version 1.
 * Row groups of 25,000 rows: each writing thread buffers one row group, so a backfill peaked ~35 MB
 * lower and ran ~1 s faster over 20 days than with 100,000 (README, "Benchmarks").
 */
const EXPORT_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 25000, PARQUET_VERSION V2)"

export const consolidateToParquet = (
  c: DuckDBConnection,
  o: ConsolidateOptions,
  d: string,
  target: string
): Promise<{ rows: number }> =>
  withSnapshot(o.root, async (snap) => {
    const tmp = tempPath(target)
    try {
      const source = async (feed: "options" | "spy" | "vix") =>
        LakeViews.partitionSource(feed, d, await snap.pinPartition(feed, d))
      const bars =
        o.storage === "lake"
          ? { options: await source("options"), spy: await source("spy"), vix: await source("vix") }
          : {}
      const query = duckdbConsolidateQuery(d, o.newsWindowMinutes * 60_000, o.barSpanMs, bars, o.tickers)
      const copied = await c.runAndReadAll(`COPY (${query}) TO ${sqlString(tmp)} ${EXPORT_OPTIONS}`)
      await publish(tmp, target)
      return { rows: Number(copied.getRowsJS()[0]?.[0] ?? 0) }
    } catch (e) {
      await fs.rm(tmp, { force: true })
      throw e
    }
  })

/** The view over every date's export. */
export const consolidatedView = (root: string) =>
  `CREATE OR REPLACE VIEW ${CONSOLIDATED} AS SELECT * FROM read_parquet(${sqlString(path.resolve(root, "consolidated", "date=*", "consolidated.parquet"))}, hive_partitioning = false)`

/** Whether some date has its export (a date=… folder of an interrupted consolidation does not count). */
export const hasExport = async (root: string): Promise<boolean> => {
  const dirs = (await fs.readdir(path.join(root, "consolidated")).catch(() => [] as Array<string>)).filter((d) =>
    d.startsWith("date=")
  )
  for (const d of dirs)
    if (
      await fs.stat(path.join(root, "consolidated", d, "consolidated.parquet")).then(
        () => true,
        () => false
      )
    )
      return true
  return false
}
