/**
 * A strict reader of JSON text held as UTF-8 bytes, for hot paths that pull a few known shapes
 * out of large bodies without building objects. Every method consumes one well-formed token
 * (RFC 8259 grammar) or reports failure: it never accepts text that `JSON.parse` rejects, and
 * every number it returns is the double `JSON.parse` gives for the same text. Callers treat a
 * failure as "not the shape I expected" and fall back to `JSON.parse`, which then decides.
 */

/** 10^0 … 10^22: every one is an exact double. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`))
const MAX_SAFE = Number.MAX_SAFE_INTEGER
const latin1 = (buf: Uint8Array, from: number, to: number): string =>
  Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString("latin1")
const utf8 = new TextDecoder()

/** The value read by the last `plainDecimal` (a typed array: no boxed double per call). */
export const plainDecimalValue = new Float64Array(1)

/**
 * The compact fast paths' number: a plain JSON decimal at `p` (optional `-`, digits, optional
 * fraction; no exponent, mantissa ≤ 2^53, ≤ 22 fraction digits), exactly the double `JSON.parse`
 * gives, left in `plainDecimalValue[0]`. Returns the position after the number, or -1 for anything
 * else (the caller then falls back to a general reader).
 */
export const plainDecimal = (b: Uint8Array, p: number): number => {
  let c = b[p]!
  const neg = c === 45
  if (neg) c = b[++p]!
  let m = 0
  if (c === 48) c = b[++p]!
  else if (c >= 49 && c <= 57) {
    do {
      m = m * 10 + (c - 48)
      c = b[++p]!
    } while (c >= 48 && c <= 57)
  } else return -1
  let scale = 0
  if (c === 46) {
    c = b[++p]!
    if (!(c >= 48 && c <= 57)) return -1
    do {
      m = m * 10 + (c - 48)
      scale++
      c = b[++p]!
    } while (c >= 48 && c <= 57)
  }
  if (c === 101 || c === 69 || m > MAX_SAFE || scale > 22) return -1
  plainDecimalValue[0] = scale === 0 ? (neg ? -m : m) : neg ? -(m / POW10[scale]!) : m / POW10[scale]!
  return p
}

/** A key of one or two ASCII letters as one small integer (`b0 | b1 << 8`). */
export const keyCode = (key: string): number => key.charCodeAt(0) | (key.length > 1 ? key.charCodeAt(1) << 8 : 0)

export class JsonBytes {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  /** Skips whitespace; returns the next byte (not consumed) or -1 at the end. */
  peek(): number {
    const b = this.buf
    let p = this.pos
    while (p < b.length) {
      const c = b[p]!
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break
      p++
    }
    this.pos = p
    return p < b.length ? b[p]! : -1
  }

  /** Consumes `byte` after optional whitespace. */
  eat(byte: number): boolean {
    if (this.peek() !== byte) return false
    this.pos++
    return true
  }

  /** True when only whitespace is left. */
  atEnd(): boolean {
    return this.peek() === -1
  }

  /**
   * A number token as `JSON.parse` reads it, or NaN when the next token is not a number.
   * Exact fast path: an integer mantissa below 2^53 scaled by 10^k with |k| <= 22 is one
   * correctly rounded IEEE operation on two exact doubles; anything else goes through `Number`.
   */
  number(): number {
    if (this.peek() < 0) return NaN
    const b = this.buf
    let p = this.pos
    const start = p
    const neg = b[p] === 45
    if (neg) p++
    let m = 0
    let c = b[p]
    if (c === 48) p++
    else if (c !== undefined && c >= 49 && c <= 57) {
      do {
        m = m * 10 + (c - 48)
        c = b[++p]
      } while (c !== undefined && c >= 48 && c <= 57)
    } else return NaN
    let scale = 0
    if (b[p] === 46) {
      c = b[++p]
      if (c === undefined || c < 48 || c > 57) return NaN
      do {
        m = m * 10 + (c - 48)
        scale++
        c = b[++p]
      } while (c !== undefined && c >= 48 && c <= 57)
    }
    let exp = 0
    if (b[p] === 101 || b[p] === 69) {
      c = b[++p]
      const eneg = c === 45
      if (c === 45 || c === 43) c = b[++p]
      if (c === undefined || c < 48 || c > 57) return NaN
      do {
        if (exp < 100_000) exp = exp * 10 + (c - 48)
        c = b[++p]
      } while (c !== undefined && c >= 48 && c <= 57)
      if (eneg) exp = -exp
    }
    this.pos = p
    const k = exp - scale
    if (m <= MAX_SAFE) {
      if (k === 0) return neg ? -m : m
      if (k < 0 && k >= -22) return neg ? -(m / POW10[-k]!) : m / POW10[-k]!
      if (k > 0 && k <= 22) return neg ? -(m * POW10[k]!) : m * POW10[k]!
    }
    return Number(latin1(b, start, p))
  }

