/**
 * The embedded DuckDB warehouse sink (`<storage.root>/warehouse.duckdb`, its own file-backed
 * instance, separate from the lake writer's in-memory one). With `storage: "lake"` (the settings'
 * default) the bar tables are views over the lake (./duckdbLakeViews.ts) and their loads copy
 * nothing; everything below is how a loaded table is filled. A partition loads straight from its
 * Parquet files (`read_parquet(files, union_by_name)`, deduplicated by key, staged, then merged:
 * new keys inserted, strictly newer versions updated, src/sql/duckdbMerge.ts); values never pass
 * through SQL text. Up to `batchRows` rows it is ONE
 * transaction with its checkpoint row; a larger one is staged (temp table in key order) and
 * committed in batches of `batchRows`, each with the checkpoint of the rows committed so far, so
 * a restarted load goes on after the last committed batch of the same lake version (as SqlSink).
 * `--overwrite` is always one transaction. `loadFiles` (live incremental loads) upserts only the given
 * files the same way, in transactions of up to `batchRows` rows, and never writes the checkpoint. `consolidate` rebuilds the date with ASOF LEFT JOINs and exports
 * `consolidated/date=D/consolidated.parquet` atomically (temp file, fsync, rename).
 */
import type { Tickers } from "../../domain/tickers.js"
import type { DuckDBConnection } from "@duckdb/node-api"
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type Feed, SCHEMAS } from "../../domain/feeds.js"
import { assertDate, lakePaths } from "../../domain/paths.js"
import {
  CHECKPOINTS,
  CONSOLIDATED,
  createIndex,
  createTable,
  indexesFor,
  sinkColumns,
  TABLES
} from "../../sql/tables.js"
import { dedupedSelect, partitionFiles, partitionSubset } from "./LakeReader.js"
import * as LakeViews from "./duckdbLakeViews.js"
import * as DuckDb from "../DuckDb.js"
import { withSnapshot } from "../parquet/lakeSnapshot.js"
import { currentAlerts, type LoadResult, type Sink, sinkError } from "./Sink.js"
import * as Migrations from "./migrate.js"
import * as SinkMetrics from "./SinkMetrics.js"
import * as Tables from "./duckdbTables.js"
import { consolidatedView, consolidateToParquet, hasExport } from "./duckdbConsolidate.js"

export interface DuckDbSinkOptions {
  /** The lake root (`storage.root`). */
  readonly root: string
  /** The warehouse file; `<root>/warehouse.duckdb` by default. */
  readonly path?: string | undefined
  readonly newsWindowMinutes: number
  readonly commitSlaS: number
  /** The option bars' span: the consolidated row's time is the bar's end. */
  readonly barSpanMs?: number
  /** The underlying and index the consolidated view joins (default SPY, I:VIX). */
  readonly tickers?: Tickers
  /** Rows per transaction for large partitions; 0 = the whole partition in one. */
  readonly batchRows?: number | undefined
  /**
   * `tables` (when omitted): the feed tables hold copies of the lake's rows, loaded by upserts.
   * `lake` (the settings' default): the bar tables are views over the lake's Parquet
   * (./duckdbLakeViews.ts), loads of them copy nothing; news and contracts stay tables.
   */
  readonly storage?: "tables" | "lake" | undefined
  /** DuckDB threads per statement (`sinks.duckdb.threads`; default 2). */
  readonly threads?: number | undefined
}

