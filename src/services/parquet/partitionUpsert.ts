/**
 * Rows into a lake partition under the lake contract (domain/lakeBuckets.ts): each incoming key
 * goes to the one file its key maps to, merged with what that file holds (the greatest
 * `received_at_ms` wins; on a tie the incoming row), and each touched file is replaced by one
 * atomic rename. The caller holds the partition's lock (partitionLock.ts).
 *
 * - `merge`: files the incoming rows do not touch stay as they are.
 * - `replace` (backfill `--overwrite`): the partition becomes the incoming rows; files they do not
 *   touch are removed after the new ones are in place.
 * - `{ replaceWhere }` (backfill `--overwrite` of one ticker of a feed that holds several): the rows
 *   matching the SQL predicate become the incoming rows, the others stay; a file left without
 *   rows is removed.
 * - Files of an older layout (`backfill.parquet`, `live.parquet`, `live-<seq>.parquet`,
 *   `recenter.parquet`) are folded into the buckets by the first merge and then removed; only
 *   during that one conversion can a reader see a key twice.
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import type { FeedSchema } from "../../domain/feeds.js"
import { bucketFileName, bucketOfFile, bucketSql } from "../../domain/lakeBuckets.js"
import { fsyncDir } from "../../lib/atomicFile.js"
import { sqlString } from "../DuckDb.js"
import { fileColumns, incomingSelect } from "./batchCopy.js"
import { keyedMergeSelect } from "./keyedMerge.js"
import type { Finished } from "./publish.js"

/** `replaceWhere`: a DuckDB boolean expression over the feed's columns, built by the caller from its own values. */
export type UpsertMode = "merge" | "replace" | { readonly replaceWhere: string }

export interface PartitionInput {
  readonly batches?: ReadonlyArray<ColumnBatch>
  /** Parquet files of the feed's schema (staged rows). */
  readonly files?: ReadonlyArray<string>
}

export interface UpsertResult {
  /** Incoming rows (the rows this write stored or confirmed). */
  readonly rows: number
  /** The partition's files this write replaced or created. */
  readonly written: ReadonlyArray<string>
  /** Files removed (replace mode, or an older layout folded in). */
  readonly removed: ReadonlyArray<string>
}

export interface UpsertTarget {
  readonly schema: FeedSchema
  readonly dir: string
  readonly date: string
  readonly mode: UpsertMode
  readonly copyOptions: string
  readonly tempName: (target: string) => string
  /** Publishes the written files together (publish.ts `publishAll`). */
  readonly publish: (files: ReadonlyArray<Finished>) => Promise<void>
}

let sequence = 0

/**
 * Whether scans keep a table's insertion order (DuckDB's `preserve_insertion_order`, on unless set
 * off). Then a COPY of the result table, built in (bucket, key) order, writes each bucket's rows in
 * key order without sorting them again: a day's 39 option files took 98 ms instead of 174.
 */
const insertionOrderKept = async (c: DuckDBConnection): Promise<boolean> =>
  Boolean((await c.runAndReadAll("SELECT current_setting('preserve_insertion_order')")).getRowsJS()[0]?.[0] ?? false)

/** Whether `table` holds each key once (then a write into an empty partition needs no dedupe). */
const unique = async (c: DuckDBConnection, table: string, key: string): Promise<boolean> =>
  Boolean((await c.runAndReadAll(`SELECT count(*) = count(DISTINCT (${key})) FROM ${table}`)).getRowsJS()[0]?.[0])

/** A table's rows in one bucket, and the rowid range they lie in. */
interface BucketRows {
  readonly bucket: number
  readonly rows: number
  readonly first: number
  readonly last: number
}

const bucketRows = async (c: DuckDBConnection, table: string): Promise<Array<BucketRows>> =>
  (await c.runAndReadAll(`SELECT _b, count(*), min(rowid), max(rowid) FROM ${table} GROUP BY _b ORDER BY _b`))
    .getRowsJS()
    .map((r) => ({ bucket: Number(r[0]), rows: Number(r[1]), first: Number(r[2]), last: Number(r[3]) }))

/**
 * The WHERE of each bucket's rows. A table stored in bucket order holds each bucket in one rowid
 * range, which DuckDB's scan reads alone (a day's 39 files then cost one pass over the table, not
 * 39); otherwise, or without the ranges, the rows are picked by `_b`.
 */
const bucketWhere = (ranges: ReadonlyArray<BucketRows> | undefined): ((bucket: number) => string) => {
  const contiguous = ranges !== undefined && ranges.every((x) => x.last - x.first + 1 === x.rows)
  const byBucket = new Map(contiguous ? ranges.map((x) => [x.bucket, x] as const) : [])
  return (bucket) => {
    const range = byBucket.get(bucket)
    return range === undefined ? `_b = ${bucket}` : `rowid BETWEEN ${range.first} AND ${range.last}`
  }
}

