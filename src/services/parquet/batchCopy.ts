/**
 * Column batches (and optionally Parquet files of the same schema) → one Parquet file, in one
 * COPY: each batch is scanned straight from its typed arrays (`spy_lake_batch`), its shared
 * columns become literals of its SELECT, and the SELECTs are concatenated with UNION ALL. The
 * caller publishes the file (fsync + rename).
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import type { FeedSchema, Row } from "../../domain/feeds.js"
import { sqlString } from "../DuckDb.js"
import { enumDictionary, openScan, registerScan, SCAN_FUNCTION } from "./batchScan.js"

/** A SQL literal for a value shared by every row of a batch (only our own values reach here). */
export const literal = (v: Row[string] | undefined): string =>
  v === null || v === undefined
    ? "NULL"
    : typeof v === "string"
      ? sqlString(v)
      : typeof v === "boolean"
        ? v
          ? "TRUE"
          : "FALSE"
        : String(v)

/** The file's columns in the order `write` produces them: each `*_ms` column followed by its timestamp. */
export const fileColumns = (schema: FeedSchema): Array<string> =>
  schema.columns.flatMap((col) => {
    const ts = schema.timestamps.find(([ms]) => ms === col.name)
    return ts ? [col.name, ts[1]] : [col.name]
  })

/** The SELECT list of a batch: scanned columns by name, shared ones as typed literals (timestamps derived), coded and NaN-as-NULL columns mapped. */
const batchSelect = (schema: FeedSchema, batch: ColumnBatch, scanned: ReadonlySet<string>): string => {
  const coded = new Map((batch.coded ?? []).map((c) => [c.name, c.dictionary]))
  const nanIsNull = new Set(batch.nanIsNull ?? [])
  return schema.columns
    .flatMap((col) => {
      const id = `"${col.name}"`
      const ts = schema.timestamps.find(([ms]) => ms === col.name)
      const dictionary = coded.get(col.name)
      if (
        dictionary !== undefined &&
        scanned.has(col.name) &&
        col.type === "VARCHAR" &&
        enumDictionary(dictionary) !== undefined
      )
        return [`CAST(${id} AS VARCHAR) AS ${id}`]
      if (dictionary !== undefined && scanned.has(col.name)) {
        const list = `[${dictionary.map((v) => `CAST(${literal(v)} AS ${col.type})`).join(", ")}]`
        return [`CAST(${list}[CAST(${id} AS INTEGER) + 1] AS ${col.type}) AS ${id}`]
      }
      if (nanIsNull.has(col.name) && scanned.has(col.name)) {
        const value = `CASE WHEN isnan(${id}) THEN NULL ELSE ${id} END`
        return [`${col.type === "DOUBLE" ? value : `CAST(${value} AS ${col.type})`} AS ${id}`]
      }
      if (scanned.has(col.name)) return [id, ...(ts ? [`"${ts[1]}"`] : [])]
      const value = `CAST(${literal(batch.constants[col.name])} AS ${col.type})`
      return [`${value} AS ${id}`, ...(ts ? [`epoch_ms(${value})::TIMESTAMPTZ AS "${ts[1]}"`] : [])]
    })
    .join(", ")
}

/**
 * One SELECT of the batches' rows then the files' rows (UNION ALL), in the file's columns; `close`
 * releases the batches' scans once the statement using it has run.
 */
export const incomingSelect = (
  c: DuckDBConnection,
  schema: FeedSchema,
  batches: ReadonlyArray<ColumnBatch>,
  files: ReadonlyArray<string>
): { readonly sql: string; readonly close: () => void } => {
  registerScan(c)
  const scans = batches.filter((b) => b.length > 0).map((batch) => ({ batch, scan: openScan(schema, batch) }))
  const selects = scans.map(
    ({ batch, scan }) =>
      `SELECT ${batchSelect(schema, batch, new Set(scan.columns.map((col) => col.name)))} FROM ${SCAN_FUNCTION}(${scan.id})`
  )
  const columns = fileColumns(schema)
    .map((name) => `"${name}"`)
    .join(", ")
  if (files.length > 0)
    selects.push(`SELECT ${columns} FROM read_parquet([${files.map(sqlString).join(", ")}], union_by_name = true)`)
  if (selects.length === 0)
    selects.push(`SELECT ${batchSelect(schema, { length: 0, doubles: [], constants: {} }, new Set())} LIMIT 0`)
  return { sql: selects.join(" UNION ALL "), close: () => scans.forEach(({ scan }) => scan.close()) }
}

/** COPY the batches and the files' rows to `tmp` with `copyOptions`; returns the rows written. */
export const copyBatches = async (
  c: DuckDBConnection,
  schema: FeedSchema,
  batches: ReadonlyArray<ColumnBatch>,
  files: ReadonlyArray<string>,
  tmp: string,
  copyOptions: string
): Promise<number> => {
  const incoming = incomingSelect(c, schema, batches, files)
  try {
    const result = await c.runAndReadAll(`COPY (${incoming.sql}) TO ${sqlString(tmp)} ${copyOptions}`)
    const n = result.getRowsJS()[0]?.[0]
    return typeof n === "bigint" || typeof n === "number" ? Number(n) : 0
  } finally {
    incoming.close()
  }
}
