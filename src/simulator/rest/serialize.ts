/**
 * Aggregate bars as JSON bytes, written once per series and sliced per page.
 *
 * `serializedBars(series)` is the JSON text of every bar of a (cached, immutable) series, each
 * followed by a comma, plus the byte offset of each bar, memoised per series array (a WeakMap, so
 * it lives exactly as long as the market's own cache keeps the series). A page of consecutive bars
 * is then one `subarray`, and the response is a few chunks: no objects built, nothing
 * re-stringified per request.
 *
 * The text is byte-for-byte what `JSON.stringify(bar)` gives: numbers with at most 4 decimals and
 * |x| < 1e9 (every price, VWAP, size and timestamp the markets produce) are written from integer
 * digits (the shortest round-trip form of such a double is that decimal, so it matches
 * `String(x)`); anything else goes through `String(x)` (or `null` for non-finite values, as JSON
 * does), and a bar whose keys are not the wire shape goes through `JSON.stringify` itself.
 */
import type { WireAgg, WireIndexAgg } from "../MarketData.js"
import type { AnyAgg } from "./aggregate.js"

export interface SerializedBars {
  /** `bar0,bar1,…,barN-1,` */
  readonly bytes: Buffer
  /** offsets[i] = first byte of bar i; offsets[n] = bytes.length (so bar i ends at offsets[i+1] - 1). */
  readonly offsets: Uint32Array
}

const AGG_KEYS: ReadonlyArray<string> = ["v", "vw", "o", "c", "h", "l", "t", "n"]
const INDEX_KEYS: ReadonlyArray<string> = ["o", "c", "h", "l", "t"]

/** "00".."99" as char codes, two per entry. */
const PAIRS = (() => {
  const out = new Uint8Array(200)
  for (let i = 0; i < 100; i++) {
    out[2 * i] = 48 + Math.floor(i / 10)
    out[2 * i + 1] = 48 + (i % 10)
  }
  return out
})()

/** Decimal digits of a non-negative int32 at `pos`; returns the end. */
const writeSmall = (buf: Uint8Array, pos: number, k: number): number => {
  if (k < 10) {
    buf[pos] = 48 + k
    return pos + 1
  }
  const len =
    k < 100
      ? 2
      : k < 1000
        ? 3
        : k < 10_000
          ? 4
          : k < 100_000
            ? 5
            : k < 1_000_000
              ? 6
              : k < 10_000_000
                ? 7
                : k < 100_000_000
                  ? 8
                  : k < 1_000_000_000
                    ? 9
                    : 10
  const end = pos + len
  let i = end
  while (k >= 100) {
    const q = (k / 100) | 0
    const r = (k - q * 100) << 1
    buf[--i] = PAIRS[r + 1]!
    buf[--i] = PAIRS[r]!
    k = q
  }
  if (k >= 10) {
    buf[--i] = PAIRS[2 * k + 1]!
    buf[--i] = PAIRS[2 * k]!
  } else buf[--i] = 48 + k
  return end
}

/** Exactly 8 digits (leading zeros) of 0 <= k < 1e8. */
const write8 = (buf: Uint8Array, pos: number, k: number): number => {
  for (let i = pos + 6; i >= pos; i -= 2) {
    const q = (k / 100) | 0
    const r = (k - q * 100) << 1
    buf[i] = PAIRS[r]!
    buf[i + 1] = PAIRS[r + 1]!
    k = q
  }
  return pos + 8
}

/** Decimal digits of a non-negative integer <= 2^53 - 1 at `pos`; returns the end. */
const writeUInt = (buf: Uint8Array, pos: number, k: number): number => {
  if (k < 2_147_483_648) return writeSmall(buf, pos, k)
  const hi = Math.floor(k / 1e8)
  return write8(buf, writeSmall(buf, pos, hi), k - hi * 1e8)
}

const writeAscii = (buf: Uint8Array, pos: number, s: string): number => {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i)
  return pos
}

