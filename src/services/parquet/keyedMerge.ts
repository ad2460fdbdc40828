/**
 * The SELECT of a merge of incoming rows into bucket files that each hold a key once (the lake
 * contract, domain/lakeBuckets.ts): the same rows as deduplicating the union of both by key (the
 * greatest `received_at_ms` wins, a tie goes to the incoming row), without a window over the
 * files' rows. The incoming rows are deduplicated alone; the files are read twice, first only their
 * key and `received_at_ms` columns for the keys the incoming rows hold, then whole, keeping the
 * rows whose key no incoming row won. What it saves, measured: README, "Live merges without a window".
 */

export interface KeyedMerge {
  /** The incoming table (the feed's columns and `_b`). */
  readonly incoming: string
  /** `read_parquet(...)` of the bucket files the incoming rows touch. */
  readonly files: string
  /** The feed's file columns, quoted and comma-separated. */
  readonly cols: string
  /** The key columns, quoted and comma-separated. */
  readonly key: string
  /** The SQL expression of a row's bucket. */
  readonly bucket: string
}

export const keyedMergeSelect = (m: KeyedMerge): string =>
  `WITH i AS MATERIALIZED (
  SELECT * FROM ${m.incoming} QUALIFY row_number() OVER (PARTITION BY ${m.key} ORDER BY received_at_ms DESC) = 1
),
held AS MATERIALIZED (SELECT ${m.key}, f.received_at_ms FROM ${m.files} AS f SEMI JOIN i USING (${m.key})),
won AS MATERIALIZED (
  SELECT i.* FROM i LEFT JOIN (SELECT *, true AS _hit FROM held) AS h USING (${m.key})
  WHERE h._hit IS NULL OR i.received_at_ms >= h.received_at_ms
)
SELECT ${m.cols}, ${m.bucket} AS _b FROM ${m.files} AS f ANTI JOIN won USING (${m.key})
UNION ALL BY NAME SELECT * FROM won`
