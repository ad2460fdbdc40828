/**
 * Writes lake rows to Parquet through DuckDB: rows → in-memory table (appender, 2048-row data
 * chunks) → `COPY … TO` a temporary name → fsync → rename. A reader never sees a partial file,
 * and replacing a file is one atomic rename.
 */
import { DOUBLE, BOOLEAN, VARCHAR, DuckDBDataChunk, type DuckDBType } from "@duckdb/node-api"
import { Context, Data, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ColumnBatch } from "../domain/columnBatch.js"
import type { Column, FeedSchema, Row } from "../domain/feeds.js"
import { publish, publishAll } from "./parquet/publish.js"
import { DuckDb, DuckDbError, sqlString } from "./DuckDb.js"
import { copyBatches } from "./parquet/batchCopy.js"
import { makePartitionLocks } from "./parquet/partitionLock.js"
import { combineResults, splitGroups } from "./parquet/parallelUpsert.js"
import { type UpsertMode, type UpsertResult, upsertPartition } from "./parquet/partitionUpsert.js"
import { lakePaths } from "../domain/paths.js"
import { tempPath } from "../lib/atomicFile.js"

export class LakeWriteError extends Data.TaggedError("LakeWriteError")<{
  readonly target: string
  readonly message: string
}> {}

export interface WriteOptions {
  /** Keep one row per schema key, the one with the greatest `received_at_ms`. */
  readonly dedupe?: boolean
}

export interface MergeOptions {
  /**
   * The sources hold disjoint keys (e.g. one file per option contract, each from one REST
   * series): concatenate them in order instead of deduplicating and sorting. Default false.
   */
  readonly disjoint?: boolean
}

/** Rows for a partition: column batches, plain rows, and/or Parquet files of the feed's schema. */
export interface UpsertInput {
  readonly batches?: ReadonlyArray<ColumnBatch>
  readonly rows?: ReadonlyArray<Row>
  readonly files?: ReadonlyArray<string>
}

export interface ParquetWriterService {
  /**
   * Store rows in the (feed, date) partition of the lake at `root` under the lake contract
   * (domain/lakeBuckets.ts, parquet/partitionUpsert.ts): merged into the file each key maps to,
   * or (`replace`) as the partition's whole content. Serialized per partition across processes.
   * `splitBuckets` (live commits): a merge of batches over several bucket files runs on two
   * connections at once (parquet/parallelUpsert.ts).
   */
  readonly upsert: (
    schema: FeedSchema,
    root: string,
    date: string,
    input: UpsertInput,
    mode?: UpsertMode,
    options?: { readonly splitBuckets?: boolean }
  ) => Effect.Effect<UpsertResult, LakeWriteError>
  /** Write rows to `target` atomically; returns the number of rows in the file. */
  readonly write: (
    schema: FeedSchema,
    rows: ReadonlyArray<Row>,
    target: string,
    options?: WriteOptions
  ) => Effect.Effect<number, LakeWriteError>
  /**
   * Write column batches, then the rows of `files` (Parquet files of the same schema), as one file
   * at `target` atomically; returns the rows written. Their keys must be disjoint (no dedupe).
   */
  readonly writeBatches: (
    schema: FeedSchema,
    batches: ReadonlyArray<ColumnBatch>,
    target: string,
    files?: ReadonlyArray<string>
  ) => Effect.Effect<number, LakeWriteError>
  /** Merge existing Parquet files into one file at `target` atomically (deduplicated by key); returns rows. */
  readonly merge: (
    schema: FeedSchema,
    sources: ReadonlyArray<string>,
    target: string,
    options?: MergeOptions
  ) => Effect.Effect<number, LakeWriteError>
}

export class ParquetWriter extends Context.Tag("spy/ParquetWriter")<ParquetWriter, ParquetWriterService>() {}

// BIGINT columns are staged as DOUBLE (exact for |x| < 2^53: epoch ms, counts) and cast back in COPY.
const stagingType = (col: Column): DuckDBType =>
  col.type === "VARCHAR" ? VARCHAR : col.type === "BOOLEAN" ? BOOLEAN : DOUBLE
const stagingSql = (col: Column): string =>
  col.type === "VARCHAR" ? "VARCHAR" : col.type === "BOOLEAN" ? "BOOLEAN" : "DOUBLE"
const CHUNK = 2048

