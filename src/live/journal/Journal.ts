/**
 * The per-feed daily journal `data/journal/<feed>/<date>.ndjson`: every received frame is
 * appended (with its receipt time) BEFORE anything else looks at it, so the socket never waits
 * on the lake and a crash loses nothing the OS accepted. Frames are appended as the bytes the
 * socket delivered (no string), the frames of one socket read coalesced into one `writev`.
 *
 * The journal is also the queue to the writer. Entries appended by this process stay in memory,
 * in order, for the writer to take without reading the file back; that window is bounded
 * (`memoryBytes`, one ring buffer: journalWindow.ts): when the writer lags further, the oldest
 * entries leave memory and the writer reads them from the file (as it reads the tail a crash
 * left behind). Nothing is ever dropped.
 * Line format: journalLines.ts.
 *
 * Durability (`journal.fsync`): `none` (default) leaves the written bytes to the OS, which
 * survives kill -9 but not a power cut; `batch` adds group-committed fdatasync off the socket's
 * path (journalSync.ts), and the writer then reads only bytes already fsynced.
 */
import { Effect, Queue, Runtime, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { frameLine, markerLine, type Positioned, readEntries, sanitize } from "./journalLines.js"
import { JournalWindow } from "./journalWindow.js"
import { type FsyncMode, type GroupSync, makeGroupSync, syncDirectory, type SyncFn } from "./journalSync.js"

export type { FsyncMode } from "./journalSync.js"

export { decodeLine, fileSize, type JournalEntry, type Positioned } from "./journalLines.js"

export interface JournalHandle {
  readonly file: string
  /** Append a received frame (synchronous: safe to call from a socket callback). */
  readonly append: (raw: Uint8Array | string, receivedMs: number) => void
  /** Append a platform marker. */
  readonly marker: (data: Record<string, unknown>, ms: number) => void
  /**
   * The readable end of the journal: bytes handed to the OS so far (`fsync: none`), or bytes
   * fsynced so far (`fsync: batch`).
   */
  readonly size: () => number
  /** Write what is pending and wait until it is readable (fsynced with `batch`). */
  readonly sync: Effect.Effect<void>
  /** Signalled when the readable end moves; sliding(1), so it never grows. */
  readonly wake: Queue.Queue<void>
  /**
   * Entries from `offset` (a line boundary) on, up to about `maxBytes`: from memory when the
   * window still holds them, else from the file. Only what the OS has accepted is returned.
   * Frames are views into the window's ring or the file-read buffer: use them before the next
   * append or read (LiveWriter ingests each read synchronously).
   */
  readonly read: (
    offset: number,
    maxBytes?: number
  ) => { readonly entries: ReadonlyArray<Positioned>; readonly next: number }
}

export interface JournalOptions {
  /** Bytes of recent entries kept in memory for the writer (default 32 MiB). */
  readonly memoryBytes?: number
  /** `none` (default): no fsync; `batch`: group-committed fdatasync, readable once durable. */
  readonly fsync?: FsyncMode
  /** The fdatasync to use (tests hold it to observe what is readable meanwhile). */
  readonly syncFn?: SyncFn
}

export const journalFile = (root: string, feed: string, date: string): string =>
  path.join(root, "journal", feed, `${date}.ndjson`)

/** Writes every piece, however many and however partial each `writev` turns out. */
const writeAll = (fd: number, pieces: Array<Uint8Array>): number => {
  let total = 0
  let i = 0
  while (i < pieces.length) {
    let n = fs.writevSync(fd, i === 0 && pieces.length <= 512 ? pieces : pieces.slice(i, i + 512))
    total += n
    while (n > 0) {
      const p = pieces[i]!
      if (n >= p.length) {
        n -= p.length
        i++
      } else {
        pieces[i] = p.subarray(n)
        n = 0
      }
    }
    while (i < pieces.length && pieces[i]!.length === 0) i++
  }
  return total
}

/** Open (append) the journal of a feed and date for this scope. */
export const open = (
  root: string,
  feed: string,
  date: string,
  options: JournalOptions = {}
): Effect.Effect<JournalHandle, never, Scope.Scope> => openFile(journalFile(root, feed, date), options)

/** Open (append) a journal file for this scope (a cluster runner's socket shard journals to its own file). */
export const openFile = (
  file: string,
  options: JournalOptions = {}
): Effect.Effect<JournalHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const memoryBytes = options.memoryBytes ?? 32 << 20
    const batch = options.fsync === "batch"
    const window = new JournalWindow(memoryBytes)
    /** The buffer reads from the file go into, reused (a lagging writer reads the file for a long time). */
    const scratch = { buf: Buffer.alloc(0) }
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    let sync: GroupSync | undefined
    const state = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const dir = path.dirname(file)
        const firstNewDir = fs.mkdirSync(dir, { recursive: true })
        const created = !fs.existsSync(file)
        const fd = fs.openSync(file, "a+")
        if (batch) {
          // Every folder created here (journal/<feed>/ on a feed's first day) must be durable in its parent too.
          if (firstNewDir !== undefined)
            for (let d = dir; ; d = path.dirname(d)) {
              syncDirectory(d)
              if (d === firstNewDir || d === path.dirname(d)) break
            }
          if (created) syncDirectory(file)
        }
        let size = fs.fstatSync(fd).size
        if (size > 0) {
          // A line torn by a crash mid-write is terminated, so it cannot swallow the next frame.
          const last = Buffer.alloc(1)
          fs.readSync(fd, last, 0, 1, size - 1)
          if (last[0] !== 0x0a) size += fs.writeSync(fd, "\n")
        }
        if (batch) {
          // What an earlier run left is made durable before this run reads any of it.
          fs.fdatasyncSync(fd)
          sync = makeGroupSync(
            fd,
            size,
            () => Queue.unsafeOffer(wake, undefined),
            (err) => {
              runFork(
                Effect.logError(
                  `journal ${file}: fdatasync failed (${err.code ?? err.message}); the writer stops reading it, a restart replays it`
                )
              )
            },
            options.syncFn
          )
        }
        return {
          fd,
          size,
          end: size,
          pending: [] as Array<Uint8Array>,
          scheduled: false,
          closed: false
        }
      }),
      (s) =>
        Effect.gen(function* () {
          flush()
          s.closed = true
          if (sync !== undefined) yield* Effect.promise(sync.drain)
          fs.closeSync(s.fd)
        })
    )
    const readable = () => (sync === undefined ? state.size : sync.durable())
    const flush = () => {
      state.scheduled = false
      if (state.pending.length === 0 || state.closed) return
      const pieces = state.pending
      state.pending = []
      state.size += writeAll(state.fd, pieces)
      if (sync !== undefined) sync.written(state.size)
      else Queue.unsafeOffer(wake, undefined)
    }
    // Frames arriving in one socket read are coalesced into one write, done before any fiber runs.
    const push = (pieces: ReadonlyArray<Uint8Array>) => {
      if (state.closed) return
      for (const p of pieces) state.pending.push(p)
      if (!state.scheduled) {
        state.scheduled = true
        queueMicrotask(flush)
      }
    }
    const append = (input: Uint8Array | string, receivedMs: number) => {
      if (state.closed) return
      const raw = sanitize(typeof input === "string" ? Buffer.from(input, "utf8") : input)
      const pieces = frameLine(raw, receivedMs)
      const start = state.end
      state.end += pieces[0].length + raw.length + pieces[2].length
      window.frame(raw, receivedMs, start, state.end)
      push(pieces)
    }
    const marker = (data: Record<string, unknown>, ms: number) => {
      if (state.closed) return
      const line = markerLine(data, ms)
      const start = state.end
      state.end += line.length
      window.marker(data, ms, start, state.end)
      push([line])
    }
    const read: JournalHandle["read"] = (offset, maxBytes = 4 << 20) => {
      // What the reader has consumed leaves memory (a reader going back, after a restart from its checkpoint, reads the file).
      window.dropUntil(offset)
      const written = readable()
      const first = window.first() ?? state.end
      if (offset < first) return readEntries(file, offset, Math.min(first, written), maxBytes, scratch)
      return window.read(offset, written, maxBytes)
    }
    const syncNow = Effect.suspend(() => {
      flush()
      return sync === undefined ? Effect.void : Effect.promise(sync.drain)
    })
    return { file, append, marker, size: readable, sync: syncNow, wake, read } satisfies JournalHandle
  })
