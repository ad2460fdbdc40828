/**
 * The journal's line format and its reader. One line per entry, each valid JSON when the frame is:
 *   `[<receivedMs>,<raw frame>]`        a received frame, its bytes as received with CR/LF blanked
 *   `["M",<ms>,{...}]`                   a marker written by the platform (connection opened)
 * Lines are read back as bytes: a frame's raw text is a view into the read buffer, never a string.
 */
import * as fs from "node:fs"

export type JournalEntry =
  | { readonly _tag: "Frame"; readonly receivedMs: number; readonly raw: Uint8Array }
  | { readonly _tag: "Marker"; readonly ms: number; readonly data: Record<string, unknown> }
  | { readonly _tag: "Corrupt"; readonly line: string }

/** An entry and the journal offset just after its line. */
export type Positioned = JournalEntry & { readonly end: number }

const MARKER_PREFIX = Buffer.from('["M",', "latin1")
const TAIL = Buffer.from("]\n", "latin1")

/** The bytes of a frame as the journal stores them: CR and LF blanked (they can only be JSON whitespace or invalid). */
export const sanitize = (raw: Uint8Array): Uint8Array => {
  if (raw.indexOf(10) < 0 && raw.indexOf(13) < 0) return raw
  const copy = Uint8Array.prototype.slice.call(raw) as Uint8Array
  for (let i = 0; i < copy.length; i++) if (copy[i] === 10 || copy[i] === 13) copy[i] = 32
  return copy
}

/** The three pieces of a frame's line (written with one writev, no copy of the frame). */
export const frameLine = (raw: Uint8Array, receivedMs: number): [Buffer, Uint8Array, Buffer] => [
  Buffer.from(`[${receivedMs},`, "latin1"),
  raw,
  TAIL
]

export const markerLine = (data: Record<string, unknown>, ms: number): Buffer =>
  Buffer.from(`["M",${ms},${JSON.stringify(data)}]\n`, "utf8")

const text = (b: Uint8Array, from: number, to: number) =>
  Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("utf8")

/** Decode one journal line (without its newline); the frame itself stays raw bytes. */
export const decodeLine = (line: Uint8Array): JournalEntry => {
  const n = line.length
  if (n >= MARKER_PREFIX.length && MARKER_PREFIX.every((c, i) => line[i] === c)) {
    try {
      const [, ms, data] = JSON.parse(text(line, 0, n)) as [string, number, Record<string, unknown>]
      return { _tag: "Marker", ms, data }
    } catch {
      return { _tag: "Corrupt", line: text(line, 0, n) }
    }
  }
  const comma = line.indexOf(44)
  const ms = comma > 1 ? Number(Buffer.from(line.buffer, line.byteOffset + 1, comma - 1).toString("latin1")) : NaN
  if (line[0] !== 91 || line[n - 1] !== 93 || !Number.isFinite(ms)) return { _tag: "Corrupt", line: text(line, 0, n) }
  return { _tag: "Frame", receivedMs: ms, raw: line.subarray(comma + 1, n - 1) }
}

/**
 * Read the complete lines from `offset` up to `end` (at most `maxBytes`, or one whole line when
 * it is longer). Returns them decoded with their end offsets, and the offset after the last
 * complete line; a torn last line (crash mid-write) is left unread. With `scratch`, the read
 * buffer is reused from call to call (frames are views into it: valid until the next call).
 */
export const readEntries = (
  file: string,
  offset: number,
  end: number,
  maxBytes = 4 << 20,
  scratch?: { buf: Buffer }
): { entries: Array<Positioned>; next: number } => {
  const want = Math.min(end - offset, maxBytes)
  if (want <= 0) return { entries: [], next: offset }
  const fd = fs.openSync(file, "r")
  let buf: Buffer
  let n: number
  try {
    if (scratch !== undefined && scratch.buf.length < want) scratch.buf = Buffer.allocUnsafeSlow(want)
    buf = scratch?.buf ?? Buffer.allocUnsafe(want)
    n = fs.readSync(fd, buf, 0, want, offset)
  } finally {
    fs.closeSync(fd)
  }
  const last = buf.lastIndexOf(10, n - 1)
  if (last < 0)
    return want === maxBytes ? readEntries(file, offset, end, maxBytes * 2, scratch) : { entries: [], next: offset }
  const entries: Array<Positioned> = []
  for (let from = 0; from <= last;) {
    const nl = buf.indexOf(10, from)
    if (nl > from) entries.push({ ...decodeLine(buf.subarray(from, nl)), end: offset + nl + 1 })
    from = nl + 1
  }
  return { entries, next: offset + last + 1 }
}

/** Size of a journal file on disk (0 if missing). */
export const fileSize = (file: string): number => {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}