  /**
   * Consumes a string token; returns the byte just past its closing quote, or -1 when malformed.
   * `escaped` tells whether it held a backslash or a non-ASCII byte (so it is not its raw bytes).
   */
  private skipString(): number {
    const b = this.buf
    let p = this.pos
    if (b[p] !== 34) return -1
    p++
    this.escaped = false
    for (;;) {
      const c = b[p]
      if (c === undefined || c < 32) return -1
      if (c === 34) break
      if (c === 92) {
        this.escaped = true
        const e = b[p + 1]
        if (e === 117) {
          for (let i = 2; i < 6; i++) {
            const h = b[p + i]
            if (h === undefined || !((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return -1
          }
          p += 6
        } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116)
          p += 2
        else return -1
      } else {
        if (c >= 128) this.escaped = true
        p++
      }
    }
    return p + 1
  }
  private escaped = false

  /** A string token decoded as `JSON.parse` would, or undefined when malformed. */
  string(): string | undefined {
    if (this.peek() !== 34) return undefined
    const start = this.pos
    const end = this.skipString()
    if (end < 0) return undefined
    this.pos = end
    return this.escaped
      ? (JSON.parse(utf8.decode(this.buf.subarray(start, end))) as string)
      : latin1(this.buf, start + 1, end - 1)
  }

  /**
   * An object key of one or two plain ASCII characters as `keyCode` gives it, consuming the key
   * and its colon; -1 for any other key (or malformed text), which callers treat as "unexpected".
   */
  shortKey(): number {
    if (this.peek() !== 34) return -1
    const start = this.pos
    const end = this.skipString()
    if (end < 0 || this.escaped) return -1
    const len = end - start - 2
    if (len < 1 || len > 3) return -1
    this.pos = end
    if (!this.eat(58)) return -1
    const b = this.buf
    return len === 3
      ? b[start + 1]! | (b[start + 2]! << 8) | (b[start + 3]! << 16)
      : b[start + 1]! | (len === 2 ? b[start + 2]! << 8 : 0)
  }

  /** `true` / `false` as 1 / 0; -1 when the next token is not a boolean. */
  boolean(): number {
    const b = this.buf
    const p = this.peek() === -1 ? -1 : this.pos
    if (p >= 0 && b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101)
      return ((this.pos = p + 4), 1)
    if (p >= 0 && b[p] === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101)
      return ((this.pos = p + 5), 0)
    return -1
  }

  /** The literal `null`. */
  nullLiteral(): boolean {
    const b = this.buf
    if (this.peek() !== 110) return false
    const p = this.pos
    if (b[p + 1] !== 117 || b[p + 2] !== 108 || b[p + 3] !== 108) return false
    this.pos = p + 4
    return true
  }

  /** Skips any well-formed value (nesting up to `depth`); false when malformed. */
  skipValue(depth = 64): boolean {
    const c = this.peek()
    if (c === 34) {
      const end = this.skipString()
      return end >= 0 && ((this.pos = end), true)
    }
    if (c === 123 || c === 91) {
      if (depth === 0) return false
      this.pos++
      const close = c === 123 ? 125 : 93
      if (this.eat(close)) return true
      for (;;) {
        if (c === 123 && (this.string() === undefined || !this.eat(58))) return false
        if (!this.skipValue(depth - 1)) return false
        if (this.eat(close)) return true
        if (!this.eat(44)) return false
      }
    }
    if (c === 116 || c === 102) return this.boolean() >= 0
    if (c === 110) return this.nullLiteral()
    return !Number.isNaN(this.number())
  }
}