/** A SQL literal for a value every row shares (only our own row values reach here). */
const literal = (v: Row[string] | undefined): string =>
  v === null || v === undefined
    ? "NULL"
    : typeof v === "string"
      ? sqlString(v)
      : typeof v === "boolean"
        ? v
          ? "TRUE"
          : "FALSE"
        : String(v)

/**
 * Columns whose value is the same in every row (a unit's ticker, `source`, `received_at_ms`, the
 * WebSocket-only columns that are NULL for REST rows …) are not staged: they become literals in
 * the COPY's SELECT. This roughly halves the appender's work for REST aggregates.
 */
const constantColumns = (schema: FeedSchema, rows: ReadonlyArray<Row>): Map<string, string> => {
  const constants = new Map<string, string>()
  if (rows.length === 0) return constants
  for (const col of schema.columns) {
    const first = rows[0]![col.name] ?? null
    if (typeof first === "number" && !Number.isFinite(first)) continue
    let same = true
    for (let i = 1; i < rows.length && same; i++) same = (rows[i]![col.name] ?? null) === first
    if (same) constants.set(col.name, literal(first))
  }
  return constants
}

/** The SELECT list that turns staged columns into the file's columns (typed, timestamps derived). */
export const selectList = (
  schema: FeedSchema,
  staged: boolean,
  constants: ReadonlyMap<string, string> = new Map()
): string =>
  schema.columns
    .flatMap((col) => {
      const id = `"${col.name}"`
      const constant = constants.get(col.name)
      const source =
        constant !== undefined
          ? `CAST(${constant} AS ${col.type})`
          : staged && col.type === "BIGINT"
            ? `CAST(${id} AS BIGINT)`
            : id
      const value = source === id ? id : `${source} AS ${id}`
      const ts = schema.timestamps.find(([ms]) => ms === col.name)
      return ts ? [value, `epoch_ms(${source === id ? id : source})::TIMESTAMPTZ AS "${ts[1]}"`] : [value]
    })
    .join(", ")

const dedupeClause = (schema: FeedSchema) =>
  `QUALIFY row_number() OVER (PARTITION BY ${schema.key.map((k) => `"${k}"`).join(", ")} ORDER BY received_at_ms DESC) = 1`
const orderClause = (schema: FeedSchema) => `ORDER BY ${schema.key.map((k) => `"${k}"`).join(", ")}`
const copyOptions = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"

/** COPY returns the number of rows it wrote as its single value. */
const copiedRows = (result: ReadonlyArray<ReadonlyArray<unknown>>, fallback: number): number => {
  const n = result[0]?.[0]
  return typeof n === "bigint" || typeof n === "number" ? Number(n) : fallback
}

let sequence = 0
const tempName = tempPath

export { publish } from "./parquet/publish.js"