export const make = (options: DuckDbSinkOptions) =>
  Effect.gen(function* () {
    const paths = lakePaths(options.root)
    const file = options.path ?? paths.warehouse
    yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
    const db = yield* DuckDb.make(file, 2, { interruptible: true, threads: options.threads ?? 2 })
    // DuckDB statements here never take bound parameters (see recordMigration).
    yield* Migrations.migrate({
      sink: "duckdb",
      dialect: "duckdb",
      run: (statement) => db.query<Record<string, unknown>>(statement)
    })
    const lakeViews =
      options.storage === "lake"
        ? yield* Effect.orDie(db.withConnection((c) => LakeViews.install(c, options.root), "install lake views"))
        : yield* Effect.orDie(
            db.withConnection(
              (c) =>
                LakeViews.uninstall(c, (feed) => [
                  createTable("duckdb", TABLES[feed], sinkColumns(feed), SCHEMAS[feed].key),
                  ...indexesFor("duckdb")
                    .filter(([, t]) => t === TABLES[feed])
                    .map((i) => createIndex("duckdb", i))
                ]),
              "tables instead of lake views"
            )
          ).pipe(Effect.as(undefined))
    // Nothing here depends on row order (tables are keyed, the view is unordered): letting DuckDB
    // write Parquet from both threads halves the consolidated export (3.5 s -> 1.85 s on the bench day).
    yield* Effect.orDie(db.run("SET GLOBAL preserve_insertion_order = false"))
    // options_consolidated is a view over data/consolidated/date=*/consolidated.parquet (once one exists).
    const [kind] = yield* Effect.orDie(
      db.query<{ t: string }>(
        `SELECT table_type AS t FROM information_schema.tables WHERE table_name = '${CONSOLIDATED}'`
      )
    )
    if (kind?.t === "BASE TABLE") yield* Effect.orDie(db.run(`DROP TABLE ${CONSOLIDATED}`))
    // a date=… folder without its export (a consolidation interrupted or killed before publishing) does not count
    const exported = yield* Effect.promise(() => hasExport(options.root))
    if (exported) yield* Effect.orDie(db.run(consolidatedView(options.root)))
    // The view reads a glob that DuckDB expands at every query, so it is created once, after the
    // first export; two days consolidated at once (backfill runs days concurrently) must not both
    // CREATE it: DuckDB fails the second with a catalog write-write conflict.
    let viewCreated: Promise<void> | undefined = exported ? Promise.resolve() : undefined
    const ensureView = (c: DuckDBConnection) =>
      (viewCreated ??= c.run(consolidatedView(options.root)).then(
        () => undefined,
        (e: unknown) => {
          viewCreated = undefined
          throw e
        }
      ))
    const metrics = SinkMetrics.make("duckdb", options.commitSlaS * 1000, yield* currentAlerts)
    const timed = <A extends { rows: number }>(
      context: Record<string, unknown>,
      effect: Effect.Effect<A, DuckDb.DuckDbError>
    ) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        const a = yield* effect
        yield* metrics.commit(a.rows, (yield* Clock.currentTimeMillis) - start, context)
        return a
      }).pipe(Effect.tapError(() => metrics.failure))

    const batchRows = options.batchRows ?? 0
    const { writeCheckpoint, countDate, mergeFiles, loadInBatches } = Tables.tableLoads(batchRows)

    const loadPartition = (feed: Feed, date: string, overwrite: boolean) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const listed = yield* partitionFiles(options.root, feed, d)
        const table = TABLES[feed]
        return yield* timed(
          { sink: "duckdb", feed, date },
          db.withConnection(
            (c) =>
              withSnapshot(options.root, async (snap): Promise<LoadResult> => {
                const [files, fingerprint] = [await snap.pin(listed.files), listed.fingerprint] // pinned: lakeSnapshot.ts
                const source = files.length === 0 ? undefined : dedupedSelect(feed, files)
                const current = (
                  await c.runAndReadAll(
                    `SELECT fingerprint, "rows"::DOUBLE AS n, total::DOUBLE AS t FROM ${CHECKPOINTS} WHERE feed = '${feed}' AND "date" = '${d}'`
                  )
                ).getRowObjectsJS()[0]
                const same = !overwrite && current !== undefined && current["fingerprint"] === fingerprint
                if (same && Number(current["n"]) >= Number(current["t"]))
                  return { rows: Number(current["t"]), written: 0 }
                const total =
                  source === undefined
                    ? 0
                    : Number(await Tables.scalar(c, `SELECT count(*)::DOUBLE AS v FROM (${source})`))
                if (!overwrite && batchRows > 0 && total > batchRows) {
                  const offset = same ? Math.min(Number(current["n"]), total) : 0
                  await loadInBatches(c, feed, d, files, fingerprint, offset, total)
                  return { rows: await countDate(c, table, d), written: total - offset }
                }
                return Tables.inTransaction(c, async () => {
                  if (overwrite) await c.run(`DELETE FROM ${table} WHERE "date" = '${d}'`)
                  if (files.length > 0) await mergeFiles(c, feed, d, files)
                  const stored = files.length === 0 ? 0 : await countDate(c, table, d)
                  await writeCheckpoint(c, feed, d, total, total, fingerprint)
                  return { rows: stored, written: total }
                })
              }),
            `load ${feed} ${d}`
          )
        )
      }).pipe(Effect.mapError(sinkError("duckdb", `load ${feed} ${date}`)), Effect.withSpan("duckdb.loadPartition"))

    const loadFiles = (feed: Feed, date: string, files: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const subset = yield* Effect.try({
          try: () => partitionSubset(options.root, feed, d, files),
          catch: sinkError("duckdb", `load files ${feed} ${date}`)
        })
        if (subset.length === 0) return { rows: 0, written: 0 } satisfies LoadResult
        return yield* timed(
          { sink: "duckdb", feed, date, files: subset.length },
          db.withConnection(
            (c) =>
              withSnapshot(options.root, async (snap): Promise<LoadResult> => {
                const pinned = await snap.pin(subset)
                const total =
                  pinned.length === 0
                    ? 0
                    : Number(
                        await Tables.scalar(c, `SELECT count(*)::DOUBLE AS v FROM (${dedupedSelect(feed, pinned)})`)
                      )
                if (batchRows > 0 && total > batchRows) await loadInBatches(c, feed, d, pinned, undefined, 0, total)
                else if (pinned.length > 0) await Tables.inTransaction(c, () => mergeFiles(c, feed, d, pinned))
                return { rows: total, written: total }
              }),
            `load files ${feed} ${d}`
          )
        ) // an interruption interrupts DuckDB and waits until the connection is idle (DuckDb.withConnection)
      }).pipe(Effect.mapError(sinkError("duckdb", `load files ${feed} ${date}`)), Effect.withSpan("duckdb.loadFiles"))

    const consolidate = (date: string) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const target = path.join(paths.consolidatedDir(d), "consolidated.parquet")
        yield* Effect.promise(() => fs.mkdir(path.dirname(target), { recursive: true }))
        return yield* timed(
          { sink: "duckdb", date, op: "consolidate" },
          db.withConnection(
            (c) =>
              consolidateToParquet(c, options, d, target).then(async (r) => {
                await ensureView(c)
                return r
              }),
            `consolidate ${d}`
          )
        )
      }).pipe(Effect.mapError(sinkError("duckdb", `consolidate ${date}`)), Effect.withSpan("duckdb.consolidate"))

    /** Lake views: nothing to copy; the view is made to read the feed's files once there are some. */
    const viewLoad = (
      views: LakeViews.LakeViews,
      feed: Feed,
      date: string,
      files: Effect.Effect<ReadonlyArray<string>, unknown>
    ) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const list = yield* files
        return yield* db.withConnection(
          (c) =>
            withSnapshot(options.root, async (snap): Promise<LoadResult> => {
              await views.refresh(c, feed)
              return { rows: await LakeViews.countFiles(c, await snap.pin(list)), written: 0 }
            }),
          `lake view ${feed} ${d}`
        )
      }).pipe(Effect.mapError(sinkError("duckdb", `load ${feed} ${date}`)))

    const sink: Sink = {
      name: "duckdb",
      loadPartition: (feed, date, opts = {}) =>
        validated(
          date,
          lakeViews === undefined || !LakeViews.isView(feed)
            ? loadPartition(feed, date, opts.overwrite === true)
            : viewLoad(
                lakeViews,
                feed,
                date,
                Effect.map(partitionFiles(options.root, feed, date), (p) => p.files)
              )
        ),
      loadFiles: (feed, date, files) =>
        validated(
          date,
          lakeViews === undefined || !LakeViews.isView(feed)
            ? Effect.suspend(() => loadFiles(feed, date, files))
            : viewLoad(
                lakeViews,
                feed,
                date,
                Effect.try(() => partitionSubset(options.root, feed, date, files))
              )
        ),
      consolidate: (date) => validated(date, consolidate(date)),
      metrics: metrics.snapshot,
      counts: (date) =>
        validated(
          date,
          db
            .withConnection(async (c) => {
              const out: Record<string, number> = {}
              for (const table of Object.values(TABLES)) out[table] = await countDate(c, table, date)
              // the view exists once a date has been consolidated (it reads the exports' glob)
              out[CONSOLIDATED] = await countDate(c, CONSOLIDATED, date).catch(() => 0)
              return out
            }, `counts ${date}`)
            .pipe(Effect.mapError(sinkError("duckdb", `counts ${date}`)))
        )
    }
    return sink
  }).pipe(Effect.annotateLogs({ service: "DuckDbSink" }))

const validated = <A>(date: string, effect: Effect.Effect<A, import("./Sink.js").SinkError>) =>
  Effect.zipRight(Effect.try({ try: () => assertDate(date), catch: sinkError("duckdb", `date ${date}`) }), effect)
