/**
 * Incoming column batches split by the partition files their rows map to (./lakeBuckets.ts), in
 * groups of whole buckets with about equal rows. Groups touch disjoint files, so a merge can write
 * them at the same time without breaking "every key lives in exactly one file" (a live commit at a
 * burst spans several 10-minute windows: SPY, QQQ and IWM's sockets are not in step).
 */
import type { ColumnBatch } from "./columnBatch.js"
import type { Feed } from "./feeds.js"
import { BUCKETS, bucketIndexer } from "./lakeBuckets.js"

/** The rows `index` of `batch` (row order kept), as a batch of the same shape. */
export const selectRows = (batch: ColumnBatch, index: Uint32Array): ColumnBatch => {
  const pick = (values: Float64Array) => {
    const out = new Float64Array(index.length)
    for (let i = 0; i < index.length; i++) out[i] = values[index[i]!]!
    return out
  }
  return {
    length: index.length,
    doubles: batch.doubles.map(([name, values]) => [name, pick(values)] as const),
    constants: batch.constants,
    ...(batch.coded === undefined
      ? {}
      : { coded: batch.coded.map((c) => ({ name: c.name, dictionary: c.dictionary, codes: pick(c.codes) })) }),
    ...(batch.nanIsNull === undefined ? {} : { nanIsNull: batch.nanIsNull })
  }
}

/** Each row's bucket, or undefined when the batch holds one bucket only (nothing to split). */
const rowBuckets = (feed: Feed, date: string, batch: ColumnBatch): Int32Array | undefined => {
  const starts = batch.doubles.find(([name]) => name === "window_start_ms")?.[1]
  if (starts === undefined) return undefined
  const bucketOf = bucketIndexer(feed, date)
  const out = new Int32Array(batch.length)
  for (let i = 0; i < batch.length; i++) out[i] = bucketOf(starts[i]!)
  return out
}

/**
 * `batches` as up to `groups` groups of batches, each group holding whole buckets; undefined when
 * the rows fall in fewer than two buckets, or the feed has one file a day (news, contracts).
 */
export const bucketGroups = (
  feed: Feed,
  date: string,
  batches: ReadonlyArray<ColumnBatch>,
  groups: number
): Array<Array<ColumnBatch>> | undefined => {
  if (BUCKETS[feed].kind !== "time" || groups < 2) return undefined
  const perRow = batches.map((b) => rowBuckets(feed, date, b))
  const counts = new Map<number, number>()
  for (const buckets of perRow) for (const b of buckets ?? []) counts.set(b, (counts.get(b) ?? 0) + 1)
  if (counts.size < 2 || perRow.some((b, i) => b === undefined && batches[i]!.length > 0)) return undefined
  // Largest buckets first, each to the group with the fewest rows so far.
  const load = new Array<number>(Math.min(groups, counts.size)).fill(0)
  const groupOf = new Map<number, number>()
  for (const [bucket, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])) {
    const g = load.indexOf(Math.min(...load))
    groupOf.set(bucket, g)
    load[g] += n
  }
  return load.map((_, g) =>
    batches.flatMap((batch, i) => {
      const buckets = perRow[i]!
      const index: Array<number> = []
      for (let r = 0; r < batch.length; r++) if (groupOf.get(buckets[r]!) === g) index.push(r)
      return index.length === 0 ? [] : [selectRows(batch, Uint32Array.from(index))]
    })
  )
}
