import { describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import { parseOptionTicker } from "../../src/domain/tickers.js"
import type { WireAgg, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket, officialOpen } from "../../src/simulator/market/SyntheticMarket.js"

const market = makeSyntheticMarket(42)
const spy = (date: string) => market.secondBars("SPY", date) as ReadonlyArray<WireAgg>
const vix = (date: string) => market.secondBars("I:VIX", date) as ReadonlyArray<WireIndexAgg>
const isCents = (x: number) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-6
const DAY = "2025-01-08" // a plain Wednesday
const SESSION_SECONDS = 23_400

describe("SyntheticMarket determinism", () => {
  it("returns identical series for the same seed and different ones for another seed", () => {
    const again = makeSyntheticMarket(42)
    const other = makeSyntheticMarket(43)
    expect(again.secondBars("SPY", DAY)).toEqual(spy(DAY))
    expect(again.secondBars("I:VIX", DAY)).toEqual(vix(DAY))
    const option = market.contracts(DAY)[600]!.ticker
    expect(again.secondBars(option, DAY)).toEqual(market.secondBars(option, DAY))
    expect(again.contracts(DAY)).toEqual(market.contracts(DAY))
    expect(again.news(DAY)).toEqual(market.news(DAY))
    expect(other.secondBars("SPY", DAY)).not.toEqual(spy(DAY))
    expect(other.news(DAY).map((a) => a.id)).not.toEqual(market.news(DAY).map((a) => a.id))
  })
})

describe("SPY and VIX per-second bars", () => {
  it("stay inside the regular session, one bar per second at most, ~5% seconds missing", () => {
    const bars = spy(DAY)
    const open = nyTimeMs(DAY, 9, 30),
      close = nyTimeMs(DAY, 16)
    expect(bars[0]!.t).toBeGreaterThanOrEqual(open)
    expect(bars[bars.length - 1]!.t).toBeLessThan(close)
    expect(bars.every((b, i) => b.t % 1000 === 0 && (i === 0 || b.t - bars[i - 1]!.t >= 1000))).toBe(true)
    const missingShare = 1 - bars.length / SESSION_SECONDS
    expect(missingShare).toBeGreaterThan(0.035)
    expect(missingShare).toBeLessThan(0.065)
  })

  it("have consistent wire fields: cents prices, l ≤ o,c ≤ h, vw in [l,h], integer sizes", () => {
    for (const b of spy(DAY)) {
      const valid =
        [b.o, b.h, b.l, b.c].every(isCents) &&
        b.l <= Math.min(b.o, b.c) &&
        b.h >= Math.max(b.o, b.c) &&
        b.vw >= b.l &&
        b.vw <= b.h &&
        Number.isInteger(b.v) &&
        b.v >= 100 &&
        b.v <= 20_000 &&
        Number.isInteger(b.n) &&
        b.n >= 1 &&
        b.o > 450 &&
        b.o < 700
      if (!valid) expect(b).toBe("a valid bar")
    }
  })

  it("VIX has every session second, index fields only, values within 14–25", () => {
    const bars = vix(DAY)
    expect(bars.length).toBe(SESSION_SECONDS)
    expect(bars[0]!.t).toBe(nyTimeMs(DAY, 9, 30))
    expect(bars[bars.length - 1]!.t).toBe(nyTimeMs(DAY, 15, 59, 59))
    expect(Object.keys(bars[0]!).sort()).toEqual(["c", "h", "l", "o", "t"])
    expect(bars.every((b) => b.l >= 14 && b.h <= 25.01 && b.l <= Math.min(b.o, b.c) && b.h >= Math.max(b.o, b.c))).toBe(
      true
    )
  })

  it("VIX moves against SPY (negative correlation of per-minute changes)", () => {
    const lastPerMinute = (bars: ReadonlyArray<{ t: number; c: number }>) => {
      const m = new Map<number, number>()
      for (const b of bars) m.set(Math.floor(b.t / 60_000), b.c)
      return m
    }
    const s = lastPerMinute(spy(DAY)),
      v = lastPerMinute(vix(DAY))
    const minutes = [...s.keys()].filter((k) => v.has(k) && s.has(k - 1) && v.has(k - 1))
    const ds = minutes.map((k) => s.get(k)! - s.get(k - 1)!),
      dv = minutes.map((k) => v.get(k)! - v.get(k - 1)!)
    const mean = (xs: Array<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
    const ms = mean(ds),
      mv = mean(dv)
    const cov = mean(ds.map((x, i) => (x - ms) * (dv[i]! - mv)))
    const corr = cov / Math.sqrt(mean(ds.map((x) => (x - ms) ** 2)) * mean(dv.map((x) => (x - mv) ** 2)))
    expect(corr).toBeLessThan(-0.5)
  })

  it("ends at 13:00 on an early-close day", () => {
    const date = "2025-11-28"
    expect(vix(date).length).toBe(3.5 * 3600)
    expect(vix(date)[vix(date).length - 1]!.t).toBe(nyTimeMs(date, 12, 59, 59))
    expect(spy(date)[spy(date).length - 1]!.t).toBeLessThan(nyTimeMs(date, 13))
  })

  it("is empty on holidays, weekends and for unknown tickers", () => {
    for (const date of ["2025-12-25", "2025-01-04", "2025-01-05", "2025-07-04"]) {
      expect(spy(date)).toEqual([])
      expect(vix(date)).toEqual([])
    }
    expect(market.secondBars("XYZ", DAY)).toEqual([])
    expect(market.secondBars("I:DJI", DAY)).toEqual([])
    expect(market.secondBars("O:XYZ250110C00100000", DAY)).toEqual([])
  })

  it("officialOpen is the first bar's open, and the previous close on a closed day", () => {
    expect(officialOpen(market, DAY)).toBe(spy(DAY)[0]!.o)
    expect(market.officialOpen(DAY)).toBe(spy(DAY)[0]!.o)
    const friday = spy("2025-01-03")
    expect(market.officialOpen("2025-01-04")).toBe(friday[friday.length - 1]!.c)
    expect(officialOpen(market, "2025-01-04")).toBeUndefined()
  })
})

describe("option chain", () => {
  it("lists 5 daily expirations × $1 strikes from floor(open·0.9) to ceil(open·1.1) × call/put, sorted", () => {
    const open = spy(DAY)[0]!.o
    const low = Math.floor(open * 0.9),
      high = Math.ceil(open * 1.1)
    const chain = market.contracts(DAY)
    expect(chain.length).toBe(5 * (high - low + 1) * 2)
    expect([...new Set(chain.map((c) => c.expiration_date))].sort()).toEqual([
      "2025-01-08",
      "2025-01-09",
      "2025-01-10",
      "2025-01-13",
      "2025-01-14"
    ])
    const strikes = [...new Set(chain.map((c) => c.strike_price))].sort((a, b) => a - b)
    expect(strikes).toEqual(Array.from({ length: high - low + 1 }, (_, i) => low + i))
    expect(chain.map((c) => c.ticker)).toEqual(
      chain
        .map((c) => c.ticker)
        .slice()
        .sort()
    )
    for (const c of chain) {
      const parsed = parseOptionTicker(c.ticker)!
      expect(parsed).toEqual({
        underlying: "SPY",
        expiration: c.expiration_date,
        right: c.contract_type,
        strike: c.strike_price
      })
      expect([c.cfi, c.exercise_style, c.primary_exchange, c.shares_per_contract, c.underlying_ticker]).toEqual([
        "OCASPS",
        "american",
        "BATO",
        100,
        "SPY"
      ])
    }
  })

  it("skips the Christmas holiday in expirations and uses the previous close on a weekend", () => {
    expect([...new Set(market.contracts("2025-12-24").map((c) => c.expiration_date))].sort()).toEqual([
      "2025-12-24",
      "2025-12-26",
      "2025-12-29",
      "2025-12-30",
      "2025-12-31"
    ])
    const weekend = market.contracts("2025-01-04")
    expect([...new Set(weekend.map((c) => c.expiration_date))].sort()).toEqual([
      "2025-01-06",
      "2025-01-07",
      "2025-01-08",
      "2025-01-09",
      "2025-01-10"
    ])
    const close = market.officialOpen("2025-01-04")
    expect(Math.min(...weekend.map((c) => c.strike_price))).toBe(Math.floor(close * 0.9))
  })
})

describe("option per-second bars", () => {
  const open = spy(DAY)[0]!.o
  const atm = Math.round(open)
  const ticker = (strike: number, right: "C" | "P" = "C", exp = "250110") => `O:SPY${exp}${right}00${strike}000`

  it("trade more often near the money", () => {
    const counts = [0, 3, 8, 20].map((d) => market.secondBars(ticker(atm + d), DAY).length)
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeLessThan(counts[i - 1]!)
    expect(counts[0]! / SESSION_SECONDS).toBeGreaterThan(0.2)
    expect(counts[3]! / SESSION_SECONDS).toBeLessThan(0.02)
  })

  it("are priced at least at intrinsic value, in cents, with small integer sizes", () => {
    const spot = new Map(spy(DAY).map((b) => [b.t, b.c]))
    const strike = atm - 10
    const bars = market.secondBars(ticker(strike), DAY) as ReadonlyArray<WireAgg>
    for (const b of bars) {
      const s = spot.get(b.t)
      const valid =
        [b.o, b.h, b.l, b.c].every(isCents) &&
        b.l >= 0.01 &&
        b.l <= Math.min(b.o, b.c) &&
        b.h >= Math.max(b.o, b.c) &&
        b.vw >= b.l &&
        b.vw <= b.h &&
        Number.isInteger(b.v) &&
        b.v >= 1 &&
        b.v <= 50 &&
        Number.isInteger(b.n) &&
        b.n >= 1 &&
        (s === undefined || b.c >= s - strike - 0.02)
      if (!valid) expect({ b, s }).toBe("a valid option bar")
    }
  })

  it("are empty for unlisted, expired or malformed contracts", () => {
    expect(market.secondBars(ticker(atm, "C", "250107"), DAY)).toEqual([]) // expired the day before
    expect(market.secondBars(ticker(atm, "C", "250117"), DAY)).toEqual([]) // not yet listed
    expect(market.secondBars(ticker(Math.ceil(open * 1.1) + 5), DAY)).toEqual([]) // outside the strike range
    expect(market.secondBars("O:SPY250110C0058050", DAY)).toEqual([])
    expect(market.secondBars(ticker(atm, "C", "250103"), "2025-01-04")).toEqual([])
  })

  it("generates one contract-day in a few milliseconds", () => {
    const fresh = makeSyntheticMarket(42)
    fresh.secondBars("SPY", DAY)
    const started = performance.now()
    for (let k = 0; k < 10; k++) fresh.secondBars(ticker(atm + k, "P"), DAY)
    expect((performance.now() - started) / 10).toBeLessThan(40)
  })
})

describe("news", () => {
  const month = Array.from({ length: 31 }, (_, i) => `2025-01-${String(i + 1).padStart(2, "0")}`)

  it("publishes ~20 articles per weekday and fewer at weekends, 06:00–20:00 ET, sorted", () => {
    for (const date of month) {
      const articles = market.news(date)
      const weekend = [0, 6].includes(new Date(`${date}T12:00:00Z`).getUTCDay())
      expect(articles.length).toBeGreaterThanOrEqual(weekend ? 3 : 17)
      expect(articles.length).toBeLessThanOrEqual(weekend ? 8 : 23)
      const times = articles.map((a) => Date.parse(a.published_utc))
      expect(times).toEqual(times.slice().sort((a, b) => a - b))
      expect(times.every((t) => t >= nyTimeMs(date, 6) && t < nyTimeMs(date, 20))).toBe(true)
      expect(
        articles.every(
          (a) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(a.published_utc) && /^[0-9a-f]{64}$/.test(a.id)
        )
      ).toBe(true)
    }
  })

  it("tags ~85% with SPY, each with an SPY insight, and uses realistic punctuation", () => {
    const all = month.flatMap((d) => market.news(d))
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length)
    const tagged = all.filter((a) => a.tickers.includes("SPY"))
    expect(tagged.length / all.length).toBeGreaterThan(0.75)
    expect(tagged.length / all.length).toBeLessThan(0.95)
    expect(
      tagged.every((a) =>
        a.insights!.some((i) => i.ticker === "SPY" && ["positive", "neutral", "negative"].includes(i.sentiment))
      )
    ).toBe(true)
    expect(all.some((a) => /[“”‘’—≈]/.test(a.title))).toBe(true)
    expect(all.some((a) => a.title.includes("'"))).toBe(true)
    expect(
      all.every(
        (a) =>
          a.publisher.name &&
          a.publisher.homepage_url &&
          a.publisher.logo_url &&
          a.author &&
          a.article_url.startsWith("https://")
      )
    ).toBe(true)
  })
})

describe("holidays", () => {
  it("are the NYSE rules", () => {
    expect(market.holidays(2025)).toEqual(nyseHolidays(2025))
    expect(market.holidays(2026)).toEqual(nyseHolidays(2026))
  })
})