export const upsertPartition = async (
  c: DuckDBConnection,
  t: UpsertTarget,
  input: PartitionInput
): Promise<UpsertResult> => {
  const { schema, dir } = t
  const feed = schema.feed
  await fs.mkdir(dir, { recursive: true })
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith(".parquet")).sort()
  const buckets = new Map(
    names.flatMap((n) => {
      const b = bucketOfFile(feed, n)
      return b === undefined ? [] : [[b, n] as const]
    })
  )
  const legacy = names.filter((n) => bucketOfFile(feed, n) === undefined)
  const cols = fileColumns(schema)
    .map((n) => `"${n}"`)
    .join(", ")
  const key = schema.key.map((k) => `"${k}"`).join(", ")
  const bucket = bucketSql(feed, t.date)
  const id = ++sequence
  const inc = `upsert_in_${feed}_${id}`
  const fin = `upsert_out_${feed}_${id}`
  const incoming = incomingSelect(c, schema, input.batches ?? [], input.files ?? [])
  // Sorted by bucket then key, each bucket's rows lie in one rowid range in key order (when the
  // instance keeps insertion order). Into an empty partition (a backfilled day) the incoming rows
  // are sorted as they are staged and are the result; otherwise (a live commit) the merge sorts.
  const order = `ORDER BY _b, ${key}`
  const sortedIn = t.mode === "replace" || names.length === 0
  try {
    await c.run(
      `CREATE TEMP TABLE ${inc} AS SELECT ${cols}, ${bucket} AS _b FROM (${incoming.sql}) ${sortedIn ? order : ""}`
    )
  } finally {
    incoming.close()
  }
  try {
    const incomingBuckets = await bucketRows(c, inc)
    const rows = incomingBuckets.reduce((n, b) => n + b.rows, 0)
    const touched = new Set(incomingBuckets.map((b) => b.bucket))
    const existing: Array<string> = []
    const scope = typeof t.mode === "object" ? t.mode.replaceWhere : undefined
    if (t.mode !== "replace") {
      if (legacy.length > 0) {
        existing.push(...legacy.map((n) => path.join(dir, n)))
        const list = `[${existing.map(sqlString).join(", ")}]`
        const held = await c.runAndReadAll(`SELECT DISTINCT ${bucket} FROM read_parquet(${list}, union_by_name = true)`)
        for (const r of held.getRowsJS()) touched.add(Number(r[0]))
      }
      if (scope !== undefined && buckets.size > 0) {
        const list = `[${[...buckets.values()].map((n) => sqlString(path.join(dir, n))).join(", ")}]`
        const held = await c.runAndReadAll(
          `SELECT DISTINCT ${bucket} FROM read_parquet(${list}, union_by_name = true) WHERE ${scope}`
        )
        for (const r of held.getRowsJS()) touched.add(Number(r[0]))
      }
      for (const b of touched) if (buckets.has(b)) existing.push(path.join(dir, buckets.get(b)!))
    }
    let result = inc
    if (existing.length === 0 && (await unique(c, inc, key))) {
      if (!sortedIn) {
        await c.run(`CREATE TEMP TABLE ${fin} AS SELECT * FROM ${inc} ${order}`)
        result = fin
      }
    } else if (existing.length > 0 && legacy.length === 0 && scope === undefined) {
      const files = `read_parquet([${existing.map(sqlString).join(", ")}], union_by_name = true)`
      await c.run(
        `CREATE TEMP TABLE ${fin} AS SELECT * FROM (${keyedMergeSelect({ incoming: inc, files, cols, key, bucket })}) ${order}`
      )
      result = fin
    } else {
      const old =
        existing.length === 0
          ? ""
          : `UNION ALL BY NAME SELECT ${cols}, ${bucket} AS _b, 0 AS _p FROM read_parquet([${existing.map(sqlString).join(", ")}], union_by_name = true)` +
            (scope === undefined ? "" : ` WHERE NOT coalesce((${scope}), false)`)
      // Replacing a scope, an incoming row wins whatever its age (the old rows of the scope are gone).
      const wins = scope === undefined ? "received_at_ms DESC, _p DESC" : "_p DESC, received_at_ms DESC"
      await c.run(
        `CREATE TEMP TABLE ${fin} AS SELECT * EXCLUDE (_p) FROM (SELECT *, 1 AS _p FROM ${inc} ${old}) ` +
          `QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY ${wins}) = 1 ${order}`
      )
      result = fin
    }
    // A merge's result holds the buckets it touched; a scope's replacement may empty some.
    const ranges = result === inc ? incomingBuckets : scope === undefined ? undefined : await bucketRows(c, result)
    const held = ranges === undefined ? touched : new Set(ranges.map((b) => b.bucket))
    const where = bucketWhere(ranges)
    const finished: Array<Finished> = []
    const sort = (await insertionOrderKept(c)) ? "" : ` ORDER BY ${key}`
    try {
      for (const b of [...held].sort((x, y) => x - y)) {
        const target = path.join(dir, bucketFileName(feed, b))
        const tmp = t.tempName(target)
        finished.push({ tmp, target })
        await c.run(
          `COPY (SELECT ${cols} FROM ${result} WHERE ${where(b)}${sort}) TO ${sqlString(tmp)} ${t.copyOptions}`
        )
      }
      await t.publish(finished)
    } catch (e) {
      await Promise.all(finished.map((f) => fs.rm(f.tmp, { force: true })))
      throw e
    }
    const written = finished.map((f) => f.target)
    const keep = new Set(written.map((f) => path.basename(f)))
    const emptied = [...touched].flatMap((b) => (!held.has(b) && buckets.has(b) ? [buckets.get(b)!] : []))
    const removed = t.mode === "replace" ? names.filter((n) => !keep.has(n)) : [...legacy, ...emptied]
    for (const n of removed) await fs.rm(path.join(dir, n), { force: true })
    if (removed.length > 0) await fsyncDir(dir)
    return { rows, written, removed: removed.map((n) => path.join(dir, n)) }
  } finally {
    await c.run(`DROP TABLE IF EXISTS ${inc}`)
    await c.run(`DROP TABLE IF EXISTS ${fin}`)
  }
}
