/**
 * The synthetic market's universe (universe.ts): QQQ, IWM, I:SPX, I:NDX, I:RUT beside SPY and
 * I:VIX, each with its own path at a realistic level, QQQ's and IWM's options priced off their
 * own underlying, all deterministic.
 */
import { describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { parseOptionTicker } from "../../src/domain/tickers.js"
import { listedContracts, type WireAgg, type WireIndexAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"

const market = makeSyntheticMarket(42)
const DAY = "2025-01-08" // a plain Wednesday
const DATES = ["2025-01-08", "2025-03-14", "2025-06-02", "2025-10-28"]
const bars = (ticker: string, date = DAY) => market.secondBars(ticker, date) as ReadonlyArray<WireAgg>
const closes = (ticker: string, date = DAY) => bars(ticker, date).map((b) => b.c)

/** Deep equality of long series by their JSON (vitest's toEqual is slow on 20k-element arrays). */
const expectSame = (a: unknown, b: unknown) => expect(JSON.stringify(a) === JSON.stringify(b)).toBe(true)

/** Standard deviation of per-bar log returns. */
const returnSd = (xs: ReadonlyArray<number>): number => {
  const r = xs.slice(1).map((x, i) => Math.log(x / xs[i]!))
  return Math.sqrt(r.reduce((a, x) => a + x * x, 0) / r.length)
}

describe("the universe", () => {
  it("lists the stocks, indices and option underlyings", () => {
    expect(market.universe).toEqual({
      stocks: ["SPY", "QQQ", "IWM"],
      indices: ["I:VIX", "I:SPX", "I:NDX", "I:RUT"],
      optionUnderlyings: ["SPY", "QQQ", "IWM"]
    })
  })

  it("trades each stock at a realistic level, the indices at their ETF's multiple", () => {
    for (const date of DATES) {
      const spy = closes("SPY", date),
        qqq = closes("QQQ", date),
        iwm = closes("IWM", date)
      expect(Math.min(...qqq)).toBeGreaterThan(475)
      expect(Math.max(...qqq)).toBeLessThan(525)
      expect(Math.min(...iwm)).toBeGreaterThan(208)
      expect(Math.max(...iwm)).toBeLessThan(242)
      const last = (t: string) => bars(t, date).at(-1)!.c
      expect(last("I:SPX") / spy.at(-1)!).toBeCloseTo(10.03, 1)
      expect(last("I:NDX") / qqq.at(-1)!).toBeCloseTo(41, 0)
      expect(last("I:RUT") / iwm.at(-1)!).toBeCloseTo(10, 1)
    }
  })

  it("gives stocks SPY's session shape (a bar most seconds, volume fields) and indices a value every second", () => {
    const open = nyTimeMs(DAY, 9, 30),
      close = nyTimeMs(DAY, 16)
    for (const t of ["QQQ", "IWM"]) {
      const b = bars(t)
      expect(b[0]!.t).toBeGreaterThanOrEqual(open)
      expect(b.at(-1)!.t).toBeLessThan(close)
      expect(b.length / 23_400).toBeGreaterThan(0.93)
      expect(b.every((x) => x.l <= Math.min(x.o, x.c) && x.h >= Math.max(x.o, x.c) && x.v >= 100 && x.n >= 1)).toBe(
        true
      )
    }
    for (const t of ["I:SPX", "I:NDX", "I:RUT"]) {
      const b = market.secondBars(t, DAY) as ReadonlyArray<WireIndexAgg>
      expect(b.length).toBe(23_400)
      expect(Object.keys(b[0]!)).toEqual(["o", "c", "h", "l", "t"])
    }
    expect(market.secondBars("QQQ", "2025-01-04")).toEqual([])
    expect(market.secondBars("I:SPX", "2025-12-25")).toEqual([])
  })

  it("moves QQQ with SPY, a bit more; I:SPX with SPY", () => {
    const spy = returnSd(closes("SPY")),
      qqq = returnSd(closes("QQQ"))
    expect(qqq / spy).toBeGreaterThan(1.1)
    expect(qqq / spy).toBeLessThan(1.6)
    // minute returns of SPY and I:SPX are nearly the same series
    const minutes = (t: string) => bars(t).filter((_, i) => i % 60 === 0)
    const spyMinutes = minutes("SPY"),
      spxByT = new Map(bars("I:SPX").map((b) => [b.t, b.c]))
    const pairs = spyMinutes.filter((b) => spxByT.has(b.t)).map((b) => [b.c, spxByT.get(b.t)!] as const)
    const moves = pairs.slice(1).map(([s, x], i) => [s - pairs[i]![0], x - pairs[i]![1]] as const)
    const corr =
      moves.reduce((a, [s, x]) => a + s * x, 0) /
      Math.sqrt(moves.reduce((a, [s]) => a + s * s, 0) * moves.reduce((a, [, x]) => a + x * x, 0))
    expect(corr).toBeGreaterThan(0.9)
  })

  it("serves extended hours: stocks 04:00–20:00, indices as I:VIX", () => {
    const ext = market.extendedSecondBars!
    const [pre, open, close, post] = [nyTimeMs(DAY, 4), nyTimeMs(DAY, 9, 30), nyTimeMs(DAY, 16), nyTimeMs(DAY, 20)]
    for (const t of ["QQQ", "IWM"]) {
      const all = ext(t, DAY)
      expect(all[0]!.t).toBeGreaterThanOrEqual(pre)
      expect(all.at(-1)!.t).toBeLessThan(post)
      expect(all.filter((b) => b.t < open).length).toBeGreaterThan(100)
      expectSame(
        all.filter((b) => b.t >= open && b.t < close),
        bars(t)
      )
    }
    const vix = ext("I:VIX", DAY).map((b) => b.t)
    for (const t of ["I:SPX", "I:NDX", "I:RUT"])
      expectSame(
        ext(t, DAY).map((b) => b.t),
        vix
      )
  })
})

describe("each underlying's options", () => {
  it("list a chain around the underlying's open, unknown underlyings none", () => {
    for (const u of ["QQQ", "IWM"]) {
      const open = market.officialOpen(DAY, u)
      expect(open).toBe(bars(u)[0]!.o)
      const chain = market.contracts(DAY, u)
      expect(chain.length).toBeGreaterThan(400)
      expect(chain.every((c) => c.underlying_ticker === u && c.ticker.startsWith(`O:${u}`))).toBe(true)
      const strikes = chain.map((c) => c.strike_price)
      expect(Math.min(...strikes)).toBe(Math.floor(open * 0.9))
      expect(Math.max(...strikes)).toBe(Math.ceil(open * 1.1))
      expect(new Set(chain.map((c) => c.expiration_date))).toEqual(new Set(market.chainSpec(DAY).expirations))
    }
    expect(market.contracts(DAY)).toEqual(market.contracts(DAY, "SPY"))
    expect(market.contracts(DAY, "XYZ")).toEqual([])
    expect(listedContracts(market, DAY).length).toBe(
      ["SPY", "QQQ", "IWM"].reduce((n, u) => n + market.contracts(DAY, u).length, 0)
    )
  })

  it("price an ATM QQQ call off QQQ's spot (and not SPY's)", () => {
    const open = market.officialOpen(DAY, "QQQ")
    const chain = market.contracts(DAY, "QQQ").filter((c) => c.expiration_date === "2025-01-10")
    const atm = chain.find((c) => c.contract_type === "call" && c.strike_price === Math.round(open))!
    const deep = chain.find((c) => c.contract_type === "call" && c.strike_price === Math.round(open) - 30)!
    const first = bars(atm.ticker)[0]!
    // two days to expiry at ~24 vol points: time value of a few dollars, nothing near SPY's level
    expect(first.c).toBeGreaterThan(2)
    expect(first.c).toBeLessThan(12)
    // a deep in-the-money call is worth about its intrinsic value against QQQ
    const deepBars = bars(deep.ticker)
    const spotAt = new Map(bars("QQQ").map((b) => [b.t, b.c]))
    const matched = deepBars.filter((b) => spotAt.has(b.t)).slice(0, 50)
    expect(matched.length).toBeGreaterThan(0)
    for (const b of matched) expect(Math.abs(b.c - (spotAt.get(b.t)! - deep.strike_price))).toBeLessThan(3)
    // an unlisted strike or an unknown underlying trades nothing
    expect(market.secondBars("O:QQQ250110C00900000", DAY)).toEqual([])
    expect(market.secondBars("O:XYZ250110C00100000", DAY)).toEqual([])
    expect(parseOptionTicker(atm.ticker)?.underlying).toBe("QQQ")
  })

  it("trade after the close until close+15 min, as SPY's", () => {
    const open = market.officialOpen(DAY, "IWM")
    const atm = market
      .contracts(DAY, "IWM")
      .find((c) => c.expiration_date === "2025-01-10" && c.strike_price === Math.round(open))!
    const all = market.extendedSecondBars!(atm.ticker, DAY)
    const post = all.filter((b) => b.t >= nyTimeMs(DAY, 16))
    expect(post.length).toBeGreaterThan(0)
    expect(post.at(-1)!.t).toBeLessThan(nyTimeMs(DAY, 16, 15))
    expect(all.slice(0, all.length - post.length)).toEqual(bars(atm.ticker))
  })
})

describe("determinism", () => {
  it("two market instances give the same series; another seed another", () => {
    const again = makeSyntheticMarket(42),
      other = makeSyntheticMarket(43)
    // the second instance asks in another order: streams depend only on (seed, ticker, date)
    const option = market.contracts(DAY, "QQQ")[300]!.ticker
    expect(again.secondBars(option, DAY)).toEqual(market.secondBars(option, DAY))
    for (const t of ["I:RUT", "IWM", "I:NDX", "QQQ", "I:SPX"]) {
      expectSame(again.secondBars(t, DAY), market.secondBars(t, DAY))
      expectSame(again.extendedSecondBars!(t, DAY), market.extendedSecondBars!(t, DAY))
      expect(JSON.stringify(other.secondBars(t, DAY))).not.toBe(JSON.stringify(market.secondBars(t, DAY)))
    }
    expect(again.contracts(DAY, "IWM")).toEqual(market.contracts(DAY, "IWM"))
  })

  it("news tags QQQ and IWM too (most articles SPY)", () => {
    const articles = DATES.flatMap((d) => market.news(d))
    const tagged = (t: string) => articles.filter((a) => a.tickers.includes(t)).length
    expect(tagged("SPY") / articles.length).toBeGreaterThan(0.7)
    expect(tagged("QQQ")).toBeGreaterThan(0)
    expect(tagged("IWM")).toBeGreaterThan(0)
  })
})
