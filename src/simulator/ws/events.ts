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
 * Each TickerDay also serves its events as JSON text (`series`): built from a string template
 * once per event on first use and cached (bars are immutable), byte for byte what
 * `JSON.stringify` makes of the event objects, each with the window end `e` at which the replay
 * sends it (A and V: s + 1000; AM: s + 60000).
 */
import type { MarketData, WireAgg, WireIndexAgg } from "../MarketData.js"

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

/** One event type of a ticker-day as JSON text, in time order. */
export interface EventSeries {
  readonly count: number
  /** Window end at which event i is sent. */
  readonly sendAt: (i: number) => number
  readonly json: (i: number) => string
}

export type EventType = "A" | "AM" | "V"

/** One ticker's events on one trading date, indexed by window start. */
export interface TickerDay {
  readonly second: (s: number) => WireEvent | undefined
  readonly minute: (s: number) => WireEvent | undefined
  readonly value: (s: number) => ValueEvent | undefined
  /** The JSON of `second(s)` (cached). */
  readonly secondJson: (s: number) => string | undefined
  /** All events of a type as JSON text (V: index tickers only, else empty). */
  readonly series: (ev: EventType) => EventSeries
}

const NO_SERIES: EventSeries = { count: 0, sendAt: () => NaN, json: () => "" }
const EMPTY: TickerDay = {
  second: () => undefined, minute: () => undefined, value: () => undefined, secondJson: () => undefined, series: () => NO_SERIES
}

/** A number as JSON.stringify writes it. */
const num = (x: number): string => (Number.isFinite(x) ? "" + x : "null")

export const buildTickerDay = (sym: string, bars: ReadonlyArray<WireAgg | WireIndexAgg>): TickerDay => {
  if (bars.length === 0) return EMPTY
  const first = bars[0]!.t
  const span = Math.floor((bars[bars.length - 1]!.t - first) / 1000) + 1
  const slot = new Int32Array(span).fill(-1) // second offset → bar index
  bars.forEach((b, i) => (slot[Math.floor((b.t - first) / 1000)] = i))
  const indexOf = (s: number): number => {
    const k = (s - first) / 1000
    return Number.isInteger(k) && k >= 0 && k < span ? slot[k]! : -1
  }
  const op = bars[0]!.o
  const index = !isVolumeBar(bars[0]!)
  const cumV = new Float64Array(bars.length)
  const cumPV = new Float64Array(bars.length)
  if (!index) {
    let v = 0, pv = 0
    bars.forEach((b, i) => {
      const bar = b as WireAgg
      v += bar.v
      pv += bar.vw * bar.v
      cumV[i] = v
      cumPV[i] = pv
    })
  }
  const dayVwap = (i: number, fallback: number) => (cumV[i]! > 0 ? round4(cumPV[i]! / cumV[i]!) : fallback)

  const second = (s: number): WireEvent | undefined => {
    const i = indexOf(s)
    if (i < 0) return undefined
    const b = bars[i]!
    if (!isVolumeBar(b)) return { ev: "A", sym, op, o: b.o, c: b.c, h: b.h, l: b.l, s: b.t, e: b.t + 1000 }
    return {
      ev: "A", sym, v: b.v, av: cumV[i]!, op, vw: b.vw, o: b.o, c: b.c, h: b.h, l: b.l,
      a: dayVwap(i, b.vw), z: b.n > 0 ? Math.round(b.v / b.n) : 0, s: b.t, e: b.t + 1000
    }
  }

  const minutes = new Map<number, AggEvent | IndexAggEvent>()
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
    minutes.set(
      start,
      index
        ? { ev: "AM", sym, op, o, c, h, l, s: start, e: start + 60_000 }
        : {
            ev: "AM", sym, v, av: cumV[j - 1]!, op, vw: v > 0 ? round4(pv / v) : c, o, c, h, l,
            a: dayVwap(j - 1, c), z: n > 0 ? Math.round(v / n) : 0, s: start, e: start + 60_000
          }
    )
    i = j
  }

  const value = (s: number): ValueEvent | undefined => {
    const i = index ? indexOf(s) : -1
    return i < 0 ? undefined : { ev: "V", val: bars[i]!.c, T: sym, t: bars[i]!.t }
  }

  const symJson = JSON.stringify(sym)
  const secondText = (i: number): string => {
    const b = bars[i]!
    if (!isVolumeBar(b))
      return `{"ev":"A","sym":${symJson},"op":${num(op)},"o":${num(b.o)},"c":${num(b.c)},"h":${num(b.h)},"l":${num(b.l)},"s":${num(b.t)},"e":${num(b.t + 1000)}}`
    return `{"ev":"A","sym":${symJson},"v":${num(b.v)},"av":${num(cumV[i]!)},"op":${num(op)},"vw":${num(b.vw)},"o":${num(b.o)},"c":${num(b.c)},` +
      `"h":${num(b.h)},"l":${num(b.l)},"a":${num(dayVwap(i, b.vw))},"z":${num(b.n > 0 ? Math.round(b.v / b.n) : 0)},"s":${num(b.t)},"e":${num(b.t + 1000)}}`
  }
  const cached = (count: number, text: (i: number) => string) => {
    const out = new Array<string | undefined>(count)
    return (i: number): string => out[i] ?? (out[i] = text(i))
  }
  const secondAt = cached(bars.length, secondText)
  const seconds: EventSeries = { count: bars.length, sendAt: (i) => bars[i]!.t + 1000, json: secondAt }
  const minuteList = [...minutes.values()]
  const minuteSeries: EventSeries = {
    count: minuteList.length,
    sendAt: (i) => minuteList[i]!.s + 60_000,
    json: cached(minuteList.length, (i) => JSON.stringify(minuteList[i]))
  }
  const valueSeries: EventSeries = !index
    ? NO_SERIES
    : {
        count: bars.length,
        sendAt: (i) => bars[i]!.t + 1000,
        json: cached(bars.length, (i) => `{"ev":"V","val":${num(bars[i]!.c)},"T":${symJson},"t":${num(bars[i]!.t)}}`)
      }
  return {
    second,
    minute: (s) => minutes.get(s),
    value,
    secondJson: (s) => {
      const i = indexOf(s)
      return i < 0 ? undefined : secondAt(i)
    },
    series: (ev) => (ev === "A" ? seconds : ev === "AM" ? minuteSeries : valueSeries)
  }
}

/**
 * TickerDays built on demand from a MarketData. The replay moves forward in time, so the cache
 * holds two dates only (the replayed one and the next one, which the replay may warm up ahead),
 * at most `capacity` tickers each.
 */
export const makeEventSource = (market: MarketData, capacity = 1024) => {
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
