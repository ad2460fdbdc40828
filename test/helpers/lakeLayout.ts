/**
 * The lake contract as a test checks it: in a (feed, date) partition, every file is one of the
 * feed's bucket files, every row sits in the file its key maps to, and no key is held twice.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Feed } from "../../src/domain/feeds.js"
import { SCHEMAS } from "../../src/domain/feeds.js"
import { bucketFileName, bucketOfFile, bucketSql } from "../../src/domain/lakeBuckets.js"
import { lakePaths } from "../../src/domain/paths.js"

export interface LakeLayout {
  /** Parquet files of the partition that are not bucket files of the feed. */
  readonly foreign: ReadonlyArray<string>
  /** Rows held by another file than the one their key maps to (at most 10 shown). */
  readonly misplaced: ReadonlyArray<string>
  /** Keys held more than once. */
  readonly duplicateKeys: number
}

export const lakeLayout = async (root: string, feed: Feed, date: string): Promise<LakeLayout> => {
  const dir = lakePaths(root).partitionDir(feed, date)
  const names = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((n) => n.endsWith(".parquet"))
        .sort()
    : []
  const foreign = names.filter((n) => bucketOfFile(feed, n) === undefined)
  if (names.length === 0) return { foreign, misplaced: [], duplicateKeys: 0 }
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    const key = SCHEMAS[feed].key.map((k) => `"${k}"`).join(", ")
    const from = `read_parquet('${path.join(dir, "*.parquet")}', filename = true, union_by_name = true)`
    const rows = (
      await c.runAndReadAll(`SELECT DISTINCT parse_filename(filename) AS f, ${bucketSql(feed, date)} AS b FROM ${from}`)
    ).getRowsJS()
    const misplaced = rows
      .filter(([f, b]) => f !== bucketFileName(feed, Number(b)))
      .map(([f, b]) => `${String(f)} holds bucket ${Number(b)}`)
      .slice(0, 10)
    const dup = (
      await c.runAndReadAll(`SELECT count(*) FROM (SELECT ${key} FROM ${from} GROUP BY ALL HAVING count(*) > 1)`)
    ).getRowsJS()
    return { foreign, misplaced, duplicateKeys: Number(dup[0]?.[0] ?? 0) }
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

export const CLEAN_LAYOUT: LakeLayout = { foreign: [], misplaced: [], duplicateKeys: 0 }
