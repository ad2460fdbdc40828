/**
 * The embedded DuckDB warehouse sink (`<storage.root>/warehouse.duckdb`, its own file-backed
 * instance, separate from the lake writer's in-memory one). A partition loads in ONE transaction
 * straight from its Parquet files (`read_parquet(files, union_by_name)`, deduplicated by key,
 * `ON CONFLICT … DO UPDATE … WHERE newer`) together with its checkpoint row; values never pass
 * through SQL text. `consolidate` rebuilds the date with ASOF LEFT JOINs and exports
 * `consolidated/date=D/consolidated.parquet` atomically (temp file, fsync, rename).
 */
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Feed } from "../../domain/feeds.js"
import { assertDate, lakePaths } from "../../domain/paths.js"
import { duckdbConsolidateQuery } from "../../sql/consolidated.js"
import { CHECKPOINTS, CONSOLIDATED, createIndex, ddl, indexesFor, TABLES } from "../../sql/tables.js"
import { duckdbUpsert } from "../../sql/upsert.js"
import * as DuckDb from "../DuckDb.js"
import { publish } from "../ParquetWriter.js"
import { partitionFiles } from "./LakeReader.js"
import { currentAlerts, type LoadResult, type Sink, sinkError } from "./Sink.js"
import * as SinkMetrics from "./SinkMetrics.js"

export interface DuckDbSinkOptions {
  /** The lake root (`storage.root`). */
  readonly root: string
  /** The warehouse file; `<root>/warehouse.duckdb` by default. */
  readonly path?: string | undefined
  readonly newsWindowMinutes: number
  readonly commitSlaS: number
}

const inTransaction = async <A>(c: import("@duckdb/node-api").DuckDBConnection, f: () => Promise<A>): Promise<A> => {
  await c.run("BEGIN TRANSACTION")
  try {
    const a = await f()
    await c.run("COMMIT")
    return a
  } catch (e) {
    await c.run("ROLLBACK").catch(() => undefined)
    throw e
  }
}

const scalar = async (c: import("@duckdb/node-api").DuckDBConnection, sql: string): Promise<unknown> =>
  (await c.runAndReadAll(sql)).getRowObjectsJS()[0]?.["v"]

const consolidatedView = (root: string) =>
  `CREATE OR REPLACE VIEW ${CONSOLIDATED} AS SELECT * FROM read_parquet(${DuckDb.sqlString(path.resolve(root, "consolidated", "date=*", "consolidated.parquet"))}, hive_partitioning = false)`

export const make = (options: DuckDbSinkOptions) =>
  Effect.gen(function* () {
    const paths = lakePaths(options.root)
    const file = options.path ?? paths.warehouse
    yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
    const db = yield* DuckDb.make(file)
    for (const statement of [...ddl("duckdb"), ...indexesFor("duckdb").map((i) => createIndex("duckdb", i))]) yield* Effect.orDie(db.run(statement))
    // options_consolidated is a view over data/consolidated/date=*/consolidated.parquet (once one exists).
    const [kind] = yield* Effect.orDie(db.query<{ t: string }>(`SELECT table_type AS t FROM information_schema.tables WHERE table_name = '${CONSOLIDATED}'`))
    if (kind?.t === "BASE TABLE") yield* Effect.orDie(db.run(`DROP TABLE ${CONSOLIDATED}`))
    const existing = yield* Effect.promise(() => fs.readdir(path.join(options.root, "consolidated")).catch(() => [] as Array<string>))
    if (existing.some((d) => d.startsWith("date="))) yield* Effect.orDie(db.run(consolidatedView(options.root)))
    const metrics = SinkMetrics.make("duckdb", options.commitSlaS * 1000, yield* currentAlerts)
    const timed = <A extends { rows: number }>(context: Record<string, unknown>, effect: Effect.Effect<A, DuckDb.DuckDbError>) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        const a = yield* effect
        yield* metrics.commit(a.rows, (yield* Clock.currentTimeMillis) - start, context)
        return a
      }).pipe(Effect.tapError(() => metrics.failure))

    const loadPartition = (feed: Feed, date: string, overwrite: boolean) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const { files, fingerprint } = yield* partitionFiles(options.root, feed, d)
        const table = TABLES[feed]
        return yield* timed(
          { sink: "duckdb", feed, date },
          db.withConnection(
            (c) =>
              inTransaction(c, async (): Promise<LoadResult> => {
                const current = (await c.runAndReadAll(`SELECT fingerprint, "rows"::DOUBLE AS n FROM ${CHECKPOINTS} WHERE feed = '${feed}' AND "date" = '${d}'`)).getRowObjectsJS()[0]
                if (!overwrite && current !== undefined && current["fingerprint"] === fingerprint) return { rows: Number(current["n"]), written: 0 }
                if (overwrite) await c.run(`DELETE FROM ${table} WHERE "date" = '${d}'`)
                if (files.length > 0) await c.run(duckdbUpsert(feed, d, files))
                const total = files.length === 0 ? 0 : Number(await scalar(c, `SELECT count(*)::DOUBLE AS v FROM ${table} WHERE "date" = '${d}'`))
                await c.run(
                  `INSERT INTO ${CHECKPOINTS} VALUES ('${feed}', '${d}', ${total}, ${total}, '${fingerprint}', now()) ` +
                    `ON CONFLICT (feed, "date") DO UPDATE SET "rows" = excluded."rows", total = excluded.total, fingerprint = excluded.fingerprint, loaded_at = excluded.loaded_at`
                )
                return { rows: total, written: total }
              }),
            `load ${feed} ${d}`
          )
        )
      }).pipe(Effect.mapError(sinkError("duckdb", `load ${feed} ${date}`)), Effect.withSpan("duckdb.loadPartition"))

    const consolidate = (date: string) =>
      Effect.gen(function* () {
        const d = assertDate(date)
        const target = path.join(paths.consolidatedDir(d), "consolidated.parquet")
        yield* Effect.promise(() => fs.mkdir(path.dirname(target), { recursive: true }))
        return yield* timed(
          { sink: "duckdb", date, op: "consolidate" },
          db.withConnection(async (c) => {
            // The view table is the exported Parquet itself: writing 2.34 M rows into the warehouse
            // file cost ~10x the query; a view over the (atomically replaced) files costs nothing.
            const tmp = `${target}.tmp-${process.pid}-${Date.now()}`
            try {
              const copied = await c.runAndReadAll(
                `COPY (${duckdbConsolidateQuery(d, options.newsWindowMinutes * 60_000)}) TO ${DuckDb.sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`
              )
              await publish(tmp, target)
              await c.run(consolidatedView(options.root))
              return { rows: Number(copied.getRowsJS()[0]?.[0] ?? 0) }
            } catch (e) {
              await fs.rm(tmp, { force: true })
              throw e
            }
          }, `consolidate ${d}`)
        )
      }).pipe(Effect.mapError(sinkError("duckdb", `consolidate ${date}`)), Effect.withSpan("duckdb.consolidate"))

    const sink: Sink = {
      name: "duckdb",
      loadPartition: (feed, date, opts = {}) => validated(date, loadPartition(feed, date, opts.overwrite === true)),
      consolidate: (date) => validated(date, consolidate(date)),
      metrics: metrics.snapshot
    }
    return sink
  }).pipe(Effect.annotateLogs({ service: "DuckDbSink" }))

const validated = <A>(date: string, effect: Effect.Effect<A, import("./Sink.js").SinkError>) =>
  Effect.zipRight(Effect.try({ try: () => assertDate(date), catch: sinkError("duckdb", `date ${date}`) }), effect)
