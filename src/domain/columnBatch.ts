/**
 * Lake rows held as columns, the way the backfill's fast path hands them to the Parquet writer:
 * the columns that vary as doubles (BIGINT columns hold integers below 2^53 there, as epoch ms
 * and counts always do, and are cast back exactly), every other column of the schema as one value
 * shared by all rows (a unit's ticker, `source`, `received_at_ms`, the NULL WebSocket-only columns).
 *
 * Two optional extensions serve batches that mix tickers and sources (the live writer's):
 * `coded` columns hold per row the index of its value in a small dictionary (VARCHAR or BOOLEAN
 * columns: a ticker, `source`, `extra`, `otc`), and in the `nanIsNull` columns of `doubles` a NaN
 * stands for NULL (values decoded from JSON, which has no NaN, so the sentinel is unambiguous).
 */
import type { FeedSchema, Row } from "./feeds.js"

export interface CodedColumn {
  readonly name: string
  /** The column's distinct values; a row's code is an index into it (null entries are NULL). */
  readonly dictionary: ReadonlyArray<string | boolean | null>
  readonly codes: Float64Array
}

export interface ColumnBatch {
  readonly length: number
  readonly doubles: ReadonlyArray<readonly [column: string, values: Float64Array]>
  /** Every schema column not in `doubles` or `coded`; a column missing from all three is NULL. */
  readonly constants: Readonly<Record<string, Row[string]>>
  readonly coded?: ReadonlyArray<CodedColumn>
  /** Columns of `doubles` in which NaN means NULL. */
  readonly nanIsNull?: ReadonlyArray<string>
}

/** The batch as row objects, in order (tests, and the rare unit that needs rows). */
export const batchRows = (schema: FeedSchema, batch: ColumnBatch): Array<Row> => {
  const rows: Array<Row> = []
  const nullable = new Set(batch.nanIsNull ?? [])
  for (let i = 0; i < batch.length; i++) {
    const row: Row = {}
    for (const col of schema.columns) row[col.name] = batch.constants[col.name] ?? null
    for (const [name, values] of batch.doubles) {
      const x = values[i]!
      row[name] = x !== x && nullable.has(name) ? null : x
    }
    for (const c of batch.coded ?? []) row[c.name] = c.dictionary[c.codes[i]!] ?? null
    rows.push(row)
  }
  return rows
}
