/**
 * Extended hours in the simulator: pre-market/after-hours bars around the regular session,
 * served by REST by default (as the real API) and switched off with `extendedHours: false`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { makeSimClock } from "../../src/simulator/SimClock.js"
import { frozenClock, NOW, restHelpers, SEED } from "./rest-helpers.js"
import { authed } from "./ws-helpers.js"

const market = makeSyntheticMarket(42)
const DAY = "2025-01-08"
const EARLY = "2025-11-28"
const full = (ticker: string, date: string) => market.extendedSecondBars!(ticker, date)

/** The ATM call of `date` expiring that day (the busiest contract). */
const atmCall = (date: string) => {
  const open = market.officialOpen(date)
  return market
    .contracts(date)
    .find((c) => c.expiration_date === date && c.contract_type === "call" && c.strike_price === Math.round(open))!
    .ticker
}

const perMinute = (bars: ReadonlyArray<{ t: number }>, lo: number, hi: number) =>
  bars.filter((b) => b.t >= lo && b.t < hi).length / ((hi - lo) / 60_000)

describe("SyntheticMarket extended hours", () => {
  it("keeps secondBars the regular session and wraps it, unchanged, in pre-market and after-hours bars", () => {
    for (const ticker of ["SPY", "I:VIX", atmCall(DAY)]) {
      const session = market.secondBars(ticker, DAY),
        day = full(ticker, DAY)
      const open = nyTimeMs(DAY, 9, 30),
        close = nyTimeMs(DAY, 16)
      const inside = day.filter((b) => b.t >= open && b.t < close)
      expect(inside).toEqual(session)
      expect(inside.every((b, i) => b === session[i])).toBe(true)
      expect(day.every((b, i) => b.t % 1000 === 0 && (i === 0 || b.t > day[i - 1]!.t))).toBe(true)
      expect(day.length).toBeGreaterThan(session.length)
    }
    // a second market with the same seed draws the same extended bars (deterministic, own streams)
    expect(makeSyntheticMarket(42).extendedSecondBars!("SPY", DAY)).toEqual(full("SPY", DAY))
  })

  it("SPY trades 04:00–20:00 ET, thinly outside 09:30–16:00", () => {
    const day = full("SPY", DAY) as ReadonlyArray<WireAgg>
    expect(day[0]!.t).toBeGreaterThanOrEqual(nyTimeMs(DAY, 4))
    expect(day[0]!.t).toBeLessThan(nyTimeMs(DAY, 4, 5))
    expect(day[day.length - 1]!.t).toBeLessThan(nyTimeMs(DAY, 20))
    expect(day[day.length - 1]!.t).toBeGreaterThan(nyTimeMs(DAY, 19, 55))
    const pre = perMinute(day, nyTimeMs(DAY, 4), nyTimeMs(DAY, 9, 30))
    const post = perMinute(day, nyTimeMs(DAY, 16), nyTimeMs(DAY, 20))
    const regular = perMinute(day, nyTimeMs(DAY, 9, 30), nyTimeMs(DAY, 16))
    for (const thin of [pre, post]) {
      expect(thin).toBeGreaterThan(1)
      expect(thin).toBeLessThan(regular / 10)
    }
    expect(
      day.every((b) => b.l <= Math.min(b.o, b.c) && b.h >= Math.max(b.o, b.c) && b.vw >= b.l && b.vw <= b.h && b.v >= 1)
    ).toBe(true)
  })

  it("options trade until 16:15, I:VIX has values 03:15–09:25 and 16:00–16:15 (UNCONFIRMED windows)", () => {
    const option = full(atmCall(DAY), DAY)
    const sixteen = nyTimeMs(DAY, 16)
    const after = option.filter((b) => b.t >= sixteen)
    expect(after.length).toBeGreaterThan(0)
    expect(after[after.length - 1]!.t).toBeLessThan(nyTimeMs(DAY, 16, 15))
    expect(option[0]!.t).toBeGreaterThanOrEqual(nyTimeMs(DAY, 9, 30))
    const vix = full("I:VIX", DAY)
    const open = nyTimeMs(DAY, 9, 30),
      close = nyTimeMs(DAY, 16)
    expect(vix[0]!.t).toBe(nyTimeMs(DAY, 3, 15))
    expect(vix.filter((b) => b.t < open).length).toBe(6 * 3600 + 10 * 60)
    expect(vix.filter((b) => b.t >= close).length).toBe(15 * 60)
    expect(vix[vix.length - 1]!.t).toBe(nyTimeMs(DAY, 16, 14, 59))
  })

  it("follows the early close (after-hours 13:00–17:00, options until 13:15) and is empty on closed days", () => {
    const spy = full("SPY", EARLY)
    const earlyClose = nyTimeMs(EARLY, 13)
    expect(spy.some((b) => b.t >= earlyClose)).toBe(true)
    expect(spy[spy.length - 1]!.t).toBeLessThan(nyTimeMs(EARLY, 17))
    const option = full(atmCall(EARLY), EARLY)
    expect(option[option.length - 1]!.t).toBeLessThan(nyTimeMs(EARLY, 13, 15))
    expect(option.some((b) => b.t >= earlyClose)).toBe(true)
    for (const ticker of ["SPY", "I:VIX"]) expect(full(ticker, "2025-12-25")).toEqual([])
  })
})

