/**
 * WebSocket wire events (§10.3 of polygon-wire.md) derived from MarketData's second bars, so
 * that every per-second `A` event equals the REST second bar field by field
 * (o, h, l, c, v, vw and `s` = REST `t`).
 *
 * Derived fields: `av` = the day's volume through this window, `op` = the day's first bar `o`,
 * `a` = the day's VWAP through this window (Σ vw·v / Σ v, 4 decimals), `z` = round(v / n),
 * `e` = s + 1000 (A) or s + 60000 (AM). `AM` aggregates the minute's second bars
 * (vw volume-weighted, 4 decimals). Index `V`: val = the second bar's close, t = its `s`.
 *
 * Each TickerDay also writes its events as JSON bytes (`series(ev).write`), byte for byte what
 * `JSON.stringify` makes of the event objects (same keys in the same order), each with the
 * window end at which the replay sends it (A and V: s + 1000; AM: s + 60000). A bar is found by
 * its exact window start `t`.
 */
import type { MarketData, WireAgg, WireIndexAgg } from "../MarketData.js"
import { ByteWriter, fragment } from "./byteWriter.js"

export type Cluster = "stocks" | "options" | "indices"

export interface AggEvent {
  readonly ev: "A" | "AM"
  readonly sym: string
  readonly v: number
  readonly av: number
  readonly op: number
  readonly vw: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly a: number
  readonly z: number
  readonly s: number
  readonly e: number
}

export interface IndexAggEvent {
  readonly ev: "A" | "AM"
  readonly sym: string
  readonly op: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly s: number
  readonly e: number
}

export interface ValueEvent {
  readonly ev: "V"
  readonly val: number
  readonly T: string
  readonly t: number
}

export type WireEvent = AggEvent | IndexAggEvent | ValueEvent

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4
const isVolumeBar = (b: WireAgg | WireIndexAgg): b is WireAgg => "v" in b

/** One event type of a ticker-day, in time order. */
export interface EventSeries {
  readonly count: number
  /** Window end at which event i is sent (ascending in i). */
  readonly sendAt: (i: number) => number
  /** Append event i's JSON to `w`. */
  readonly write: (i: number, w: ByteWriter) => void
  /** Event i's JSON text. */
  readonly json: (i: number) => string
}

export type EventType = "A" | "AM" | "V"

/** One ticker's events on one trading date, indexed by window start. */
export interface TickerDay {
  readonly second: (s: number) => WireEvent | undefined
  readonly minute: (s: number) => WireEvent | undefined
  readonly value: (s: number) => ValueEvent | undefined
  /** The JSON of `second(s)`. */
  readonly secondJson: (s: number) => string | undefined
  /** All events of a type (V: index tickers only, else empty). */
  readonly series: (ev: EventType) => EventSeries
}

const NO_SERIES: EventSeries = { count: 0, sendAt: () => NaN, write: () => {}, json: () => "" }
const EMPTY: TickerDay = {
  second: () => undefined, minute: () => undefined, value: () => undefined, secondJson: () => undefined, series: () => NO_SERIES
}

const K = {
  v: fragment(`,"v":`), av: fragment(`,"av":`), op: fragment(`,"op":`), vw: fragment(`,"vw":`), o: fragment(`,"o":`),
  c: fragment(`,"c":`), h: fragment(`,"h":`), l: fragment(`,"l":`), a: fragment(`,"a":`), z: fragment(`,"z":`),
  s: fragment(`,"s":`), e: fragment(`,"e":`), T: fragment(`,"T":`), t: fragment(`,"t":`), val: fragment(`{"ev":"V","val":`)
}
const CLOSE_BRACE = 125

/** An aggregate's JSON: `head` = `{"ev":"AM","sym":"X"`; volume fields only when the event has them. */
const writeAgg = (w: ByteWriter, head: Uint8Array, e: AggEvent | IndexAggEvent): void => {
  w.bytes(head)
  const volume = "v" in e
  if (volume) {
    w.field(K.v, e.v)
    w.field(K.av, e.av)
  }
  w.field(K.op, e.op)
  if (volume) w.field(K.vw, e.vw)
  w.field(K.o, e.o)
  w.field(K.c, e.c)
  w.field(K.h, e.h)
  w.field(K.l, e.l)
  if (volume) {
    w.field(K.a, e.a)
    w.field(K.z, e.z)
  }
  w.field(K.s, e.s)
  w.field(K.e, e.e)
  w.byte(CLOSE_BRACE)
}

const scratch = new ByteWriter(4096)
const textOf = (write: (i: number, w: ByteWriter) => void) => (i: number): string => {
  scratch.pos = 0
  write(i, scratch)
  return scratch.text(0)
}

const series = (count: number, sendAt: (i: number) => number, write: (i: number, w: ByteWriter) => void): EventSeries =>
  count === 0 ? NO_SERIES : { count, sendAt, write, json: textOf(write) }

