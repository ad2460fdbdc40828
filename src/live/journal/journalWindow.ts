/**
 * The journal's in-memory window: the most recent entries, for the writer to take without
 * reading the file back. Frame bytes are copied into one ring buffer of `capacity` bytes
 * (allocated on first use), so the socket's message buffers die young and the window costs a
 * fixed amount of memory, however many frames it holds; entries are slots (journal offsets and
 * a ring position). When a new frame needs room, the oldest entries leave the window (the
 * writer then reads them from the file); an entry larger than the ring is not kept at all.
 *
 * Frames read from the window are VIEWS into the ring: valid until the next append. The writer
 * ingests each read synchronously (appends come from socket callbacks, which cannot run in
 * between), so it never sees a view overwritten.
 */
import type { Positioned } from "./journalLines.js"

interface Slot {
  /** Ring position and length of the frame's bytes (markers take one byte, to keep ring order). */
  readonly pos: number
  readonly len: number
  readonly start: number
  readonly end: number
  readonly receivedMs: number
  /** A marker's data (undefined for a frame). */
  readonly data: Record<string, unknown> | undefined
}

export class JournalWindow {
  private ring: Buffer | undefined
  private slots: Array<Slot | undefined> = []
  private head = 0
  /** Ring position after the newest entry. */
  private tail = 0

  constructor(readonly capacity: number) {}

  /** Journal offset of the oldest entry kept, or undefined when the window is empty. */
  first(): number | undefined {
    return this.head < this.slots.length ? this.slots[this.head]!.start : undefined
  }

  frame(raw: Uint8Array, receivedMs: number, start: number, end: number): void {
    const pos = this.alloc(Math.max(1, raw.length))
    if (pos === undefined) return
    this.ring!.set(raw, pos)
    this.slots.push({ pos, len: raw.length, start, end, receivedMs, data: undefined })
  }

  marker(data: Record<string, unknown>, ms: number, start: number, end: number): void {
    const pos = this.alloc(1)
    if (pos !== undefined) this.slots.push({ pos, len: 1, start, end, receivedMs: ms, data })
  }

  /** Entries ending at or before `offset` (consumed) leave the window. */
  dropUntil(offset: number): void {
    while (this.head < this.slots.length && this.slots[this.head]!.end <= offset) this.forget()
  }

  /** Contiguous entries from `offset` (the oldest kept), ending at or before `readable`, about `maxBytes`. */
  read(offset: number, readable: number, maxBytes: number): { entries: Array<Positioned>; next: number } {
    const entries: Array<Positioned> = []
    let next = offset
    let bytes = 0
    for (let i = this.head; i < this.slots.length && bytes < maxBytes; i++) {
      const s = this.slots[i]!
      if (s.start !== next || s.end > readable) break
      entries.push(
        s.data === undefined
          ? { _tag: "Frame", receivedMs: s.receivedMs, raw: this.ring!.subarray(s.pos, s.pos + s.len), end: s.end }
          : { _tag: "Marker", ms: s.receivedMs, data: s.data, end: s.end }
      )
      bytes += s.end - s.start
      next = s.end
    }
    return { entries, next }
  }

  private forget(): void {
    this.slots[this.head++] = undefined
    if (this.head === this.slots.length) {
      // Empty: the next entry goes to the ring's start.
      this.slots = []
      this.head = 0
      this.tail = 0
    } else if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head)
      this.head = 0
    }
  }

  /** Room for `size` bytes at the ring's tail (or its start, wrapping), evicting the oldest entries in the way. */
  private alloc(size: number): number | undefined {
    if (size > this.capacity) {
      // Not kept: the window must stay contiguous, so everything older leaves too.
      while (this.head < this.slots.length) this.forget()
      this.tail = 0
      return undefined
    }
    this.ring ??= Buffer.allocUnsafeSlow(this.capacity)
    let pos = this.tail
    if (pos + size > this.capacity) {
      // Wrap: the entries between the tail and the ring's end are the oldest; they go first.
      while (this.head < this.slots.length && this.slots[this.head]!.pos >= pos) this.forget()
      pos = 0
    }
    // The oldest remaining entries are at increasing positions from here: evict those in the way.
    while (this.head < this.slots.length) {
      const s = this.slots[this.head]!
      if (s.pos >= pos + size || s.pos + Math.max(1, s.len) <= pos) break
      this.forget()
    }
    this.tail = pos + size
    return pos
  }
}
