/**
 * A live commit's merge split over two DuckDB connections: its rows grouped by the bucket files
 * they map to (domain/bucketGroups.ts), each group merged by its own `upsertPartition` at the same
 * time. The groups write disjoint files, so the lake contract holds as with one merge; the caller
 * holds the partition's lock for both. A live commit at a burst spans several windows (the
 * underlyings' sockets are not in step) and its merges were the one serial chain on 2 cores.
 */
import * as fs from "node:fs/promises"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import type { Feed } from "../../domain/feeds.js"
import { bucketGroups } from "../../domain/bucketGroups.js"
import { bucketOfFile } from "../../domain/lakeBuckets.js"
import type { UpsertResult } from "./partitionUpsert.js"

/** Connections a split merge uses (the lake writer's pool has two). */
export const SPLIT_WAYS = 2

/**
 * The groups of `batches` to merge at once, or undefined to merge them in one go: they fall in one
 * bucket, or the partition still holds files of an older layout (one merge folds those in).
 */
export const splitGroups = async (
  feed: Feed,
  dir: string,
  date: string,
  batches: ReadonlyArray<ColumnBatch>
): Promise<Array<Array<ColumnBatch>> | undefined> => {
  const names = await fs.readdir(dir).catch(() => [] as Array<string>)
  if (names.some((n) => n.endsWith(".parquet") && bucketOfFile(feed, n) === undefined)) return undefined
  return bucketGroups(feed, date, batches, SPLIT_WAYS)
}

/** The results of the groups' merges as one merge's. */
export const combineResults = (results: ReadonlyArray<UpsertResult>): UpsertResult => ({
  rows: results.reduce((n, r) => n + r.rows, 0),
  written: results.flatMap((r) => r.written),
  removed: results.flatMap((r) => r.removed)
})