describe("REST with and without extended hours", () => {
  let extended: RunningSimulator, regular: RunningSimulator
  beforeAll(async () => {
    extended = await startSimulator({ seed: SEED, clock: frozenClock(NOW) })
    regular = await startSimulator({ seed: SEED, clock: frozenClock(NOW), extendedHours: false })
  })
  afterAll(async () => {
    await extended.close()
    await regular.close()
  })
  const onExtended = restHelpers(() => extended),
    onRegular = restHelpers(() => regular)

  it("serves the whole extended day by default and the session only with extendedHours: false", async () => {
    for (const ticker of ["SPY", "I:VIX"]) {
      const path = `/v2/aggs/ticker/${ticker}/range/1/second/${DAY}/${DAY}?limit=50000`
      expect((await onExtended.getAll(path)).results).toEqual(extended.market.extendedSecondBars!(ticker, DAY))
      expect((await onRegular.getAll(path)).results).toEqual(regular.market.secondBars(ticker, DAY))
    }
    const minutes = (await onExtended.getAll(`/v2/aggs/ticker/SPY/range/1/minute/${DAY}/${DAY}`)).results
    expect(minutes[0].t).toBeLessThan(nyTimeMs(DAY, 9, 30))
    expect(minutes[minutes.length - 1].t).toBeGreaterThanOrEqual(nyTimeMs(DAY, 16))
  })
})

describe("WebSocket with and without extended hours", () => {
  const PRE = nyTimeMs(DAY, 8),
    UNTIL = nyTimeMs(DAY, 8, 20)
  const stream = async (extendedHours: boolean, until: number) => {
    const sim = await startSimulator({ seed: SEED, clock: makeSimClock({ startMs: PRE, speed: "max" }), extendedHours })
    const r = await authed(`${sim.wsUrl}/stocks`, "A.SPY")
    await r.until(() => r.reached("A", until), 20_000)
    r.ws.close()
    await sim.close()
    return { sim, events: r.events("A") }
  }

  it("streams the pre-market bars at their time of day, `op` the regular open; without extended hours it waits for 09:30", async () => {
    const { sim, events } = await stream(true, UNTIL)
    const truth = sim.market.extendedSecondBars!("SPY", DAY).filter(
      (b) => b.t >= PRE && b.t < UNTIL
    ) as ReadonlyArray<WireAgg>
    expect(truth.length).toBeGreaterThan(20)
    const got = events.filter((e) => (e["s"] as number) < UNTIL)
    expect(got.map((e) => [e["s"], e["o"], e["h"], e["l"], e["c"], e["v"], e["vw"]])).toEqual(
      truth.map((b) => [b.t, b.o, b.h, b.l, b.c, b.v, b.vw])
    )
    expect(new Set(got.map((e) => e["op"]))).toEqual(new Set([makeSyntheticMarket(SEED).officialOpen(DAY)]))

    const regular = await stream(false, nyTimeMs(DAY, 9, 31))
    expect(regular.events[0]!["s"]).toBe(regular.sim.market.secondBars("SPY", DAY)[0]!.t)
  })
})