export const make = Effect.gen(function* () {
  const db = yield* DuckDb
  const fail = (target: string) => (e: DuckDbError) => new LakeWriteError({ target, message: e.message })

  const write: ParquetWriterService["write"] = (schema, rows, target, options = {}) =>
    db
      .withConnection(async (c) => {
        await fs.mkdir(path.dirname(target), { recursive: true })
        const table = `stage_${schema.feed}_${++sequence}`
        const constants = constantColumns(schema, rows)
        // Dedupe needs the key and received_at_ms as real columns of the staged table.
        if (options.dedupe) for (const k of [...schema.key, "received_at_ms"]) constants.delete(k)
        const staged = schema.columns.filter((col) => !constants.has(col.name))
        const stagedDdl =
          staged.length === 0 ? `"_row" BOOLEAN` : staged.map((col) => `"${col.name}" ${stagingSql(col)}`).join(", ")
        await c.run(`CREATE TEMP TABLE ${table} (${stagedDdl})`)
        const tmp = tempName(target)
        try {
          const appender = await c.createAppender(table, "main", "temp")
          const types = staged.length === 0 ? [BOOLEAN] : staged.map(stagingType)
          for (let start = 0; start < rows.length; start += CHUNK) {
            const slice = rows.slice(start, start + CHUNK)
            const chunk = DuckDBDataChunk.create(types, slice.length)
            if (staged.length === 0)
              chunk.setColumnValues(
                0,
                slice.map(() => true)
              )
            staged.forEach((col, i) => {
              const values = new Array(slice.length)
              for (let j = 0; j < slice.length; j++) values[j] = slice[j]![col.name] ?? null
              chunk.setColumnValues(i, values)
            })
            appender.appendDataChunk(chunk)
          }
          appender.flushSync()
          appender.closeSync()
          // Deduplicated writes are sorted by key; plain writes keep the input order (REST pages arrive sorted).
          const tail = options.dedupe ? `${dedupeClause(schema)} ${orderClause(schema)}` : ""
          const copied = await c.runAndReadAll(
            `COPY (SELECT ${selectList(schema, true, constants)} FROM temp.${table} ${tail}) TO ${sqlString(tmp)} ${copyOptions}`
          )
          await publish(tmp, target)
          return copiedRows(copied.getRowsJS(), rows.length)
        } catch (e) {
          await fs.rm(tmp, { force: true })
          throw e
        } finally {
          await c.run(`DROP TABLE IF EXISTS temp.${table}`)
        }
      }, `write ${target}`)
      .pipe(Effect.mapError(fail(target)))

  const merge: ParquetWriterService["merge"] = (schema, sources, target, options = {}) =>
    db
      .withConnection(async (c) => {
        await fs.mkdir(path.dirname(target), { recursive: true })
        const tmp = tempName(target)
        try {
          const list = `[${sources.map(sqlString).join(", ")}]`
          const cols = schema.columns.map((col) => `"${col.name}"`).concat(schema.timestamps.map(([, ts]) => `"${ts}"`))
          const tail = options.disjoint ? "" : `${dedupeClause(schema)} ${orderClause(schema)}`
          const copied = await c.runAndReadAll(
            `COPY (SELECT ${cols.join(", ")} FROM read_parquet(${list}, union_by_name = true) ${tail}) TO ${sqlString(tmp)} ${copyOptions}`
          )
          await publish(tmp, target)
          return copiedRows(copied.getRowsJS(), 0)
        } catch (e) {
          await fs.rm(tmp, { force: true })
          throw e
        }
      }, `merge into ${target}`)
      .pipe(Effect.mapError(fail(target)))

  const writeBatches: ParquetWriterService["writeBatches"] = (schema, batches, target, files = []) =>
    db
      .withConnection(async (c) => {
        await fs.mkdir(path.dirname(target), { recursive: true })
        const tmp = tempName(target)
        try {
          const rows = await copyBatches(c, schema, batches, files, tmp, copyOptions)
          await publish(tmp, target)
          return rows
        } catch (e) {
          await fs.rm(tmp, { force: true })
          throw e
        }
      }, `write batches to ${target}`)
      .pipe(Effect.mapError(fail(target)))

  const locks = yield* makePartitionLocks

  const upsert: ParquetWriterService["upsert"] = (schema, root, date, input, mode = "merge", options = {}) => {
    const dir = lakePaths(root).partitionDir(schema.feed, date)
    const rowsFile = path.join(
      lakePaths(root).stateDir,
      "tmp",
      `upsert-${schema.feed}-${date}-${process.pid}-${++sequence}.parquet`
    )
    const staged = input.rows !== undefined && input.rows.length > 0
    const run = Effect.gen(function* () {
      if (staged) yield* write(schema, input.rows!, rowsFile)
      const files = [...(input.files ?? []), ...(staged ? [rowsFile] : [])]
      const target = { schema, dir, date, mode, copyOptions, tempName, publish: publishAll }
      const one = (batches: ReadonlyArray<ColumnBatch>) =>
        db
          .withConnection((c) => upsertPartition(c, target, { batches, files }), `upsert into ${dir}`)
          .pipe(Effect.mapError(fail(dir)))
      const split = options.splitBuckets === true && mode === "merge" && files.length === 0
      const groups = split
        ? yield* Effect.promise(() => splitGroups(schema.feed, dir, date, input.batches ?? []))
        : undefined
      return groups === undefined
        ? yield* one(input.batches ?? [])
        : combineResults(yield* Effect.forEach(groups, one, { concurrency: "unbounded" }))
    }).pipe(Effect.ensuring(staged ? Effect.promise(() => fs.rm(rowsFile, { force: true })) : Effect.void))
    return locks
      .withLock(root, schema.feed, date, run)
      .pipe(
        Effect.catchTag("PartitionBusy", (e) =>
          Effect.fail(new LakeWriteError({ target: dir, message: `partition locked by pid ${e.pid} (${e.lock})` }))
        )
      )
  }

  return { write, writeBatches, merge, upsert } satisfies ParquetWriterService
})

export const layer: Layer.Layer<ParquetWriter, never, DuckDb> = Layer.effect(ParquetWriter, make)
