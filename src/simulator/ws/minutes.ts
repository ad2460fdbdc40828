/**
 * `AM` events of a ticker-day: each minute with bars aggregates them (o first, c last, h max,
 * l min, v sum, vw volume-weighted to 4 decimals, z = round(v / Σn)); `av` and `a` are the day's
 * volume and VWAP through the minute's last bar. Indices carry no volume fields.
 */
import type { WireAgg, WireIndexAgg } from "../MarketData.js"
import { type AggEvent, type IndexAggEvent, isVolumeBar, round4 } from "./wireEvents.js"

export interface DayTotals {
  readonly op: number
  /** Day volume through bar i. */
  readonly cumV: Float64Array
  /** Day VWAP through bar i, or `fallback` without volume. */
  readonly dayVwap: (i: number, fallback: number) => number
}

export const minuteEvents = (
  sym: string,
  bars: ReadonlyArray<WireAgg | WireIndexAgg>,
  index: boolean,
  day: DayTotals
): Array<AggEvent | IndexAggEvent> => {
  const { op, cumV, dayVwap } = day
  const list: Array<AggEvent | IndexAggEvent> = []
  for (let i = 0; i < bars.length;) {
    const start = bars[i]!.t - (((bars[i]!.t % 60_000) + 60_000) % 60_000)
    let j = i
    let h = -Infinity,
      l = Infinity,
      v = 0,
      pv = 0,
      n = 0
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
    const o = bars[i]!.o,
      c = bars[j - 1]!.c
    list.push(
      index
        ? { ev: "AM", sym, op, o, c, h, l, s: start, e: start + 60_000 }
        : {
            ev: "AM",
            sym,
            v,
            av: cumV[j - 1]!,
            op,
            vw: v > 0 ? round4(pv / v) : c,
            o,
            c,
            h,
            l,
            a: dayVwap(j - 1, c),
            z: n > 0 ? Math.round(v / n) : 0,
            s: start,
            e: start + 60_000
          }
    )
    i = j
  }
  return list
}
