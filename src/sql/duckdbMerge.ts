/**
 * The DuckDB load as two set statements over a staged source (one row per key, lake columns)
 * instead of `INSERT … ON CONFLICT DO UPDATE`: DuckDB checks every conflicting row against its
 * primary-key index one by one, which made a 2.34 M-row options day take ~3× a plain insert, and
 * re-loading a day already stored (the end-of-day load after the live day's incremental loads)
 * rewrote every row. Here:
 *   1. INSERT the staged rows whose key the date does not hold yet (an anti-join: a plain insert);
 *   2. UPDATE the stored rows of the date for which the stage holds a strictly newer version
 *      (`received_at_ms` greater): latest received wins, an older version never overwrites, and
 *      re-loading the same rows changes nothing.
 * Run both in one transaction. The key of a bar (ticker, window start) or an article id belongs to
 * one date only, so the anti-join is restricted to the date's rows.
 */
import { type Feed, SCHEMAS } from "../domain/feeds.js"
import { assertDate } from "../domain/paths.js"
import { quote, sinkColumns, TABLES } from "./tables.js"

const q = (id: string) => quote("duckdb", id)

/** `[insertNew, updateNewer]` from the staged relation `stage` (a table or a parenthesised query). */
export const duckdbMerge = (feed: Feed, date: string, stage: string): readonly [string, string] => {
  const d = assertDate(date)
  const table = q(TABLES[feed])
  const key = SCHEMAS[feed].key
  const value = (c: ReturnType<typeof sinkColumns>[number]) =>
    c.type === "TIMESTAMP" ? `epoch_ms(CAST(s.${q(c.fromMs!)} AS BIGINT))::TIMESTAMPTZ` : c.type === "DATE" ? `'${d}'` : `s.${q(c.name)}`
  const columns = sinkColumns(feed)
  const sameKey = key.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ")
  const insert =
    `INSERT INTO ${table} (${columns.map((c) => q(c.name)).join(", ")}) SELECT ${columns.map(value).join(", ")} FROM ${stage} s ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t."date" = '${d}' AND ${sameKey})`
  const updatable = columns.filter((c) => !key.includes(c.name) && c.type !== "DATE")
  const update =
    `UPDATE ${table} AS t SET ${updatable.map((c) => `${q(c.name)} = ${value(c)}`).join(", ")} FROM ${stage} s ` +
    `WHERE t."date" = '${d}' AND ${sameKey} AND s."received_at_ms" > t."received_at_ms"`
  return [insert, update]
}
