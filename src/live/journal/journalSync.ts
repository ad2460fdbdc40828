/**
 * Group commit for the journal (`journal.fsync: batch`). The socket callback only appends and
 * `writev`s; `fdatasync` runs on libuv's thread pool, one at a time, each covering every byte
 * written before it started, so while one is in flight the writes that arrive meanwhile are
 * grouped into the next. `durable()` is the end of what the last completed fdatasync covers: the
 * journal lets the writer read only up to there, so "durable in the journal" always precedes
 * "processed", and a checkpoint never points past what survives a power cut (after a power cut
 * a checkpoint beyond the journal's surviving end would make the next appends, written at lower
 * offsets, look already processed).
 *
 * A failed fdatasync is not retried (after an error Linux may report the lost pages as clean):
 * `durable()` stops advancing, so the writer stops consuming that journal and the stall alerts
 * fire; the bytes stay in the file for a restart to replay. `drain()` still resolves then.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export type FsyncMode = "none" | "batch"

export type SyncFn = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void

export interface GroupSync {
  /** Bytes up to `end` have been handed to the OS: make them durable (soon). */
  readonly written: (end: number) => void
  /** End of the bytes known durable. */
  readonly durable: () => number
  /** Resolves once every byte written so far is durable (or syncing has failed). */
  readonly drain: () => Promise<void>
  /** Number of fdatasync calls completed (metrics and tests). */
  readonly syncs: () => number
}

export const makeGroupSync = (
  fd: number,
  initial: number,
  onDurable: () => void,
  onError: (err: NodeJS.ErrnoException) => void,
  syncFn: SyncFn = fs.fdatasync
): GroupSync => {
  let durable = initial
  let target = initial
  let inFlight = false
  let failed = false
  let count = 0
  let waiters: Array<() => void> = []
  const settle = () => {
    if (inFlight || (durable < target && !failed)) return
    const ws = waiters
    waiters = []
    for (const w of ws) w()
  }
  const next = () => {
    if (inFlight || failed || target <= durable) return settle()
    inFlight = true
    const upTo = target
    syncFn(fd, (err) => {
      inFlight = false
      count++
      if (err) {
        failed = true
        onError(err)
      } else {
        durable = upTo
        onDurable()
      }
      next()
    })
  }
  return {
    written: (end) => {
      if (end > target) target = end
      next()
    },
    durable: () => durable,
    drain: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve)
        settle()
      }),
    syncs: () => count
  }
}

/** Makes the entry of `file` (a file or folder) in its parent folder durable: once, at creation. */
export const syncDirectory = (file: string): void => {
  const dirFd = fs.openSync(path.dirname(file), "r")
  try {
    fs.fsyncSync(dirFd)
  } finally {
    fs.closeSync(dirFd)
  }
}
