/**
 * REST aggregate pages decoded from their bytes straight into columns: no object per bar, no
 * boxed number per field. Only items of exactly the shape the normalizer's fast path accepts are
 * decoded here (all known fields, each once, of the right type, nothing else): such an item has
 * no drift and is never quarantined, and its row is the one `restAggRow` / `restIndexRow` builds.
 * Anything else in a page (an unknown, missing, null or mistyped field, an odd envelope, text
 * that is not JSON) makes `decodeAggPage` answer `undefined`, and the caller takes the
 * item-by-item path (`JSON.parse` + normalize.ts), which then decides drift and quarantine.
 */
import { JsonBytes, keyCode, plainDecimal, plainDecimalValue } from "../lib/jsonBytes.js"

/** `agg`: a stock or option bar (`v vw o c h l t n`, optional `otc`); `index`: an index value (`o c h l t`). */
export type AggShape = "agg" | "index"

/** Slot order of the columns. */
const T = 0,
  O = 1,
  H = 2,
  L = 3,
  C = 4,
  V = 5,
  VW = 6,
  N = 7
const SLOTS: Readonly<Record<AggShape, number>> = { agg: 8, index: 5 }
const K = {
  t: keyCode("t"),
  o: keyCode("o"),
  h: keyCode("h"),
  l: keyCode("l"),
  c: keyCode("c"),
  v: keyCode("v"),
  vw: keyCode("vw"),
  n: keyCode("n")
}
const K_OTC = 111 | (116 << 8) | (99 << 16)
const OTC_BIT = 1 << 8

export interface AggColumns {
  readonly shape: AggShape
  readonly length: number
  /** t, o, h, l, c and, for `agg`, v, vw, n: `length` values each. */
  readonly t: Float64Array
  readonly o: Float64Array
  readonly h: Float64Array
  readonly l: Float64Array
  readonly c: Float64Array
  readonly v: Float64Array
  readonly vw: Float64Array
  readonly n: Float64Array
  /** `otc` per row (1 true, 0 false, -1 absent), or undefined when no row had the field. */
  readonly otc: Int8Array | undefined
}

export class AggColumnsBuilder {
  length = 0
  private cols: Array<Float64Array>
  private otc: Int8Array | undefined

  constructor(
    readonly shape: AggShape,
    private capacity = 1024
  ) {
    this.cols = Array.from({ length: SLOTS[shape] }, () => new Float64Array(capacity))
  }

  /** Room for `n` more rows (a page announces its count before its results). */
  reserve(n: number): void {
    if (this.length + n > this.capacity) this.grow(this.length + n)
  }

  private grow(capacity = this.capacity * 2): void {
    this.capacity = capacity
    this.cols = this.cols.map((old) => {
      const col = new Float64Array(this.capacity)
      col.set(old)
      return col
    })
    if (this.otc !== undefined) this.otc = withOtc(this.otc, this.capacity)
  }

  /** Decodes one result item at the reader's position into row `length`; false if it is not of the clean shape. */
  item(r: JsonBytes): boolean {
    if (this.length === this.capacity) this.grow()
    const end = this.compact(r.buf, r.pos)
    if (end >= 0) {
      r.pos = end
      this.length++
      return true
    }
    return this.general(r)
  }

  /**
   * The common case, in one pass over the bytes: compact text (no whitespace, no escapes), the
   * one- and two-letter keys, plain decimals. Returns the position after the item, or -1 for
   * anything else (`otc`, exponents, long mantissas, spacing …), which `general` then reads.
   */
  private compact(b: Uint8Array, p: number): number {
    const i = this.length
    const cols = this.cols
    const agg = this.shape === "agg"
    if (b[p] !== 123) return -1
    p++
    let seen = 0
    for (;;) {
      if (b[p] !== 34) return -1
      const k0 = b[p + 1]!
      let slot: number
      if (b[p + 2] === 34) {
        p += 3
        slot =
          k0 === 116
            ? T
            : k0 === 111
              ? O
              : k0 === 104
                ? H
                : k0 === 108
                  ? L
                  : k0 === 99
                    ? C
                    : !agg
                      ? -1
                      : k0 === 118
                        ? V
                        : k0 === 110
                          ? N
                          : -1
      } else if (agg && k0 === 118 && b[p + 2] === 119 && b[p + 3] === 34) {
        p += 4
        slot = VW
      } else return -1
      if (slot < 0 || b[p] !== 58 || (seen & (1 << slot)) !== 0) return -1
      seen |= 1 << slot
      p = plainDecimal(b, p + 1)
      if (p < 0) return -1
      const x = plainDecimalValue[0]!
      if ((slot === T || slot === N) && !Number.isInteger(x)) return -1
      cols[slot]![i] = x
      const c = b[p]
      if (c === 44) p++
      else if (c === 125) break
      else return -1
    }
    return seen === (1 << cols.length) - 1 ? p + 1 : -1
  }

