/**
 * Fault knobs of the WebSocket replay (all off by default) and the bookkeeping that lets a test
 * compute the final expected data set when corrections are injected.
 *
 * - `dropEverySimSeconds` N: at every processed window end E with E % (N·1000) = 0 (epoch-aligned,
 *   while the market is open) every connection is `terminate()`d (client sees 1006) right after
 *   E's frame was sent. Bars broadcast while a client is away are not re-sent.
 * - `halfOpenAfterSimSeconds` H: a connection H simulated seconds old stops sending anything
 *   (no data, no acks, no pongs: its socket is paused) but its TCP connection stays open.
 * - `stallFromSimMs` X (epoch ms): a stall of the whole feed. From simulated instant X every
 *   connection, open or opened later, goes half-open as above: nothing is sent at or after X (no
 *   frame of a window ending at or after X, no `connected`, no acks).
 * - `malformedEvery` M: before every M-th data frame of a connection an extra text frame with
 *   invalid JSON (the first half of that frame) is sent. No data is lost.
 * - `duplicateEvery` D: every D-th event sent on a connection is sent again, unchanged, in that
 *   connection's next data frame.
 * - `correctionEvery` C: every C-th per-second `A` event of a stock or option the replay builds
 *   (one counter per server) is re-broadcast `correctionDelaySimMs` later with v + 1, av + 1 and
 *   c moved to h (to l when c = h). The corrected values are the ground truth: see
 *   `groundTruth` and `CorrectionRecord`. REST keeps serving the original bar.
 * - `maxConnectionsPerCluster`: connections per (API key, cluster); the oldest is evicted with
 *   `max_connections` and closed with 1008.
 * - `slowConsumerBytes`: when a connection's `bufferedAmount` exceeds it after a send, the server
 *   sends `slow_consumer` and closes (1008; terminated 2 s later if the client does not answer).
 *   0 = the built-in cap `HARD_BUFFER_CAP`.
 * - `delayMs`: a window [s, s+1000) is broadcast once simulated now ≥ s + 1000 + delayMs.
 */
import type { MarketData, WireAgg } from "../MarketData.js"
import type { AggEvent } from "./events.js"

export interface WsFaults {
  /** Drop every connection every N simulated seconds (0 = never). */
  readonly dropEverySimSeconds: number
  readonly halfOpenAfterSimSeconds: number
  /** Every connection silent from this simulated instant on (epoch ms; 0 = never). */
  readonly stallFromSimMs: number
  readonly malformedEvery: number
  readonly duplicateEvery: number
  readonly correctionEvery: number
  readonly correctionDelaySimMs: number
  readonly maxConnectionsPerCluster: number
  readonly slowConsumerBytes: number
  readonly delayMs: number
  /** Stop replaying at this simulated instant (epoch ms; 0 = never): e.g. a session's close, for benchmarks. */
  readonly replayUntilMs: number
}

export const DEFAULT_WS_FAULTS: WsFaults = {
  dropEverySimSeconds: 0,
  halfOpenAfterSimSeconds: 0,
  stallFromSimMs: 0,
  malformedEvery: 0,
  duplicateEvery: 0,
  correctionEvery: 0,
  correctionDelaySimMs: 2000,
  maxConnectionsPerCluster: 10,
  slowConsumerBytes: 0,
  delayMs: 0,
  replayUntilMs: 0
}

/** A connection whose send buffer grows beyond this is always a slow consumer. */
export const HARD_BUFFER_CAP = 64 * 1024 * 1024

/** Merge known numeric knobs; unknown keys and non-numbers are ignored. */
export const mergeFaults = (current: WsFaults, patch: Record<string, unknown>): WsFaults => {
  const next: Record<string, number> = { ...current }
  for (const key of Object.keys(DEFAULT_WS_FAULTS)) {
    const v = patch[key]
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) next[key] = v
  }
  return next as unknown as WsFaults
}

/** The feed is stalled at simulated time `nowMs` (`stallFromSimMs`). */
export const isStalled = (f: WsFaults, nowMs: number): boolean => f.stallFromSimMs > 0 && nowMs >= f.stallFromSimMs

/** True for the k-th, 2k-th, … occurrence (k = 0: never). */
export const isNth = (count: number, every: number): boolean => every > 0 && count % every === 0

export interface CorrectionRecord {
  readonly sym: string
  readonly s: number
  readonly original: AggEvent
  readonly corrected: AggEvent
  /** Simulated window end at which the corrected event was broadcast. */
  readonly sentAtSimMs: number
}

export const correct = (e: AggEvent): AggEvent => ({ ...e, v: e.v + 1, av: e.av + 1, c: e.c === e.h ? e.l : e.h })

/**
 * The final truth of a ticker's second bars on a date: MarketData's bars with every broadcast
 * correction applied (v and c replaced; o, h, l, vw, n and t unchanged).
 */
export const groundTruth = (
  market: MarketData,
  corrections: ReadonlyMap<string, CorrectionRecord>,
  ticker: string,
  date: string
): ReadonlyArray<WireAgg> =>
  (market.secondBars(ticker, date) as ReadonlyArray<WireAgg>).map((b) => {
    const fix = corrections.get(correctionKey(ticker, b.t))
    return fix ? { ...b, v: fix.corrected.v, c: fix.corrected.c } : b
  })

export const correctionKey = (sym: string, s: number): string => `${sym}|${s}`
