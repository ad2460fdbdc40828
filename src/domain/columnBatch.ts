/**
 * Lake rows held as columns, the way the backfill's fast path hands them to the Parquet writer:
 * the columns that vary as doubles (BIGINT columns hold integers below 2^53 there, as epoch ms
 * and counts always do, and are cast back exactly), every other column of the schema as one value
 * shared by all rows (a unit's ticker, `source`, `received_at_ms`, the NULL WebSocket-only columns).
 */
import type { FeedSchema, Row } from "./feeds.js"

export interface ColumnBatch {
  readonly length: number
  readonly doubles: ReadonlyArray<readonly [column: string, values: Float64Array]>
  /** Every schema column not in `doubles`; a column missing from both is NULL. */
  readonly constants: Readonly<Record<string, Row[string]>>
}

/** The batch as row objects, in order (tests, and the rare unit that needs rows). */
export const batchRows = (schema: FeedSchema, batch: ColumnBatch): Array<Row> => {
  const rows: Array<Row> = []
  for (let i = 0; i < batch.length; i++) {
    const row: Row = {}
    for (const col of schema.columns) row[col.name] = batch.constants[col.name] ?? null
    for (const [name, values] of batch.doubles) row[name] = values[i]!
    rows.push(row)
  }
  return rows
}
