/**
 * Hot-path counters for Metrics: fixed-size ring buffers, O(1) per record, no allocation.
 */

/**
 * A sliding-window counter in fixed buckets. `add` is O(1); `sum` is O(buckets). The window at
 * time t covers the `buckets` bucket indices floor(t / bucketMs) - buckets + 1 … floor(t / bucketMs):
 * with 1-second buckets and 300 buckets, "the last 5 minutes" including the current second.
 */
export class BucketWindow {
  private readonly counts: Float64Array
  private readonly stamps: Float64Array

  constructor(
    readonly bucketMs: number,
    readonly buckets: number
  ) {
    this.counts = new Float64Array(buckets)
    this.stamps = new Float64Array(buckets).fill(-1)
  }

  add(nowMs: number, n: number): void {
    const index = Math.floor(nowMs / this.bucketMs)
    const slot = index % this.buckets
    if (this.stamps[slot] !== index) {
      this.stamps[slot] = index
      this.counts[slot] = 0
    }
    this.counts[slot]! += n
  }

  sum(nowMs: number): number {
    const oldest = Math.floor(nowMs / this.bucketMs) - this.buckets
    let total = 0
    for (let i = 0; i < this.buckets; i++) if (this.stamps[i]! > oldest) total += this.counts[i]!
    return total
  }
}

/**
 * The last `capacity` (latency, at) pairs in a ring. Percentiles are taken over the entries that
 * are also within `maxAgeMs` of now: "the last 10,000 commits of the last 5 minutes".
 */
export class LatencyReservoir {
  private readonly latencies: Float64Array
  private readonly times: Float64Array
  private next = 0
  private size = 0

  constructor(readonly capacity: number) {
    this.latencies = new Float64Array(capacity)
    this.times = new Float64Array(capacity)
  }

  add(nowMs: number, latencyMs: number): void {
    this.latencies[this.next] = latencyMs
    this.times[this.next] = nowMs
    this.next = (this.next + 1) % this.capacity
    if (this.size < this.capacity) this.size++
  }

  /** Latencies recorded after `nowMs - maxAgeMs`, in no particular order. */
  recent(nowMs: number, maxAgeMs: number): Float64Array {
    const from = nowMs - maxAgeMs
    const out = new Float64Array(this.size)
    let n = 0
    for (let i = 0; i < this.size; i++) if (this.times[i]! > from) out[n++] = this.latencies[i]!
    return out.subarray(0, n)
  }
}
