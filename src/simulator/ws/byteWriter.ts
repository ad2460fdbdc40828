/**
 * A growable byte buffer that writes JSON numbers exactly as `JSON.stringify` does, without
 * making a string per number: the replay serializes every event of a chunk straight into bytes.
 *
 * Number texts: an integer below 2^53 is written digit by digit. A finite non-integer below 1e9
 * that is exactly the double nearest to n/100 or n/10^4 (an integer n: prices in cents, VWAPs to
 * 4 decimals, which is what the markets hold) is written as that decimal without trailing zeros:
 * in this range a double's shortest round-trip text, which `JSON.stringify` writes, is that
 * decimal, as no shorter decimal lies within half a unit in the last place of it. Anything else
 * (fractional volumes of a recorded lake, NaN) goes through `String(x)` ("null" when not finite).
 * Tests compare the output with JSON.stringify over the markets' values and random doubles.
 */

const MAX_EXACT = 9_007_199_254_740_992 // 2^53
const DOT = 46,
  MINUS = 45,
  ZERO = 48,
  CLOSE_BRACE = 125
const S_KEY = Buffer.from(`,"s":`),
  E_KEY = Buffer.from(`,"e":`)

export class ByteWriter {
  buf: Buffer
  pos = 0

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  /** Make room for n more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  byte(b: number): void {
    this.room(1)
    this.buf[this.pos++] = b
  }

  /** Raw bytes (constant JSON fragments: keys, `{"ev":"A","sym":"SPY"`). */
  bytes(b: Uint8Array): void {
    const n = b.length
    this.room(n)
    const buf = this.buf
    let p = this.pos
    if (n < 48) for (let i = 0; i < n; i++) buf[p++] = b[i]!
    else {
      buf.set(b, p)
      p += n
    }
    this.pos = p
  }

  /** `key` (a constant fragment such as `,"v":`) then the number. */
  field(key: Uint8Array, x: number): void {
    this.bytes(key)
    this.num(x)
  }

  /**
   * `,"s":S,"e":E}`: the window of an aggregate and its end.
   * Kept from the last call: events are built second by second, so a second's events share it.
   */
  window(start: number, end: number): void {
    if (!(start >= 0 && end >= 0 && Number.isSafeInteger(start) && Number.isSafeInteger(end))) {
      this.field(S_KEY, start)
      this.field(E_KEY, end)
      this.byte(CLOSE_BRACE)
      return
    }
    if (start !== this.windowStart || end !== this.windowEnd) {
      let p = copyInto(this.windowBytes, 0, S_KEY)
      p = writeUint(this.windowBytes, p, start)
      p = copyInto(this.windowBytes, p, E_KEY)
      p = writeUint(this.windowBytes, p, end)
      this.windowBytes[p++] = CLOSE_BRACE
      this.windowLength = p
      this.windowStart = start
      this.windowEnd = end
    }
    this.room(this.windowLength)
    this.pos = copyInto(this.buf, this.pos, this.windowBytes, this.windowLength)
  }
  private windowStart = NaN
  private windowEnd = NaN
  private windowLength = 0
  private readonly windowBytes = new Uint8Array(48)

  /** A number as JSON.stringify writes it. */
  num(x: number): void {
    this.room(32)
    const buf = this.buf
    let p = this.pos
    const a = x < 0 ? -x : x
    if (a === Math.floor(a) && a < MAX_EXACT) {
      // integers, also -0 (JSON.stringify(-0) === "0")
      if (x < 0) buf[p++] = MINUS
      this.pos = writeUint(buf, p, a)
      return
    }
    if (a < 1e9) {
      const cents = Math.round(a * 100)
      if (cents / 100 === a) {
        if (x < 0) buf[p++] = MINUS
        const int = Math.floor(cents / 100)
        const frac = (cents - int * 100) | 0
        p = writeUint(buf, p, int)
        buf[p++] = DOT
        const tens = (frac / 10) | 0
        buf[p++] = ZERO + tens
        if (frac !== tens * 10) buf[p++] = ZERO + frac - tens * 10
        this.pos = p
        return
      }
      const units = Math.round(a * 10_000)
      if (units / 10_000 === a) {
        if (x < 0) buf[p++] = MINUS
        const int = Math.floor(units / 10_000)
        let frac = (units - int * 10_000) | 0
        p = writeUint(buf, p, int)
        buf[p++] = DOT
        for (let scale = 1000; frac > 0; scale = (scale / 10) | 0) {
          const d = (frac / scale) | 0
          buf[p++] = ZERO + d
          frac -= d * scale
        }
        this.pos = p
        return
      }
    }
    this.ascii(Number.isFinite(x) ? String(x) : "null")
  }

  /** A string of code units < 128 (number texts). */
  private ascii(s: string): void {
    this.room(s.length)
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i)
  }

  /** A copy of bytes [from, pos). */
  copyFrom(from: number): Buffer {
    const out = Buffer.allocUnsafeSlow(this.pos - from)
    this.buf.copy(out, 0, from, this.pos)
    return out
  }

  /** Bytes [from, pos) as a string. */
  text(from: number): string {
    return this.buf.toString("utf8", from, this.pos)
  }
}

/** A constant JSON fragment as bytes (UTF-8). */
export const fragment = (s: string): Uint8Array => Buffer.from(s, "utf8")

/** Copy the first `length` bytes of `from` to `to` at p; returns the end. */
const copyInto = (to: Uint8Array, p: number, from: Uint8Array, length = from.length): number => {
  for (let i = 0; i < length; i++) to[p++] = from[i]!
  return p
}

/** Digits of an integer 0 ≤ n < 2^53 at p; returns the end. */
const writeUint = (buf: Uint8Array, p: number, n: number): number => {
  if (n < 2_147_483_648) return writeSmall(buf, p, n | 0)
  const high = Math.floor(n / 1e8)
  let low = (n - high * 1e8) | 0
  p = writeSmall(buf, p, high)
  for (let i = p + 7; i >= p; i--) {
    const q = (low / 10) | 0
    buf[i] = ZERO + low - q * 10
    low = q
  }
  return p + 8
}

/** Digits of an int32 n ≥ 0 at p; returns the end. */
const writeSmall = (buf: Uint8Array, p: number, n: number): number => {
  if (n < 10) {
    buf[p] = ZERO + n
    return p + 1
  }
  let digits = 2
  for (let limit = 100; n >= limit && digits < 10; limit *= 10) digits++
  const end = p + digits
  for (let i = end - 1; i >= p; i--) {
    const q = (n / 10) | 0
    buf[i] = ZERO + n - q * 10
    n = q
  }
  return end
}
