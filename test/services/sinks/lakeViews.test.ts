/**
 * The DuckDB warehouse's bar tables as views over the lake (`sinks.duckdb.storage: lake`, the
 * default; news and contracts stay loaded tables): on a lake that keeps its contract (one row per
 * key per partition), every feed "table" and
 * `options_consolidated` equal, row for row and column for column, what the loaded tables
 * (`storage: tables`) hold for the same lake; a load copies nothing and the warehouse file stays
 * small; a feed with no file yet reads as empty, then as its files once written; switching a
 * warehouse from tables to views and back keeps every query right.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { Feed } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as DuckDbSink from "../../../src/services/sinks/DuckDbSink.js"
import { CONSOLIDATED, FEEDS, TABLES } from "../../../src/sql/tables.js"
import { DATES, dayRows, makeDay } from "./fixtures.js"
import { tempRoot, writeLake } from "./support.js"

const root = await tempRoot()
afterAll(() => fs.rm(root, { recursive: true, force: true }))
const days = DATES.map((d, i) => makeDay(d, i))

const withSink = <A>(
  storage: "lake" | "tables",
  warehouse: string,
  f: (sink: import("../../../src/services/sinks/Sink.js").Sink) => Effect.Effect<A, unknown>
) =>
  Effect.runPromise(
    Effect.flatMap(DuckDbSink.make({ root, path: warehouse, storage, newsWindowMinutes: 15, commitSlaS: 300 }), f).pipe(
      Effect.scoped
    )
  )

const loadAll = (storage: "lake" | "tables", warehouse: string) =>
  withSink(storage, warehouse, (sink) =>
    Effect.gen(function* () {
      const results: Array<unknown> = []
      for (const date of DATES) {
        for (const feed of FEEDS) results.push([feed, date, yield* sink.loadPartition(feed, date)])
        yield* sink.consolidate!(date)
      }
      return results
    })
  )

const query = <A>(warehouse: string, sql: string) =>
  Effect.runPromise(Effect.flatMap(DuckDb.make(warehouse), (db) => db.query<A>(sql)).pipe(Effect.scoped))

/** Every row of `table`, every column, as sorted JSON lines. */
const dump = async (warehouse: string, table: string) =>
  (await query<Record<string, unknown>>(warehouse, `SELECT * FROM ${table}`))
    .map((r) => JSON.stringify(r, (_, v) => (typeof v === "bigint" ? Number(v) : v)))
    .sort()

describe("duckdb warehouse: views over the lake", () => {
  it("equals the loaded tables for every feed and the consolidated view; loads copy nothing", async () => {
    const views = path.join(root, "views.duckdb")
    const tables = path.join(root, "tables.duckdb")
    // a feed with no file yet reads as empty
    expect(await withSink("lake", views, (sink) => sink.counts!(DATES[0]))).toEqual({
      ...Object.fromEntries(FEEDS.map((f) => [TABLES[f], 0])),
      [CONSOLIDATED]: 0
    })
    // a lake keeping its contract: one file per partition, one row per key
    for (const day of days)
      for (const feed of FEEDS) await writeLake(root, feed, day.date, "day.parquet", [...dayRows(day, feed).values()])

    const loaded = await loadAll("lake", views)
    // bars: nothing copied; news and contracts: loaded tables
    const small = (feed: Feed) => feed === "news" || feed === "contracts"
    expect(loaded).toEqual(
      DATES.flatMap((date, i) =>
        FEEDS.map((feed) => [
          feed,
          date,
          { rows: dayRows(days[i]!, feed).size, written: small(feed) ? dayRows(days[i]!, feed).size : 0 }
        ])
      )
    )
    const fromViews = await Promise.all([...FEEDS.map((f) => dump(views, TABLES[f])), dump(views, CONSOLIDATED)])
    await loadAll("tables", tables)
    const fromTables = await Promise.all([...FEEDS.map((f) => dump(tables, TABLES[f])), dump(tables, CONSOLIDATED)])
    expect(fromViews.map((rows) => rows.length)).toEqual(fromTables.map((rows) => rows.length))
    expect(fromViews).toEqual(fromTables)
    expect(fromViews[FEEDS.indexOf("options")]!.length).toBe(days.reduce((n, d) => n + dayRows(d, "options").size, 0))

    const views_ = (await fs.stat(views)).size
    const tables_ = (await fs.stat(tables)).size
    expect(views_).toBeLessThan(tables_)
    // the file stores no bar: its only tables are the small feeds and the bookkeeping
    const stored = await query<{ n: string }>(views, `SELECT table_name AS n FROM duckdb_tables() ORDER BY n`)
    expect(stored.map((t) => t.n)).toEqual(["news", "option_contracts", "schema_migrations", "sink_checkpoints"])
  })

  it("a warehouse switched from tables to views and back answers from the lake, then from reloaded tables", async () => {
    const warehouse = lakePaths(root).warehouse
    const date = DATES[0]
    const want = Object.fromEntries([
      ...FEEDS.map((f) => [TABLES[f], dayRows(days[0]!, f).size] as const),
      [CONSOLIDATED, dayRows(days[0]!, "options").size]
    ])
    await loadAll("tables", warehouse)
    expect(await withSink("tables", warehouse, (s) => s.counts!(date))).toEqual(want)
    expect(await withSink("lake", warehouse, (s) => s.counts!(date))).toEqual(want)
    const kinds = await query<{ n: string; t: string }>(
      warehouse,
      `SELECT table_name AS n, table_type AS t FROM information_schema.tables WHERE table_name IN (${FEEDS.map((f) => `'${TABLES[f]}'`).join(", ")}) ORDER BY n`
    )
    expect(kinds.map((k) => [k.n, k.t])).toEqual(
      FEEDS.map((f) => [TABLES[f], f === "news" || f === "contracts" ? "BASE TABLE" : "VIEW"]).sort((a, b) =>
        a[0]! < b[0]! ? -1 : 1
      )
    )
    // back to tables: created again, empty until loaded (their checkpoints were forgotten), then exact
    expect((await withSink("tables", warehouse, (s) => s.counts!(date)))["option_bars"]).toBe(0)
    await loadAll("tables", warehouse)
    expect(await withSink("tables", warehouse, (s) => s.counts!(date))).toEqual(want)
  })
})
