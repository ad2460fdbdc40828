/**
 * What one source did during a heartbeat period (from the previous `take` to this one): messages,
 * events, rows committed, reconnects, and every commit latency of the period, so the period's
 * percentiles are exact (nearest rank over all of its commits, not a sample).
 */
import { percentiles } from "../../domain/percentiles.js"

export interface PeriodStats {
  /** Start of the period (the previous take), null for the first period of the process. */
  readonly fromMs: number | null
  readonly toMs: number
  readonly messages: number
  readonly events: number
  readonly rows: number
  readonly commits: number
  readonly reconnects: number
  /** Commit latency over the period's commits; null when there was none. */
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | null
}

export class PeriodCounter {
  private fromMs: number | null = null
  messages = 0
  events = 0
  rows = 0
  reconnects = 0
  private latencies: Array<number> = []

  commit(latencyMs: number, rows: number): void {
    this.latencies.push(latencyMs)
    this.rows += rows
  }

  /** The period ending at `nowMs`; the next one starts there. */
  take(nowMs: number): PeriodStats {
    const p = percentiles(this.latencies)
    const stats: PeriodStats = {
      fromMs: this.fromMs,
      toMs: nowMs,
      messages: this.messages,
      events: this.events,
      rows: this.rows,
      commits: this.latencies.length,
      reconnects: this.reconnects,
      latency: p === undefined ? null : { ...p, max: this.latencies.reduce((a, b) => Math.max(a, b)) }
    }
    this.fromMs = nowMs
    this.messages = this.events = this.rows = this.reconnects = 0
    this.latencies = []
    return stats
  }
}
