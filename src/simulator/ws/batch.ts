/**
 * The batched replay step at speed `max` (no duplicates, corrections or half-open connections
 * in play): from the replay's cursor, every target connection gets the events of the same run of
 * seconds, packed into frames of up to FRAME_BUDGET bytes (a frame is one JSON array, as
 * Polygon sends; frames split between events, so a second's events can span two frames). The
 * run ends at a chunk's end, at the step's `limitMs` (session close, drop boundary, replay end),
 * or where the densest target has STEP_BYTES, so a step adds at most that much to any send
 * buffer. Events come from frame chunks (frameChunks.ts): one byte copy per frame.
 */
import type { Session } from "../../domain/calendar.js"
import type { Connection } from "./connection.js"
import type { EventSource } from "./events.js"
import { type Chunk, CHUNK_SECONDS, type FrameChunks, spanOf } from "./frameChunks.js"
import { type Selection, selectionOf, type Universe } from "./selection.js"

/** Target size of a batched frame (frames stay < MAX_FRAME_BYTES = 512 KiB). */
export const FRAME_BUDGET = 256 * 1024
const STEP_BYTES = 2 * FRAME_BUDGET
const OPEN_BRACKET = 91,
  CLOSE_BRACKET = 93

export interface BatchDeps {
  readonly events: EventSource
  readonly chunks: FrameChunks
  readonly universe: Universe
}

/** Bytes of a chunk's events before event e. */
const byteAt = (chunk: Chunk, e: number): number => (e > 0 ? chunk.eventEnds[e - 1]! : 0)

/** The largest x in [lo, hi] with ok(x), given ok(lo) or not (then lo). */
const lastOk = (lo: number, hi: number, ok: (x: number) => boolean): number => {
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (ok(mid)) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Frame buffers, reused once the socket has written them (no allocation, no GC per frame). */
const pool: Array<Buffer> = []
const POOL_MAX = 64
const frameBuffer = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(FRAME_BUDGET)
const release = (buf: Buffer) => () => {
  if (pool.length < POOL_MAX && buf.length === FRAME_BUDGET) pool.push(buf)
}

const sendEvents = (c: Connection, chunk: Chunk, from: number, to: number): void => {
  while (from < to && c.live) {
    const start = byteAt(chunk, from)
    // the most events that fit (at least one): bytes between the brackets, last comma replaced
    const end = lastOk(from + 1, to, (e) => byteAt(chunk, e) - start + 1 <= FRAME_BUDGET)
    const length = byteAt(chunk, end) - start
    const buf = length + 1 <= FRAME_BUDGET ? frameBuffer() : Buffer.allocUnsafe(length + 1) // one event longer than a frame
    buf[0] = OPEN_BRACKET
    chunk.bytes.copy(buf, 1, start, start + length - 1)
    buf[length] = CLOSE_BRACKET
    c.sendFrameBytes(buf.subarray(0, length + 1), end - from, release(buf))
    from = end
  }
}

export const makeBatch = (deps: BatchDeps) => {
  // per connection, the selections of the replayed date and of the next one (built ahead)
  const selections = new WeakMap<Connection, Map<string, Selection>>()
  const selectionFor = (c: Connection, date: string): Selection => {
    let byDate = selections.get(c)
    if (byDate === undefined) selections.set(c, (byDate = new Map()))
    let s = byDate.get(date)
    if (s === undefined || s.version !== c.subs.version) {
      if (s === undefined && byDate.size >= 2) byDate.delete([...byDate.keys()].sort()[0]!)
      byDate.set(date, (s = selectionOf(c, date, deps.universe)))
    }
    return s
  }
  const chunkIndexOf = (session: Session, cursor: number): number =>
    Math.floor(Math.round((cursor - session.openMs) / 1000) / CHUNK_SECONDS)

  /**
   * Build what chunk `index` of `session` needs for these connections (ticker-days, then the
   * chunks), one piece at a time until `deadline`; true when all is ready.
   */
  const ready = (targets: ReadonlyArray<Connection>, session: Session, index: number, deadline: number): boolean => {
    if (index * CHUNK_SECONDS >= spanOf(session)) return true
    for (const c of targets) {
      const selection = selectionFor(c, session.date)
      if (deps.chunks.has(selection, index)) continue
      for (const { sym } of selection.series) {
        if (deps.events.has(sym, session.date)) continue
        deps.events.day(sym, session.date)
        if (Date.now() >= deadline) return false
      }
      deps.chunks.get(selection, session, index)
      if (Date.now() >= deadline) return false
    }
    return true
  }

  /**
   * Send every target the events of the seconds after `cursor` (a second of `session`, before
   * its close) up to at most `limitMs` (> cursor); returns the new cursor.
   */
  const step = (targets: ReadonlyArray<Connection>, session: Session, cursor: number, limitMs: number): number => {
    const kCursor = Math.round((cursor - session.openMs) / 1000)
    const index = Math.floor(kCursor / CHUNK_SECONDS)
    const lo = index * CHUNK_SECONDS
    const fromL = kCursor - lo
    const maxL = Math.max(
      fromL + 1,
      Math.min(CHUNK_SECONDS, spanOf(session) - lo, Math.ceil((limitMs - session.openMs) / 1000) - lo)
    )
    const chunks = targets.map((c) => deps.chunks.get(selectionFor(c, session.date), session, index))
    let toL = maxL
    for (const chunk of chunks) {
      const start = byteAt(chunk, chunk.secondEnds[fromL]!)
      const fits = lastOk(fromL + 1, maxL, (L) => byteAt(chunk, chunk.secondEnds[L]!) - start <= STEP_BYTES)
      if (fits < toL) toL = fits
    }
    targets.forEach((c, j) => sendEvents(c, chunks[j]!, chunks[j]!.secondEnds[fromL]!, chunks[j]!.secondEnds[toL]!))
    return session.openMs + (lo + toL) * 1000
  }

  return { ready, step, chunkIndexOf }
}
export type Batch = ReturnType<typeof makeBatch>
