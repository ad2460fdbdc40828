/**
 * When the live writer cuts its batch and hands it to the committer. Always at `flush.max_rows`
 * rows and at `flush.interval_s` after the last cut (the configured cadence, which is all a
 * real-time feed ever sees: a few events a second never reach the thresholds below). A burst or a
 * backlog (catching up after a lag, replaying after a restart, a max-speed replay) is committed as
 * fast as the committer can go instead: once ingest has caught up with the journal and the
 * committer is idle, a batch of at least `max_rows / 10` rows is cut at once, and after such a
 * cut, what is left when the feed goes quiet for TAIL_QUIET_MS. Repair rows fetched while the
 * committer is idle are committed at once too.
 */
export type CutReason = "rows" | "interval" | "catch-up" | "burst-tail" | "repairs"

export interface CutInputs {
  /** Rows and set-aside lines in the batch. */
  readonly pending: number
  readonly sinceCutMs: number
  /** Time since ingest last found something in the journal. */
  readonly quietMs: number
  /** Ingest has read everything the journal holds. */
  readonly caughtUp: boolean
  readonly committerIdle: boolean
  readonly repairsReady: boolean
  /** The last cut was a burst cut (`rows` or `catch-up`). */
  readonly burst: boolean
}

export interface CutConfig {
  readonly maxRows: number
  readonly intervalMs: number
}

export const TAIL_QUIET_MS = 200

export const catchUpRows = (c: CutConfig): number => Math.max(1, Math.floor(c.maxRows / 10))

export const cutReason = (s: CutInputs, c: CutConfig): CutReason | undefined => {
  if (s.pending >= c.maxRows) return "rows"
  if (s.sinceCutMs >= c.intervalMs) return "interval"
  if (!s.caughtUp || !s.committerIdle) return undefined
  if (s.pending >= catchUpRows(c)) return "catch-up"
  if (s.burst && s.pending > 0 && s.quietMs >= TAIL_QUIET_MS) return "burst-tail"
  if (s.repairsReady) return "repairs"
  return undefined
}

/** How long ingest may wait for new input before a rule could fire on time alone. */
export const waitMs = (s: CutInputs, c: CutConfig): number => {
  const interval = c.intervalMs - s.sinceCutMs
  const tail = s.burst && s.pending > 0 ? TAIL_QUIET_MS - s.quietMs : Infinity
  return Math.max(1, Math.min(interval, tail))
}

/** Whether a cut for this reason keeps the writer in burst mode. */
export const isBurst = (r: CutReason): boolean => r === "rows" || r === "catch-up"
