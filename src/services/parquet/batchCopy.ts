/**
 * Column batches (and optionally Parquet files of the same schema) → one Parquet file, in one
 * COPY: each batch's varying columns go through the appender as whole DOUBLE vectors (no value
 * per row built in JS), its shared columns become literals of its SELECT, and the SELECTs are
 * concatenated with UNION ALL. The caller publishes the file (fsync + rename).
 */
import { type DuckDBConnection, DOUBLE, DuckDBDataChunk, type DuckDBValue } from "@duckdb/node-api"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import type { FeedSchema, Row } from "../../domain/feeds.js"
import { sqlString } from "../DuckDb.js"

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK = 2048

/** A SQL literal for a value shared by every row of a batch (only our own values reach here). */
export const literal = (v: Row[string] | undefined): string =>
  v === null || v === undefined ? "NULL" : typeof v === "string" ? sqlString(v) : typeof v === "boolean" ? (v ? "TRUE" : "FALSE") : String(v)

/** The file's columns in the order `write` produces them: each `*_ms` column followed by its timestamp. */
export const fileColumns = (schema: FeedSchema): Array<string> =>
  schema.columns.flatMap((col) => {
    const ts = schema.timestamps.find(([ms]) => ms === col.name)
    return ts ? [col.name, ts[1]] : [col.name]
  })

let sequence = 0

/** Appends a batch's varying columns to a new temporary table; returns the table's name. */
const stage = async (c: DuckDBConnection, feed: string, batch: ColumnBatch): Promise<string> => {
  const table = `stage_cols_${feed}_${++sequence}`
  await c.run(`CREATE TEMP TABLE ${table} (${batch.doubles.map(([name]) => `"${name}" DOUBLE`).join(", ")})`)
  const appender = await c.createAppender(table, "main", "temp")
  try {
    const types = batch.doubles.map(() => DOUBLE)
    for (let start = 0; start < batch.length; start += CHUNK) {
      const n = Math.min(CHUNK, batch.length - start)
      const chunk = DuckDBDataChunk.create(types, n)
      // A Float64Array view is read like an array of numbers (length + index), which is all setColumnValues does.
      batch.doubles.forEach(([, values], i) => chunk.setColumnValues(i, values.subarray(start, start + n) as unknown as ReadonlyArray<DuckDBValue>))
      appender.appendDataChunk(chunk)
    }
    appender.flushSync()
  } finally {
    appender.closeSync()
  }
  return table
}

/** The SELECT turning a staged batch into the file's columns (typed; timestamps derived from `*_ms`). */
const batchSelect = (schema: FeedSchema, batch: ColumnBatch, from: string): string => {
  const staged = new Set(batch.doubles.map(([name]) => name))
  const list = schema.columns.flatMap((col) => {
    const source = staged.has(col.name) ? (col.type === "DOUBLE" ? `"${col.name}"` : `CAST("${col.name}" AS ${col.type})`) : `CAST(${literal(batch.constants[col.name])} AS ${col.type})`
    const ts = schema.timestamps.find(([ms]) => ms === col.name)
    return [`${source} AS "${col.name}"`, ...(ts ? [`epoch_ms(${source})::TIMESTAMPTZ AS "${ts[1]}"`] : [])]
  })
  return `SELECT ${list.join(", ")} ${from}`
}

/**
 * COPY the batches (in order) and the files' rows to `tmp` with `copyOptions`; returns the
 * rows written. Every table it creates is dropped again, whatever happens.
 */
export const copyBatches = async (
  c: DuckDBConnection,
  schema: FeedSchema,
  batches: ReadonlyArray<ColumnBatch>,
  files: ReadonlyArray<string>,
  tmp: string,
  copyOptions: string
): Promise<number> => {
  const tables: Array<string> = []
  try {
    const selects: Array<string> = []
    for (const batch of batches) {
      if (batch.length === 0) continue
      const table = await stage(c, schema.feed, batch)
      tables.push(table)
      selects.push(batchSelect(schema, batch, `FROM temp.${table}`))
    }
    const columns = fileColumns(schema).map((name) => `"${name}"`).join(", ")
    if (files.length > 0) selects.push(`SELECT ${columns} FROM read_parquet([${files.map(sqlString).join(", ")}], union_by_name = true)`)
    if (selects.length === 0) selects.push(batchSelect(schema, { length: 0, doubles: [], constants: {} }, "LIMIT 0"))
    const result = await c.runAndReadAll(`COPY (${selects.join(" UNION ALL ")}) TO ${sqlString(tmp)} ${copyOptions}`)
    const n = result.getRowsJS()[0]?.[0]
    return typeof n === "bigint" || typeof n === "number" ? Number(n) : 0
  } finally {
    for (const table of tables) await c.run(`DROP TABLE IF EXISTS temp.${table}`)
  }
}
