/**
 * Percentiles by the nearest-rank method: the p-th percentile of n sorted values is the value at
 * rank ceil(p/100 × n) (1-based). Exact on known inputs (1..100 → p50 = 50, p99 = 99), no
 * interpolation, always one of the observed values.
 */
export interface Percentiles {
  readonly p50: number
  readonly p95: number
  readonly p99: number
}

/** Nearest-rank percentile of an ascending array; `undefined` when empty. */
export const percentileSorted = (sorted: ArrayLike<number>, p: number): number | undefined => {
  const n = sorted.length
  if (n === 0) return undefined
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)))
  return sorted[rank - 1]
}

/** p50/p95/p99 of unsorted values (sorted as a Float64Array copy); `undefined` when empty. */
export const percentiles = (values: ArrayLike<number>): Percentiles | undefined => {
  if (values.length === 0) return undefined
  const sorted = Float64Array.from(values).sort()
  return { p50: percentileSorted(sorted, 50)!, p95: percentileSorted(sorted, 95)!, p99: percentileSorted(sorted, 99)! }
}
