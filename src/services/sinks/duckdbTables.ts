/**
 * The DuckDB warehouse's loads into tables (`sinks.duckdb.storage: tables`), on one connection:
 * a transaction helper, the partition checkpoint, and the merge of deduplicated lake files into a
 * feed table (latest received wins), whole or `batchRows` at a time with the checkpoint.
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import { type Feed, SCHEMAS } from "../../domain/feeds.js"
import { duckdbMerge } from "../../sql/duckdbMerge.js"
import { CHECKPOINTS } from "../../sql/tables.js"
import { dedupedSelect } from "./LakeReader.js"

export const inTransaction = async <A>(c: DuckDBConnection, f: () => Promise<A>): Promise<A> => {
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

export const scalar = async (c: DuckDBConnection, sql: string): Promise<unknown> =>
  (await c.runAndReadAll(sql)).getRowObjectsJS()[0]?.["v"]

export const tableLoads = (batchRows: number) => {
  const writeCheckpoint = (
    c: DuckDBConnection,
    feed: Feed,
    d: string,
    rows: number,
    total: number,
    fingerprint: string
  ) =>
    c.run(
      `INSERT INTO ${CHECKPOINTS} VALUES ('${feed}', '${d}', ${rows}, ${total}, '${fingerprint}', now()) ` +
        `ON CONFLICT (feed, "date") DO UPDATE SET "rows" = excluded."rows", total = excluded.total, fingerprint = excluded.fingerprint, loaded_at = excluded.loaded_at`
    )
  const countDate = async (c: DuckDBConnection, table: string, d: string) =>
    Number(await scalar(c, `SELECT count(*)::DOUBLE AS v FROM ${table} WHERE "date" = '${d}'`))

  /** Latest received wins, as two set statements (src/sql/duckdbMerge.ts); the caller holds the transaction. */
  const merge = async (c: DuckDBConnection, feed: Feed, d: string, stage: string) => {
    for (const statement of duckdbMerge(feed, d, stage)) await c.run(statement)
  }
  /** The files' deduplicated rows staged once (the merge reads them twice), merged, unstaged. */
  const mergeFiles = async (c: DuckDBConnection, feed: Feed, d: string, files: ReadonlyArray<string>) => {
    const stage = `merge_${feed}`
    await c.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS ${dedupedSelect(feed, files)}`)
    try {
      await merge(c, feed, d, `temp.${stage}`)
    } finally {
      await c.run(`DROP TABLE IF EXISTS temp.${stage}`)
    }
  }

  /**
   * Stage the deduplicated files in key order, then commit them `batchRows` at a time from `offset`,
   * each batch with the partition checkpoint when `fingerprint` is given (whole-partition loads only).
   */
  const loadInBatches = async (
    c: DuckDBConnection,
    feed: Feed,
    d: string,
    files: ReadonlyArray<string>,
    fingerprint: string | undefined,
    offset: number,
    total: number
  ) => {
    const stage = `stage_${feed}`
    const key = SCHEMAS[feed].key.map((k) => `"${k}"`).join(", ")
    await c.run(
      `CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT row_number() OVER (ORDER BY ${key}) AS __rn, * FROM (${dedupedSelect(feed, files)})`
    )
    try {
      const cols = SCHEMAS[feed].columns.map((col) => `"${col.name}"`).join(", ")
      for (let from = offset; from < total; from += batchRows) {
        const to = Math.min(from + batchRows, total)
        await inTransaction(c, async () => {
          await merge(c, feed, d, `(SELECT ${cols} FROM temp.${stage} WHERE __rn > ${from} AND __rn <= ${to})`)
          if (fingerprint !== undefined) await writeCheckpoint(c, feed, d, to, total, fingerprint)
        })
      }
    } finally {
      await c.run(`DROP TABLE IF EXISTS temp.${stage}`)
    }
  }

  return { writeCheckpoint, countDate, merge, mergeFiles, loadInBatches }
}
