/**
 * The per-feed daily journal `data/journal/<feed>/<date>.ndjson`: every received frame is
 * appended (with its receipt time) BEFORE anything else looks at it, so the socket never waits
 * on the lake and a crash loses nothing the OS accepted. The writer reads the journal back from
 * its checkpoint offset: live, catching up after a lag, and replaying after kill -9 are one path.
 *
 * Line formats (one per line, each valid JSON when the frame is):
 *   `[<receivedMs>,<raw frame>]`        a received frame, raw text with CR/LF blanked
 *   `["M",<ms>,{...}]`                   a marker written by the platform (connection opened)
 */
import { Effect, Queue, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

export interface JournalHandle {
  readonly file: string
  /** Append a received frame (synchronous: safe to call from a socket callback). */
  readonly append: (raw: string, receivedMs: number) => void
  /** Append a platform marker. */
  readonly marker: (data: Record<string, unknown>, ms: number) => void
  /** Bytes handed to the OS so far (the readable end of the journal). */
  readonly size: () => number
  /** Signalled after each write; sliding(1), so it never grows. */
  readonly wake: Queue.Queue<void>
}

export const journalFile = (root: string, feed: string, date: string): string => path.join(root, "journal", feed, `${date}.ndjson`)

const sanitize = (raw: string): string => (raw.includes("\n") || raw.includes("\r") ? raw.replace(/[\r\n]/g, " ") : raw)

/** Open (append) the journal of a feed and date for this scope. */
export const open = (root: string, feed: string, date: string): Effect.Effect<JournalHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const file = journalFile(root, feed, date)
    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const state = yield* Effect.acquireRelease(
      Effect.sync(() => {
        fs.mkdirSync(path.dirname(file), { recursive: true })
        const fd = fs.openSync(file, "a+")
        let size = fs.fstatSync(fd).size
        if (size > 0) {
          // A line torn by a crash mid-write is terminated, so it cannot swallow the next frame.
          const last = Buffer.alloc(1)
          fs.readSync(fd, last, 0, 1, size - 1)
          if (last[0] !== 0x0a) size += fs.writeSync(fd, "\n")
        }
        return { fd, size, pending: [] as Array<string>, scheduled: false, closed: false }
      }),
      (s) =>
        Effect.sync(() => {
          flush()
          s.closed = true
          fs.closeSync(s.fd)
        })
    )
    const flush = () => {
      state.scheduled = false
      if (state.pending.length === 0 || state.closed) return
      const buf = Buffer.from(state.pending.join(""), "utf8")
      state.pending = []
      let off = 0
      while (off < buf.length) off += fs.writeSync(state.fd, buf, off, buf.length - off)
      state.size += buf.length
      Queue.unsafeOffer(wake, undefined)
    }
    // Frames arriving in one socket read are coalesced into one write, done before any fiber runs.
    const push = (line: string) => {
      if (state.closed) return
      state.pending.push(line)
      if (!state.scheduled) {
        state.scheduled = true
        queueMicrotask(flush)
      }
    }
    return {
      file,
      append: (raw, receivedMs) => push(`[${receivedMs},${sanitize(raw)}]\n`),
      marker: (data, ms) => push(`["M",${ms},${JSON.stringify(data)}]\n`),
      size: () => state.size,
      wake
    } satisfies JournalHandle
  })

export type JournalEntry =
  | { readonly _tag: "Frame"; readonly receivedMs: number; readonly raw: string }
  | { readonly _tag: "Marker"; readonly ms: number; readonly data: Record<string, unknown> }
  | { readonly _tag: "Corrupt"; readonly line: string }

/** Decode one journal line (the frame itself is left raw: it is parsed by the writer). */
export const decodeLine = (line: string): JournalEntry => {
  if (line.startsWith('["M",')) {
    try {
      const [, ms, data] = JSON.parse(line) as [string, number, Record<string, unknown>]
      return { _tag: "Marker", ms, data }
    } catch {
      return { _tag: "Corrupt", line }
    }
  }
  const comma = line.indexOf(",")
  const ms = comma > 1 ? Number(line.slice(1, comma)) : NaN
  if (!line.startsWith("[") || !line.endsWith("]") || !Number.isFinite(ms)) return { _tag: "Corrupt", line }
  return { _tag: "Frame", receivedMs: ms, raw: line.slice(comma + 1, -1) }
}

/**
 * Read complete lines from `offset` up to `end` (at most `maxBytes`). Returns the lines and the
 * offset just after the last complete line; a torn last line (crash mid-write) is left unread.
 */
export const readLines = (file: string, offset: number, end: number, maxBytes = 4 << 20): { lines: ReadonlyArray<string>; next: number } => {
  const want = Math.min(end - offset, maxBytes)
  if (want <= 0) return { lines: [], next: offset }
  const fd = fs.openSync(file, "r")
  try {
    const buf = Buffer.allocUnsafe(want)
    const n = fs.readSync(fd, buf, 0, want, offset)
    const last = buf.lastIndexOf(0x0a, n - 1)
    if (last < 0) {
      // A single line longer than maxBytes: read it whole.
      if (want === maxBytes) return readLines(file, offset, end, maxBytes * 2)
      return { lines: [], next: offset }
    }
    const text = buf.toString("utf8", 0, last)
    return { lines: text.length === 0 ? [""] : text.split("\n"), next: offset + last + 1 }
  } finally {
    fs.closeSync(fd)
  }
}

/** Size of a journal file on disk (0 if missing). */
export const fileSize = (file: string): number => {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}