export const buildTickerDay = (sym: string, bars: ReadonlyArray<WireAgg | WireIndexAgg>): TickerDay => {
  if (bars.length === 0) return EMPTY
  const indexOf = (s: number): number => {
    let lo = 0, hi = bars.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const t = bars[mid]!.t
      if (t === s) return mid
      if (t < s) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }
  const op = bars[0]!.o
  const index = !isVolumeBar(bars[0]!)
  const cumV = new Float64Array(index ? 0 : bars.length)
  const cumPV = new Float64Array(index ? 0 : bars.length)
  if (!index) {
    let v = 0, pv = 0
    for (let i = 0; i < bars.length; i++) {
      const bar = bars[i] as WireAgg
      v += bar.v
      pv += bar.vw * bar.v
      cumV[i] = v
      cumPV[i] = pv
    }
  }
  const dayVwap = (i: number, fallback: number) => (cumV[i]! > 0 ? round4(cumPV[i]! / cumV[i]!) : fallback)

  const secondAt = (i: number): WireEvent => {
    const b = bars[i]!
    if (!isVolumeBar(b)) return { ev: "A", sym, op, o: b.o, c: b.c, h: b.h, l: b.l, s: b.t, e: b.t + 1000 }
    return {
      ev: "A", sym, v: b.v, av: cumV[i]!, op, vw: b.vw, o: b.o, c: b.c, h: b.h, l: b.l,
      a: dayVwap(i, b.vw), z: b.n > 0 ? Math.round(b.v / b.n) : 0, s: b.t, e: b.t + 1000
    }
  }

  let minuteList: ReadonlyArray<AggEvent | IndexAggEvent> | undefined
  let minuteIndex: ReadonlyMap<number, AggEvent | IndexAggEvent> | undefined
  const minutes = (): ReadonlyArray<AggEvent | IndexAggEvent> => {
    if (minuteList !== undefined) return minuteList
    const list: Array<AggEvent | IndexAggEvent> = []
    for (let i = 0; i < bars.length; ) {
      const start = bars[i]!.t - (((bars[i]!.t % 60_000) + 60_000) % 60_000)
      let j = i
      let h = -Infinity, l = Infinity, v = 0, pv = 0, n = 0
      while (j < bars.length && bars[j]!.t < start + 60_000) {
        const b = bars[j]!
        h = Math.max(h, b.h)
        l = Math.min(l, b.l)
        if (isVolumeBar(b)) {
          v += b.v
          pv += b.vw * b.v
          n += b.n
        }
        j++
      }
      const o = bars[i]!.o, c = bars[j - 1]!.c
      list.push(
        index
          ? { ev: "AM", sym, op, o, c, h, l, s: start, e: start + 60_000 }
          : {
              ev: "AM", sym, v, av: cumV[j - 1]!, op, vw: v > 0 ? round4(pv / v) : c, o, c, h, l,
              a: dayVwap(j - 1, c), z: n > 0 ? Math.round(v / n) : 0, s: start, e: start + 60_000
            }
      )
      i = j
    }
    minuteIndex = new Map(list.map((m) => [m.s, m]))
    return (minuteList = list)
  }

  const symJson = fragment(JSON.stringify(sym))
  const headA = Buffer.concat([fragment(`{"ev":"A","sym":`), symJson])
  const headAM = Buffer.concat([fragment(`{"ev":"AM","sym":`), symJson])
  const writeSecond = (i: number, w: ByteWriter): void => {
    const b = bars[i]!
    const volume = isVolumeBar(b)
    w.bytes(headA)
    if (volume) {
      w.field(K.v, b.v)
      w.field(K.av, cumV[i]!)
    }
    w.field(K.op, op)
    if (volume) w.field(K.vw, b.vw)
    w.field(K.o, b.o)
    w.field(K.c, b.c)
    w.field(K.h, b.h)
    w.field(K.l, b.l)
    if (volume) {
      w.field(K.a, dayVwap(i, b.vw))
      w.field(K.z, b.n > 0 ? Math.round(b.v / b.n) : 0)
    }
    w.field(K.s, b.t)
    w.field(K.e, b.t + 1000)
    w.byte(CLOSE_BRACE)
  }
  const writeValue = (i: number, w: ByteWriter): void => {
    w.field(K.val, bars[i]!.c)
    w.bytes(K.T)
    w.bytes(symJson)
    w.field(K.t, bars[i]!.t)
    w.byte(CLOSE_BRACE)
  }
  const seconds = series(bars.length, (i) => bars[i]!.t + 1000, writeSecond)
  const values = index ? series(bars.length, (i) => bars[i]!.t + 1000, writeValue) : NO_SERIES
  let minuteSeries: EventSeries | undefined
  const secondJson = textOf(writeSecond)
  return {
    second: (s) => {
      const i = indexOf(s)
      return i < 0 ? undefined : secondAt(i)
    },
    minute: (s) => (minutes(), minuteIndex!.get(s)),
    value: (s) => {
      const i = index ? indexOf(s) : -1
      return i < 0 ? undefined : { ev: "V", val: bars[i]!.c, T: sym, t: bars[i]!.t }
    },
    secondJson: (s) => {
      const i = indexOf(s)
      return i < 0 ? undefined : secondJson(i)
    },
    series: (ev) => {
      if (ev === "A") return seconds
      if (ev === "V") return values
      const list = minutes()
      return (minuteSeries ??= series(list.length, (i) => list[i]!.s + 60_000, (i, w) => writeAgg(w, headAM, list[i]!)))
    }
  }
}

/**
 * TickerDays built on demand from a MarketData. The replay moves forward in time, so the cache
 * holds two dates only (the replayed one and the next one, which the replay may build ahead),
 * at most `capacity` tickers each.
 */
export const makeEventSource = (market: MarketData, capacity = 4096) => {
  const byDate = new Map<string, Map<string, TickerDay>>()
  const has = (sym: string, date: string): boolean => byDate.get(date)?.has(sym) ?? false
  return {
    has,
    day: (sym: string, date: string): TickerDay => {
      let days = byDate.get(date)
      if (days === undefined) {
        if (byDate.size >= 2) {
          const [oldest] = [...byDate.keys()].sort()
          byDate.delete(oldest!)
        }
        byDate.set(date, (days = new Map()))
      }
      if (days.size >= capacity) days.clear()
      let d = days.get(sym)
      if (d === undefined) days.set(sym, (d = buildTickerDay(sym, market.secondBars(sym, date))))
      return d
    }
  }
}
export type EventSource = ReturnType<typeof makeEventSource>
