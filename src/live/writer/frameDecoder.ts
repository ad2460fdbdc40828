/**
 * A WebSocket frame's bytes → the rows of its clean aggregate events, decoded straight into
 * columns (LiveColumns scratch rows), in one pass and without an object per event. An event is
 * clean when it is compact JSON with exactly the fields of the feed's `A`/`AM` event (`ev` equal
 * to the subscribed type, a plain ASCII `sym`, every number field once, `otc` optional), with
 * integer `s`/`e`, `h ≥ l`, `e ≥ s`, and a window start on the session's trading date: then
 * it is exactly the row the normalizer builds (wsRows.ts), without drift, quarantine or late
 * handling. Every other event (status, another type, drift, a null, whitespace, an exponent …)
 * is handed back parsed as an object, in order, for the object path to decide.
 *
 * The frame is checked whole before anything is applied: if its text is not a well-formed JSON
 * array (a torn or malformed frame), `decode` returns false and the caller treats the frame as
 * before (JSON.parse of the whole text, which then quarantines it).
 */
import type { FeedSchema } from "../../domain/feeds.js"
import { JsonBytes, plainDecimal, plainDecimalValue } from "../../lib/jsonBytes.js"
import type { SymbolTable } from "../../lib/symbolTable.js"
import { LiveColumns, SOURCE_WS } from "./liveColumns.js"

/** Event field → lake column (number fields of the `A`/`AM` events, polygon-wire.md §10.3). */
const AGG_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["s", "window_start_ms"],
  ["o", "open"],
  ["h", "high"],
  ["l", "low"],
  ["c", "close"],
  ["v", "volume"],
  ["vw", "vwap"],
  ["e", "window_end_ms"],
  ["av", "accumulated_volume"],
  ["op", "official_open"],
  ["a", "day_vwap"],
  ["z", "avg_trade_size"]
]
const INDEX_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["s", "window_start_ms"],
  ["o", "open"],
  ["h", "high"],
  ["l", "low"],
  ["c", "close"],
  ["e", "window_end_ms"],
  ["op", "official_open"]
]
/** Non-number fields; a field's bit in the `seen` mask: number field f → 1 << (f + 3), these → 1 << (−f − 2). */
const F_EV = -2,
  F_SYM = -3,
  F_OTC = -4
const OTC_BIT = 1 << 2

/** A decoded frame: rows in `rows` and parsed non-clean events in `objects`, interleaved as `order` says. */
export interface DecodedFrame {
  readonly rows: LiveColumns
  /** Per event in frame order: a row index of `rows` (≥ 0) or −(k + 1) for `objects[k]`. */
  readonly order: Array<number>
  readonly objects: Array<unknown>
}

export class FrameDecoder {
  readonly frame: DecodedFrame
  /** Field of a one-letter key (by char code) and of a two-letter key (by c0 << 7 | c1); −1: none. */
  private readonly one = new Int8Array(128).fill(-1)
  private readonly two = new Int8Array(128 * 128).fill(-1)
  private readonly slotOf: Int32Array
  /** Number columns no event field fills (NULL for a streamed row: `transactions`). */
  private readonly unset: ReadonlyArray<number>
  private readonly integer: Uint8Array
  private readonly required: number
  private readonly ev: Uint8Array
  private readonly sS: number
  private readonly sE: number
  private readonly sH: number
  private readonly sL: number
  private readonly sR: number
  private readonly hasOtc: boolean

  constructor(
    schema: FeedSchema,
    readonly symbols: SymbolTable,
    ev: "A" | "AM",
    /** The session's trading date in New York as [start, end) epoch ms. */
    private readonly dayStartMs: number,
    private readonly dayEndMs: number
  ) {
    const rows = new LiveColumns(schema, symbols)
    this.frame = { rows, order: [], objects: [] }
    const index = schema.feed === "vix"
    const list = index ? INDEX_FIELDS : AGG_FIELDS
    this.slotOf = new Int32Array(list.length)
    this.integer = new Uint8Array(list.length)
    const setKey = (key: string, f: number) => {
      if (key.length === 1) this.one[key.charCodeAt(0)] = f
      else this.two[(key.charCodeAt(0) << 7) | key.charCodeAt(1)] = f
    }
    list.forEach(([key, column], f) => {
      setKey(key, f)
      this.slotOf[f] = rows.numericNames.indexOf(column)
      this.integer[f] = key === "s" || key === "e" ? 1 : 0
    })
    setKey("ev", F_EV)
    this.hasOtc = !index
    // ev, sym and every number field (otc optional)
    this.required = ((1 << (list.length + 3)) - 1) & ~OTC_BIT
    const filled = new Set(list.map(([, column]) => column).concat("received_at_ms"))
    this.unset = rows.numericNames.flatMap((name, slot) => (filled.has(name) ? [] : [slot]))
    this.ev = Buffer.from(ev, "latin1")
    const slot = (column: string) => rows.numericNames.indexOf(column)
    this.sS = slot("window_start_ms")
    this.sE = slot("window_end_ms")
    this.sH = slot("high")
    this.sL = slot("low")
    this.sR = slot("received_at_ms")
  }