/** Integers up to here print as their plain digits (above, the shortest round-trip form may end in zeros). */
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** `JSON.stringify(x)` for a number, written at `pos`; returns the end. */
const writeNumber = (buf: Uint8Array, pos: number, x: number): number => {
  if (Number.isInteger(x)) {
    if (x >= 0 && x <= MAX_SAFE) return writeUInt(buf, pos, x)
    if (x < 0 && x >= -MAX_SAFE) {
      buf[pos] = 45
      return writeUInt(buf, pos + 1, -x)
    }
    return writeAscii(buf, pos, String(x))
  }
  const a = x < 0 ? -x : x
  if (a < 1e9) {
    const k = Math.round(a * 10000)
    if (k / 10000 === a) {
      if (x < 0) buf[pos++] = 45
      const ip = Math.floor(k / 10000)
      const frac = k - ip * 10000 // 1..9999: up to four digits, trailing zeros dropped
      pos = writeSmall(buf, pos, ip)
      buf[pos++] = 46
      const hi = (frac / 100) | 0,
        lo = frac - hi * 100
      if (lo === 0) {
        if (hi % 10 === 0) {
          buf[pos] = 48 + hi / 10
          return pos + 1
        }
        buf[pos] = PAIRS[2 * hi]!
        buf[pos + 1] = PAIRS[2 * hi + 1]!
        return pos + 2
      }
      buf[pos] = PAIRS[2 * hi]!
      buf[pos + 1] = PAIRS[2 * hi + 1]!
      if (lo % 10 === 0) {
        buf[pos + 2] = 48 + lo / 10
        return pos + 3
      }
      buf[pos + 2] = PAIRS[2 * lo]!
      buf[pos + 3] = PAIRS[2 * lo + 1]!
      return pos + 4
    }
  }
  return writeAscii(buf, pos, Number.isFinite(x) ? String(x) : "null")
}

const sameKeys = (bar: object, keys: ReadonlyArray<string>): boolean => {
  const own = Object.keys(bar)
  if (own.length !== keys.length) return false
  for (let i = 0; i < own.length; i++) if (own[i] !== keys[i]) return false
  return true
}

/** `{"v":` … `,"n":`: the wire keys as literal stores (one- or two-letter keys). */
const key = (buf: Uint8Array, pos: number, lead: number, k: number): number => {
  buf[pos] = lead
  buf[pos + 1] = 34
  buf[pos + 2] = k
  buf[pos + 3] = 34
  buf[pos + 4] = 58
  return pos + 5
}
const LBRACE = 123,
  COMMA = 44

const writeAgg = (buf: Uint8Array, pos: number, b: WireAgg): number => {
  pos = writeNumber(buf, key(buf, pos, LBRACE, 118), b.v)
  buf[pos] = COMMA
  buf[pos + 1] = 34
  buf[pos + 2] = 118
  buf[pos + 3] = 119
  buf[pos + 4] = 34
  buf[pos + 5] = 58
  pos = writeNumber(buf, pos + 6, b.vw)
  pos = writeNumber(buf, key(buf, pos, COMMA, 111), b.o)
  pos = writeNumber(buf, key(buf, pos, COMMA, 99), b.c)
  pos = writeNumber(buf, key(buf, pos, COMMA, 104), b.h)
  pos = writeNumber(buf, key(buf, pos, COMMA, 108), b.l)
  pos = writeNumber(buf, key(buf, pos, COMMA, 116), b.t)
  pos = writeNumber(buf, key(buf, pos, COMMA, 110), b.n)
  buf[pos] = 125
  buf[pos + 1] = COMMA
  return pos + 2
}

