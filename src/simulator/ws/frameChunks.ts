/**
 * Frame chunks: the serialized events a selection (selection.ts) receives during CHUNK_SECONDS
 * seconds of a session, in send order (by window end, then series order), as one byte buffer,
 * each event followed by a comma. A frame is then one copy of a byte range between brackets.
 *
 * Session second k (1 ≤ k ≤ span) is the window end openMs + k·1000; chunk c holds
 * k ∈ (c·C, min((c+1)·C, span)], local second L = k − c·C. Events whose window end is not a whole
 * session second inside the session are never sent (as on the per-second path).
 *
 * The market is deterministic, so a chunk is built once per (date, chunk, selection key) and
 * shared by every connection with the same selection. The cache is bounded: the replay drops
 * the chunks behind its cursor, and beyond MAX_CACHE_BYTES the oldest go first.
 */
import type { Session } from "../../domain/calendar.js"
import { ByteWriter } from "./byteWriter.js"
import type { EventSeries, EventSource } from "./events.js"
import type { Selection } from "./selection.js"

export const CHUNK_SECONDS = 600
const MAX_CACHE_BYTES = 512 * 1024 * 1024
const COMMA = 44

export interface Chunk {
  readonly date: string
  readonly index: number
  /** Events, each followed by a comma. */
  readonly bytes: Buffer
  /** eventEnds[i]: end of event i's comma in `bytes`. */
  readonly eventEnds: Int32Array
  /** secondEnds[L]: number of events with local second ≤ L (0 ≤ L ≤ CHUNK_SECONDS). */
  readonly secondEnds: Int32Array
}

/** First index of a series whose window end is after `ms` (sendAt ascending). */
const firstAfter = (s: EventSeries, ms: number): number => {
  let lo = 0,
    hi = s.count
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (s.sendAt(mid) <= ms) lo = mid + 1
    else hi = mid
  }
  return lo
}

export const spanOf = (session: Session): number => Math.round((session.closeMs - session.openMs) / 1000)

const build = (events: EventSource, selection: Selection, session: Session, index: number, w: ByteWriter): Chunk => {
  const C = CHUNK_SECONDS
  const lo = index * C
  const hi = Math.min(lo + C, spanOf(session))
  const fromMs = session.openMs + lo * 1000,
    toMs = session.openMs + hi * 1000
  const series = selection.series.map(({ ev, sym }) => events.day(sym, selection.date).series(ev))
  const first = series.map((s) => firstAfter(s, fromMs))
  const localOf = (ms: number): number => {
    const k = (ms - session.openMs) / 1000
    return Number.isInteger(k) ? k - lo : -1
  }
  // counting sort by local second; within a second, series order
  const secondEnds = new Int32Array(C + 1)
  series.forEach((s, j) => {
    for (let i = first[j]!; i < s.count && s.sendAt(i) <= toMs; i++) {
      const L = localOf(s.sendAt(i))
      if (L > 0) secondEnds[L]!++
    }
  })
  for (let L = 1; L <= C; L++) secondEnds[L]! += secondEnds[L - 1]!
  const total = secondEnds[C]!
  const next = secondEnds.slice(0, C) // next free slot of local second L + 1
  const src = new Int32Array(total),
    idx = new Int32Array(total)
  series.forEach((s, j) => {
    for (let i = first[j]!; i < s.count && s.sendAt(i) <= toMs; i++) {
      const L = localOf(s.sendAt(i))
      if (L <= 0) continue
      const p = next[L - 1]!++
      src[p] = j
      idx[p] = i
    }
  })
  w.pos = 0
  const eventEnds = new Int32Array(total)
  for (let p = 0; p < total; p++) {
    series[src[p]!]!.write(idx[p]!, w)
    w.byte(COMMA)
    eventEnds[p] = w.pos
  }
  return { date: selection.date, index, bytes: w.copyFrom(0), eventEnds, secondEnds }
}

export const makeFrameChunks = (events: EventSource) => {
  const cache = new Map<string, Chunk>()
  const writer = new ByteWriter(1024 * 1024)
  let bytes = 0
  // selection keys can be long (a wildcard lists every contract): hashed once per Selection object
  const ids = new Map<string, number>()
  const idOf = new WeakMap<Selection, string>()
  const keyOf = (selection: Selection, index: number): string => {
    let id = idOf.get(selection)
    if (id === undefined) {
      if (ids.size >= 100_000) ids.clear()
      let n = ids.get(selection.key)
      if (n === undefined) ids.set(selection.key, (n = ids.size))
      idOf.set(selection, (id = `${selection.date}|${n}`))
    }
    return `${id}|${index}`
  }
  const remove = (key: string, chunk: Chunk) => {
    cache.delete(key)
    bytes -= chunk.bytes.length
  }
  return {
    has: (selection: Selection, index: number): boolean => cache.has(keyOf(selection, index)),
    /** Bytes of the chunks held. */
    bytes: (): number => bytes,
    /** The chunk, built now if missing (its ticker-days too). */
    get: (selection: Selection, session: Session, index: number): Chunk => {
      const key = keyOf(selection, index)
      let chunk = cache.get(key)
      if (chunk === undefined) {
        cache.set(key, (chunk = build(events, selection, session, index, writer)))
        bytes += chunk.bytes.length
        for (const [k, c] of cache) {
          if (bytes <= MAX_CACHE_BYTES || c === chunk) break
          remove(k, c)
        }
        if (writer.buf.length > 16 * 1024 * 1024) writer.buf = Buffer.allocUnsafe(1024 * 1024)
      }
      return chunk
    },
    /** Forget the chunks before (date, index): the replay never goes back. */
    dropBefore: (date: string, index: number): void => {
      for (const [k, c] of cache) if (c.date < date || (c.date === date && c.index < index)) remove(k, c)
    }
  }
}
export type FrameChunks = ReturnType<typeof makeFrameChunks>