  /** Decode `buf[from … to)`; false when it is not a well-formed JSON array (nothing usable then). */
  decode(buf: Uint8Array, from: number, to: number, receivedMs: number): boolean {
    const { rows, order, objects } = this.frame
    rows.clear()
    order.length = 0
    objects.length = 0
    const b = buf.subarray(from, to)
    const r = new JsonBytes(b)
    if (!r.eat(91)) return false
    if (r.eat(93)) return r.atEnd()
    for (;;) {
      r.peek()
      const i = rows.reserve()
      const end = this.event(b, r.pos, i)
      if (end >= 0) {
        rows.numeric[this.sR]![i] = receivedMs
        rows.length = i + 1
        order.push(i)
        r.pos = end
      } else {
        const start = r.pos
        if (!r.skipValue()) return false
        let parsed: unknown
        try {
          parsed = JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, r.pos - start).toString("utf8"))
        } catch {
          return false
        }
        order.push(-objects.push(parsed))
      }
      if (b[r.pos] === 44) r.pos++
      else if (r.eat(44)) continue
      else if (r.eat(93)) break
      else return false
    }
    return r.atEnd()
  }

  /** One clean event at `p` into row `i`: the position after it, or −1 when it is not clean. */
  private event(b: Uint8Array, p: number, i: number): number {
    if (b[p] !== 123) return -1
    p++
    const rows = this.frame.rows
    const numeric = rows.numeric
    const one = this.one,
      two = this.two,
      slotOf = this.slotOf,
      integer = this.integer
    let seen = 0
    let otc = 0
    for (;;) {
      // A key of one to three plain letters: its field from the tables (−1: not a field of the event).
      if (b[p] !== 34) return -1
      const k0 = b[p + 1]!
      let f: number
      if (b[p + 2] === 34) {
        f = k0 < 128 ? one[k0]! : -1
        p += 3
      } else if (b[p + 3] === 34) {
        const k1 = b[p + 2]!
        f = k0 < 128 && k1 < 128 ? two[(k0 << 7) | k1]! : -1
        p += 4
      } else if (
        b[p + 4] === 34 &&
        ((k0 === 115 && b[p + 2] === 121 && b[p + 3] === 109) || (k0 === 111 && b[p + 2] === 116 && b[p + 3] === 99))
      ) {
        f = k0 === 115 ? F_SYM : this.hasOtc ? F_OTC : -1
        p += 5
      } else return -1
      if (f === -1 || b[p] !== 58) return -1
      p++
      const bit = f >= 0 ? 1 << (f + 3) : 1 << (-f - 2)
      if ((seen & bit) !== 0) return -1
      seen |= bit
      let c = b[p]!
      if (f >= 0) {
        p = plainDecimal(b, p)
        if (p < 0) return -1
        const x = plainDecimalValue[0]!
        if (integer[f] === 1 && !Number.isInteger(x)) return -1
        numeric[slotOf[f]!]![i] = x
        c = b[p]!
      } else if (f === F_OTC) {
        if (c === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) ((otc = 1), (p += 4))
        else if (c === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101)
          ((otc = 2), (p += 5))
        else return -1
        c = b[p]!
      } else {
        // ev or sym: a plain ASCII string (anything else, escapes included, is not clean).
        if (c !== 34) return -1
        const s0 = ++p
        while ((c = b[p]!) !== 34) {
          if (c < 32 || c >= 127 || c === 92) return -1
          p++
        }
        if (f === F_EV) {
          const ev = this.ev
          if (p - s0 !== ev.length) return -1
          for (let j = 0; j < ev.length; j++) if (b[s0 + j] !== ev[j]) return -1
        } else rows.ticker[i] = this.symbols.intern(b, s0, p)
        c = b[++p]!
      }
      if (c === 44) p++
      else if (c === 125) break
      else return -1
    }
    if (seen !== this.required && seen !== (this.required | OTC_BIT)) return -1
    const s = numeric[this.sS]![i]!
    if (
      numeric[this.sH]![i]! < numeric[this.sL]![i]! ||
      numeric[this.sE]![i]! < s ||
      s < this.dayStartMs ||
      s >= this.dayEndMs
    )
      return -1
    for (const slot of this.unset) numeric[slot]![i] = NaN
    rows.otc[i] = otc
    rows.source[i] = SOURCE_WS
    rows.extra[i] = 0
    return p + 1
  }
}
