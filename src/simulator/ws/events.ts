/**
 * A ticker's WebSocket events on one trading date (TickerDay), derived from MarketData's second
 * bars, so that every per-second `A` event equals the REST second bar field by field
 * (o, h, l, c, v, vw and `s` = REST `t`).
 *
 * Derived fields: `av` = the day's volume through this window, `op` = the day's first bar `o`,
 * `a` = the day's VWAP through this window (Σ vw·v / Σ v, 4 decimals), `z` = round(v / n),
 * `e` = s + 1000 (A) or s + 60000 (AM); `AM`: minutes.ts. Index `V`: val = the second bar's
 * close, t = its `s`. A bar is found by its exact window start `t`.
 *
 * Each event type is also a series (`series(ev)`) that writes its events' JSON as bytes
 * (wireEvents.ts), each with the window end at which the replay sends it (A and V: s + 1000;
 * AM: s + 60000).
 */
import type { MarketData, WireAgg, WireIndexAgg } from "../MarketData.js"
import { ByteWriter } from "./byteWriter.js"
import { minuteEvents } from "./minutes.js"
import {
  type AggEvent,
  eventWriters,
  type EventType,
  type IndexAggEvent,
  isVolumeBar,
  round4,
  type ValueEvent,
  type WireEvent
} from "./wireEvents.js"

export type { AggEvent, Cluster, EventType, IndexAggEvent, ValueEvent, WireEvent } from "./wireEvents.js"

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
  second: () => undefined,
  minute: () => undefined,
  value: () => undefined,
  secondJson: () => undefined,
  series: () => NO_SERIES
}

const scratch = new ByteWriter(4096)
const textOf =
  (write: (i: number, w: ByteWriter) => void) =>
  (i: number): string => {
    scratch.pos = 0
    write(i, scratch)
    return scratch.text(0)
  }

const series = (
  count: number,
  sendAt: (i: number) => number,
  write: (i: number, w: ByteWriter) => void
): EventSeries => (count === 0 ? NO_SERIES : { count, sendAt, write, json: textOf(write) })

export const buildTickerDay = (
  sym: string,
  bars: ReadonlyArray<WireAgg | WireIndexAgg>,
  regularOpenMs = -Infinity
): TickerDay => {
  if (bars.length === 0) return EMPTY
  const indexOf = (s: number): number => {
    let lo = 0,
      hi = bars.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const t = bars[mid]!.t
      if (t === s) return mid
      if (t < s) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }
  // `op` is the official (regular) open: with extended hours the day's first bar is pre-market
  const op = (bars.find((b) => b.t >= regularOpenMs) ?? bars[0]!).o
  const index = !isVolumeBar(bars[0]!)
  const cumV = new Float64Array(index ? 0 : bars.length)
  const cumPV = new Float64Array(index ? 0 : bars.length)
  if (!index) {
    let v = 0,
      pv = 0
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
      ev: "A",
      sym,
      v: b.v,
      av: cumV[i]!,
      op,
      vw: b.vw,
      o: b.o,
      c: b.c,
      h: b.h,
      l: b.l,
      a: dayVwap(i, b.vw),
      z: b.n > 0 ? Math.round(b.v / b.n) : 0,
      s: b.t,
      e: b.t + 1000
    }
  }

  let minuteList: ReadonlyArray<AggEvent | IndexAggEvent> | undefined
  let minuteIndex: ReadonlyMap<number, AggEvent | IndexAggEvent> | undefined
  const minutes = (): ReadonlyArray<AggEvent | IndexAggEvent> => {
    if (minuteList === undefined) {
      minuteList = minuteEvents(sym, bars, index, { op, cumV, dayVwap })
      minuteIndex = new Map(minuteList.map((m) => [m.s, m]))
    }
    return minuteList
  }

  const write = eventWriters(sym, op)
  const writeSecond = index
    ? (i: number, w: ByteWriter): void => write.indexSecond(w, bars[i]!)
    : (i: number, w: ByteWriter): void => {
        const b = bars[i] as WireAgg
        write.volumeSecond(w, b, cumV[i]!, dayVwap(i, b.vw), b.n > 0 ? Math.round(b.v / b.n) : 0)
      }
  const writeValue = (i: number, w: ByteWriter): void => write.value(w, bars[i]!)
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
      return (minuteSeries ??= series(
        list.length,
        (i) => list[i]!.s + 60_000,
        (i, w) => write.minute(w, list[i]!)
      ))
    }
  }
}

/**
 * TickerDays built on demand from a MarketData. The replay moves forward in time, so the cache
 * holds two dates only (the replayed one and the next one, which the replay may build ahead),
 * at most `capacity` tickers each.
 */
export const makeEventSource = (
  market: MarketData,
  capacity = 4096,
  regularOpenOf: (date: string) => number = () => -Infinity
) => {
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
      if (d === undefined) days.set(sym, (d = buildTickerDay(sym, market.secondBars(sym, date), regularOpenOf(date))))
      return d
    }
  }
}
export type EventSource = ReturnType<typeof makeEventSource>