  private general(r: JsonBytes): boolean {
    const i = this.length
    const cols = this.cols
    const agg = this.shape === "agg"
    if (!r.eat(123)) return false
    let seen = 0
    for (;;) {
      const k = r.shortKey()
      let slot: number
      if (k === K.t) slot = T
      else if (k === K.o) slot = O
      else if (k === K.h) slot = H
      else if (k === K.l) slot = L
      else if (k === K.c) slot = C
      else if (agg && k === K.v) slot = V
      else if (agg && k === K.vw) slot = VW
      else if (agg && k === K.n) slot = N
      else if (agg && k === K_OTC) {
        if ((seen & OTC_BIT) !== 0) return false
        seen |= OTC_BIT
        const b = r.boolean()
        if (b < 0) return false
        ;(this.otc ??= withOtc(new Int8Array(0), this.capacity))[i] = b
        slot = -1
      } else return false
      if (slot >= 0) {
        if ((seen & (1 << slot)) !== 0) return false
        seen |= 1 << slot
        const x = r.number()
        if (x !== x || ((slot === T || slot === N) && !Number.isInteger(x))) return false
        cols[slot]![i] = x
      }
      if (r.eat(44)) continue
      if (r.eat(125)) break
      return false
    }
    if ((seen & 0xff) !== (1 << cols.length) - 1) return false
    this.length = i + 1
    return true
  }

  finish(): AggColumns {
    const n = this.length
    const col = (slot: number) => (slot < this.cols.length ? this.cols[slot]!.subarray(0, n) : new Float64Array(0))
    return {
      shape: this.shape,
      length: n,
      t: col(T),
      o: col(O),
      h: col(H),
      l: col(L),
      c: col(C),
      v: col(V),
      vw: col(VW),
      n: col(N),
      otc: this.otc?.subarray(0, n)
    }
  }
}

/** A copy of `otc` at `capacity` rows, new rows marked absent. */
const withOtc = (otc: Int8Array, capacity: number): Int8Array => {
  const out = new Int8Array(capacity).fill(-1)
  out.set(otc.subarray(0, Math.min(otc.length, capacity)))
  return out
}

const RESULTS = "results",
  NEXT_URL = "next_url",
  RESULTS_COUNT = "resultsCount"

/**
 * One page (`{…, "results": [items], …, "next_url": "…"}`) into `into`. Returns the page's
 * `next_url` (undefined on the last page), or undefined as a whole when anything is not the clean
 * shape; `into` may then hold part of the page and must be discarded.
 */
export const decodeAggPage = (
  body: Uint8Array,
  into: AggColumnsBuilder
): { readonly nextUrl: string | undefined } | undefined => {
  const r = new JsonBytes(body)
  if (!r.eat(123)) return undefined
  let nextUrl: string | undefined
  let sawResults = false,
    sawNext = false
  if (!r.eat(125)) {
    for (;;) {
      const key = r.string()
      if (key === undefined || !r.eat(58)) return undefined
      if (key === RESULTS) {
        if (sawResults) return undefined
        sawResults = true
        if (!r.nullLiteral()) {
          if (!r.eat(91)) return undefined
          if (!r.eat(93)) {
            do if (!into.item(r)) return undefined
            while (body[r.pos] === 44 ? ++r.pos > 0 : r.eat(44))
            if (!r.eat(93)) return undefined
          }
        }
      } else if (key === NEXT_URL) {
        if (sawNext) return undefined
        sawNext = true
        nextUrl = r.string()
        if (nextUrl === undefined) return undefined
      } else if (key === RESULTS_COUNT && !sawResults) {
        // a size hint only: any value is accepted (and skipped) as before
        const at = r.pos
        const n = r.number()
        if (Number.isInteger(n) && n > 0 && n <= 1_000_000) into.reserve(n)
        else if (((r.pos = at), !r.skipValue())) return undefined
      } else if (!r.skipValue()) return undefined
      if (r.eat(44)) continue
      if (r.eat(125)) break
      return undefined
    }
  }
  return r.atEnd() ? { nextUrl } : undefined
}