const writeIndex = (buf: Uint8Array, pos: number, b: WireIndexAgg): number => {
  pos = writeNumber(buf, key(buf, pos, LBRACE, 111), b.o)
  pos = writeNumber(buf, key(buf, pos, COMMA, 99), b.c)
  pos = writeNumber(buf, key(buf, pos, COMMA, 104), b.h)
  pos = writeNumber(buf, key(buf, pos, COMMA, 108), b.l)
  pos = writeNumber(buf, key(buf, pos, COMMA, 116), b.t)
  buf[pos] = 125
  buf[pos + 1] = COMMA
  return pos + 2
}

const isAgg = (b: AnyAgg): b is WireAgg => {
  const a = b as WireAgg
  return (
    typeof a.v === "number" &&
    typeof a.vw === "number" &&
    typeof a.o === "number" &&
    typeof a.c === "number" &&
    typeof a.h === "number" &&
    typeof a.l === "number" &&
    typeof a.t === "number" &&
    typeof a.n === "number" &&
    sameKeys(a, AGG_KEYS)
  )
}

const isIndex = (b: AnyAgg): boolean =>
  typeof b.o === "number" &&
  typeof b.c === "number" &&
  typeof b.h === "number" &&
  typeof b.l === "number" &&
  typeof b.t === "number" &&
  sameKeys(b, INDEX_KEYS)

/** Longest text of one bar on the fast path: keys + 8 numbers of at most 24 characters. */
const MAX_FAST_BAR = 256

/** Serializes a series (no caching; see `serializedBars`). */
export const serializeBars = (bars: ReadonlyArray<AnyAgg>): SerializedBars => {
  const n = bars.length
  const offsets = new Uint32Array(n + 1)
  // a plain Uint8Array (element stores on it optimise better than on a Buffer), wrapped at the end
  let buf: Uint8Array = new Uint8Array(Math.max(1024, n * (bars[0] !== undefined && "v" in bars[0] ? 112 : 80)))
  let pos = 0
  for (let i = 0; i < n; i++) {
    const bar = bars[i]!
    offsets[i] = pos
    let text: string | undefined
    if (pos + MAX_FAST_BAR > buf.length) buf = grow(buf, pos, MAX_FAST_BAR)
    if ("v" in bar) {
      if (isAgg(bar)) pos = writeAgg(buf, pos, bar)
      else text = JSON.stringify(bar)
    } else if (isIndex(bar)) pos = writeIndex(buf, pos, bar)
    else text = JSON.stringify(bar)
    if (text !== undefined) {
      const bytes = Buffer.from(`${text},`, "utf8")
      if (pos + bytes.length > buf.length) buf = grow(buf, pos, bytes.length)
      buf.set(bytes, pos)
      pos += bytes.length
    }
  }
  offsets[n] = pos
  return { bytes: Buffer.from(buf.buffer, 0, pos), offsets }
}

const grow = (buf: Uint8Array, used: number, need: number): Uint8Array => {
  const bigger = new Uint8Array(Math.max(buf.length * 2, used + need))
  bigger.set(buf.subarray(0, used))
  return bigger
}

const cache = new WeakMap<ReadonlyArray<AnyAgg>, SerializedBars>()

/** The series' JSON, computed once per series array. */
export const serializedBars = (series: ReadonlyArray<AnyAgg>): SerializedBars => {
  let s = cache.get(series)
  if (s === undefined) {
    s = serializeBars(series)
    cache.set(series, s)
  }
  return s
}

/** Bars [from, to) in order, without the trailing comma. */
export const ascendingSlice = (s: SerializedBars, from: number, to: number): Buffer =>
  s.bytes.subarray(s.offsets[from]!, s.offsets[to]! - 1)

/** Bars [from, to) in descending order (bar to-1 first), comma-separated, in a new buffer. */
export const descendingSlice = (s: SerializedBars, from: number, to: number): Buffer => {
  const out = Buffer.allocUnsafe(s.offsets[to]! - s.offsets[from]!)
  let pos = 0
  for (let i = to - 1; i >= from; i--) {
    pos += s.bytes.copy(out, pos, s.offsets[i]!, s.offsets[i + 1]!)
  }
  return out.subarray(0, pos - 1)
}
