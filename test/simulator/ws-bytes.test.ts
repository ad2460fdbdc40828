/**
 * The replay writes event JSON straight into bytes (byteWriter.ts, wireEvents.ts): the bytes
 * must be exactly what JSON.stringify makes of the event objects, for the synthetic market and
 * for the values a recorded lake can hold (fractional volumes, long decimals, huge numbers).
 */
import { describe, expect, it } from "vitest"
import type { WireAgg, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { ByteWriter } from "../../src/simulator/ws/byteWriter.js"
import { buildTickerDay, type EventType, type TickerDay } from "../../src/simulator/ws/events.js"

const text = (write: (w: ByteWriter) => void): string => {
  const w = new ByteWriter(16)
  write(w)
  return w.text(0)
}

/** Every event of a ticker-day: its JSON against JSON.stringify of its object. */
const expectDayMatches = (day: TickerDay, bars: ReadonlyArray<WireAgg | WireIndexAgg>) => {
  const objectOf = (ev: EventType, sendAt: number) =>
    ev === "A" ? day.second(sendAt - 1000) : ev === "V" ? day.value(sendAt - 1000) : day.minute(sendAt - 60_000)
  let n = 0
  for (const ev of ["A", "AM", "V"] as const) {
    const s = day.series(ev)
    const w = new ByteWriter(64)
    for (let i = 0; i < s.count; i++) {
      const expected = JSON.stringify(objectOf(ev, s.sendAt(i)))
      w.pos = 0
      s.write(i, w)
      if (w.text(0) !== expected || s.json(i) !== expected)
        expect({ ev, i, bytes: w.text(0), json: s.json(i) }).toEqual({ ev, i, bytes: expected, json: expected })
      n++
    }
  }
  expect(day.series("A").count).toBe(bars.length)
  return n
}

describe("event JSON as bytes", () => {
  it("numbers: the same text as JSON.stringify (integers, cents, 4 decimals, anything else, -0, NaN, ±Infinity)", () => {
    const special = [
      0,
      -0,
      1,
      -1,
      7,
      10,
      99,
      100,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32,
      1761658200000,
      2 ** 53 - 1,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 53),
      1e21,
      1.5e300,
      0.1,
      0.01,
      0.05,
      0.5,
      1.1,
      5.13,
      580.1,
      580.12,
      0.0001,
      0.0005,
      12.3456,
      999999999.99,
      999999999.9999,
      1e9 + 0.5,
      123456789.1234,
      1e-7,
      5e-324,
      1 / 3,
      Math.PI,
      -5.13,
      -0.0001,
      NaN,
      Infinity,
      -Infinity
    ]
    let seed = 42
    const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const random = Array.from({ length: 200_000 }, (_, i) => {
      const x = rnd()
      switch (i % 6) {
        case 0:
          return x * 1000
        case 1:
          return Math.round(x * 1e6) / 100
        case 2:
          return -Math.round(x * 1e8) / 1e4
        case 3:
          return x * 10 ** (x * 40 - 15)
        case 4:
          return Math.round(x * 1e4) / 1e3
        default:
          return Math.round(x * 2 ** 53)
      }
    })
    for (const x of [...special, ...random]) {
      const got = text((w) => w.num(x))
      if (got !== JSON.stringify(x)) expect([x, got]).toEqual([x, JSON.stringify(x)])
    }
    expect(text((w) => w.window(1761658200000, 1761658201000))).toBe(`,"s":1761658200000,"e":1761658201000}`)
    expect(text((w) => w.window(1.5, NaN))).toBe(`,"s":1.5,"e":null}`)
    expect(text((w) => (w.window(1000, 2000), w.window(1000, 2000), w.window(3000, 4000)))).toBe(
      `,"s":1000,"e":2000},"s":1000,"e":2000},"s":3000,"e":4000}`
    )
  })

  it("every event of a synthetic day (SPY, I:VIX, options near and far from the money)", () => {
    const market = makeSyntheticMarket(42)
    const date = "2025-10-28"
    const contracts = market.contracts(date)
    let n = 0
    for (const sym of ["SPY", "I:VIX", ...contracts.filter((_, i) => i % 97 === 0).map((c) => c.ticker)]) {
      const bars = market.secondBars(sym, date)
      n += expectDayMatches(buildTickerDay(sym, bars), bars)
    }
    expect(n).toBeGreaterThan(70_000)
  })

  it("lake-like bars: fractional volumes and prices with many decimals, no transactions, a unicode ticker", () => {
    const t0 = Date.UTC(2025, 9, 28, 13, 30)
    const bars: Array<WireAgg> = Array.from({ length: 300 }, (_, i) => ({
      v: i % 3 === 0 ? 100.5 + i / 7 : 100 + i,
      vw: 580 + i / 3,
      o: 580.123456 + i,
      c: 580.1 + i / 1000,
      h: 600.999999,
      l: 1e-7 * (i + 1),
      t: t0 + i * 1000,
      n: i % 4 === 0 ? 0 : i
    }))
    const index: Array<WireIndexAgg> = bars.map((b) => ({ o: b.o, c: b.c, h: b.h, l: b.l, t: b.t }))
    expectDayMatches(buildTickerDay("O:SPY251031C00580000", bars), bars)
    expectDayMatches(buildTickerDay('Ünïcødé"\\', bars), bars)
    expectDayMatches(buildTickerDay("I:VIX", index), index)
  })
})
