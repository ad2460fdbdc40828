/**
 * The DuckDB warehouse's bar tables as views over the lake (`sinks.duckdb.storage: lake`, the
 * default). `spy_bars`, `option_bars` and `vix_values` keep the tables' columns, in order (lake columns, each `*_ms` followed by its timestamp, then `date`),
 * but read `raw/<feed>/date=*\/*.parquet` at query time (the `date` column is the hive partition,
 * so a `WHERE "date" = …` reads one partition). Nothing is copied: a load costs nothing, the
 * warehouse file holds only the catalog, and a query sees the lake as it is now.
 *
 * Only the bar feeds (spy, options, vix: all but a few kB of a day) are views. News and contracts
 * stay loaded tables: the consolidation reads every article of every date and the contracts by
 * `as_of`, which over views would open every day's file of the lake for each day consolidated (a
 * cost growing with the range); as tables they cost a few kB a day.
 *
 * One row per key holds because the lake holds it: every key of a partition lives in exactly
 * one file (README, "The lake contract").
 *
 * A feed with no file yet gets a view over no rows (DuckDB refuses a glob that matches nothing);
 * `refresh(feed)` turns it into the lake view once the feed has files.
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Feed } from "../../domain/feeds.js"
import { FEEDS, quote, sinkColumns, sqlType, TABLES } from "../../sql/tables.js"
import { sqlString } from "../DuckDb.js"

const q = (id: string) => quote("duckdb", id)

const glob = (root: string, feed: Feed) => path.resolve(root, "raw", feed, "date=*", "*.parquet")

/**
 * The view's SELECT list: the table's columns from the lake's (`x`, the same types), no casts, so
 * that a filter on `date` reaches the hive partitions and only that date's files are read.
 */
const selectList = (feed: Feed) =>
  sinkColumns(feed)
    .map((c) =>
      c.type === "TIMESTAMP"
        ? `epoch_ms(CAST(x.${q(c.fromMs!)} AS BIGINT))::TIMESTAMPTZ AS ${q(c.name)}`
        : `x.${q(c.name)}`
    )
    .join(", ")

export const lakeViewSql = (root: string, feed: Feed): string => {
  const source = `read_parquet(${sqlString(glob(root, feed))}, hive_partitioning = true, union_by_name = true, hive_types = {'date': VARCHAR})`
  return `CREATE OR REPLACE VIEW ${q(TABLES[feed])} AS SELECT ${selectList(feed)} FROM ${source} AS x`
}

/** One partition of `feed` (its files, pinned: lakeSnapshot.ts) as a parenthesised relation with the table's columns. */
export const partitionSource = (feed: Feed, date: string, files: ReadonlyArray<string>): string => {
  if (files.length === 0) return `(SELECT ${emptyList(feed)} WHERE false)`
  const list = `[${files.map(sqlString).join(", ")}]`
  const cols = selectList(feed).replace(`x."date"`, `${sqlString(date)} AS "date"`)
  return `(SELECT ${cols} FROM read_parquet(${list}, union_by_name = true) AS x)`
}

const emptyList = (feed: Feed) =>
  sinkColumns(feed)
    .map((c) => `NULL::${sqlType("duckdb", c.type, false)} AS ${q(c.name)}`)
    .join(", ")

export const emptyViewSql = (feed: Feed): string =>
  `CREATE OR REPLACE VIEW ${q(TABLES[feed])} AS SELECT ${emptyList(feed)} WHERE false`

/** Whether the lake holds at least one Parquet file of `feed`. */
export const hasFiles = async (root: string, feed: Feed): Promise<boolean> => {
  const base = path.join(root, "raw", feed)
  for (const dir of await fs.readdir(base).catch(() => [] as Array<string>)) {
    if (!dir.startsWith("date=")) continue
    if ((await fs.readdir(path.join(base, dir)).catch(() => [] as Array<string>)).some((n) => n.endsWith(".parquet")))
      return true
  }
  return false
}

/** The feeds read through views; the others stay loaded tables. */
export const VIEW_FEEDS: ReadonlyArray<Feed> = ["spy", "options", "vix"]
export const isView = (feed: Feed): boolean => VIEW_FEEDS.includes(feed)

const tableType = async (c: DuckDBConnection, name: string): Promise<string | undefined> =>
  (
    await c.runAndReadAll(`SELECT table_type AS t FROM information_schema.tables WHERE table_name = ${sqlString(name)}`)
  ).getRowObjectsJS()[0]?.["t"] as string | undefined

export interface LakeViews {
  /** Make the view of `feed` (one of VIEW_FEEDS) read the lake once it has files (idempotent; concurrent callers share one CREATE). */
  readonly refresh: (c: DuckDBConnection, feed: Feed) => Promise<void>
}

/**
 * Replace the bar tables by views (a table of an earlier warehouse is dropped: its rows are the
 * lake's, which the view reads) and forget their sink checkpoints.
 */
export const install = async (c: DuckDBConnection, root: string): Promise<LakeViews> => {
  const live = new Set<Feed>()
  for (const feed of VIEW_FEEDS) {
    if ((await tableType(c, TABLES[feed])) === "BASE TABLE") await c.run(`DROP TABLE ${q(TABLES[feed])}`)
    const present = await hasFiles(root, feed)
    await c.run(present ? lakeViewSql(root, feed) : emptyViewSql(feed))
    if (present) live.add(feed)
    await c.run(`DELETE FROM sink_checkpoints WHERE feed = ${sqlString(feed)}`)
  }
  // DuckDB fails the second of two concurrent CREATEs of one view with a write-write conflict.
  const pending = new Map<Feed, Promise<void>>()
  const refresh = (conn: DuckDBConnection, feed: Feed): Promise<void> => {
    if (live.has(feed)) return Promise.resolve()
    const running = pending.get(feed)
    if (running !== undefined) return running
    const p = hasFiles(root, feed)
      .then((present) => (present ? conn.run(lakeViewSql(root, feed)).then(() => void live.add(feed)) : undefined))
      .finally(() => pending.delete(feed))
    pending.set(feed, p)
    return p
  }
  return { refresh }
}

/**
 * Back to tables (`storage: tables`) after the views: drop each view, create the table and its
 * indexes again, and forget its checkpoints so the next loads fill it.
 */
export const uninstall = async (
  c: DuckDBConnection,
  createTable: (feed: Feed) => ReadonlyArray<string>
): Promise<void> => {
  for (const feed of FEEDS) {
    if ((await tableType(c, TABLES[feed])) !== "VIEW") continue
    await c.run(`DROP VIEW ${q(TABLES[feed])}`)
    for (const s of createTable(feed)) await c.run(s)
    await c.run(`DELETE FROM sink_checkpoints WHERE feed = ${sqlString(feed)}`)
  }
}

/** Rows of the given lake files (from their Parquet footers). */
export const countFiles = async (c: DuckDBConnection, files: ReadonlyArray<string>): Promise<number> =>
  files.length === 0
    ? 0
    : Number(
        (
          await c.runAndReadAll(
            `SELECT count(*)::DOUBLE AS v FROM read_parquet([${files.map(sqlString).join(", ")}], union_by_name = true)`
          )
        ).getRowsJS()[0]?.[0] ?? 0
      )
