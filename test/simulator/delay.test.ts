/**
 * `simulate --delay-s N` (SimulatorOptions.delayS): the WebSocket sends a window N simulated
 * seconds after it ends, and REST aggregates serve only bars that ended N seconds ago. The clock
 * is moved by hand (it stands still between moves), so every check is an exact set.
 */
import { afterEach, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg } from "../../src/simulator/MarketData.js"
import type { SimClock } from "../../src/simulator/SimClock.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { getUrl, withKey } from "./rest-helpers.js"
import { authed, type Recorder } from "./ws-helpers.js"

const SEED = 11
const DATE = "2025-10-28"
const DELAY_S = 900
const market = makeSyntheticMarket(SEED)

/** A simulated clock that shows `at` until it is moved. */
const handClock = (startMs: number) => {
  let at = startMs
  const clock: SimClock = { startMs, speed: 1, now: () => at }
  return { clock, set: (ms: number) => void (at = ms) }
}

const sims: Array<RunningSimulator> = []
const clients: Array<Recorder> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate()
  for (const s of sims.splice(0)) await s.close()
})

const start = async (nowMs: number, delayS: number) => {
  const hand = handClock(nowMs)
  const sim = await startSimulator({ seed: SEED, market, clock: hand.clock, delayS })
  sims.push(sim)
  return { sim, set: hand.set }
}

const keysOf = (bars: ReadonlyArray<{ t: number }>, ticker: string) => bars.map((b) => `${ticker}|${b.t}`)

describe("simulator --delay-s", () => {
  it("a WebSocket subscriber at simulated time T receives exactly the bars with end <= T - delay", async () => {
    const T0 = nyTimeMs(DATE, 10),
      T1 = nyTimeMs(DATE, 10, 2)
    const { sim, set } = await start(T0, DELAY_S)
    const spy = await authed(`${sim.wsUrl}/stocks`, "A.SPY")
    const vix = await authed(`${sim.wsUrl}/indices`, "A.I:VIX")
    clients.push(spy, vix)
    // the replay's cursor is the feed's time: the bars of 09:45:00 are next, whatever the wall clock says
    expect(sim.ws.nowMs()).toBe(T0 - DELAY_S * 1000)
    set(T1)
    const lo = T0 - DELAY_S * 1000,
      hi = T1 - DELAY_S * 1000 // window ends in (lo, hi]
    const expected = (ticker: string) =>
      keysOf(
        market.secondBars(ticker, DATE).filter((b) => b.t >= lo && b.t + 1000 <= hi),
        ticker
      )
    const lastOf = (ticker: string) =>
      market
        .secondBars(ticker, DATE)
        .filter((b) => b.t + 1000 <= hi)
        .at(-1)!.t
    await spy.until(() => spy.reached("A", lastOf("SPY")))
    await vix.until(() => vix.reached("A", lastOf("I:VIX")))
    expect(sim.ws.nowMs()).toBe(hi)
    const got = (r: Recorder) => r.events("A").map((e) => `${e["sym"]}|${e["s"]}`)
    expect(got(spy)).toEqual(expected("SPY"))
    expect(got(vix)).toEqual(expected("I:VIX"))
    // 09:45:00-09:46:59 of SPY: the same values as the real-time feed sends
    const first = market.secondBars("SPY", DATE).find((b) => b.t >= lo) as WireAgg
    expect(spy.events("A")[0]).toMatchObject({
      sym: "SPY",
      s: first.t,
      e: first.t + 1000,
      o: first.o,
      c: first.c,
      h: first.h,
      l: first.l,
      v: first.v
    })
  })

  it("REST aggregates of today stop at now - delay (complete bars); earlier days are whole", async () => {
    const now = nyTimeMs(DATE, 15, 7, 30)
    const { sim } = await start(now, DELAY_S)
    const cut = now - DELAY_S * 1000 // 14:52:30
    const aggs = async (ticker: string, span: string, date = DATE) => {
      const r = await getUrl(
        withKey(`${sim.url}/v2/aggs/ticker/${ticker}/range/1/${span}/${date}/${date}?limit=50000&sort=asc`)
      )
      expect(r.status).toBe(200)
      expect(r.body.next_url).toBeUndefined()
      return ((r.body.results ?? []) as Array<{ t: number }>).map((b) => `${ticker}|${b.t}`)
    }
    // the simulator serves extended hours by default: pre-market bars of today are there, up to the cut
    const full = (ticker: string, date = DATE) => market.extendedSecondBars!(ticker, date)
    for (const ticker of ["SPY", "I:VIX"]) {
      expect(await aggs(ticker, "second")).toEqual(
        keysOf(
          full(ticker).filter((b) => b.t + 1000 <= cut),
          ticker
        )
      )
      const minutes = new Set(full(ticker).map((b) => b.t - (b.t % 60_000)))
      expect(await aggs(ticker, "minute")).toEqual(
        [...minutes].filter((t) => t + 60_000 <= cut).map((t) => `${ticker}|${t}`)
      )
      expect(await aggs(ticker, "second", "2025-10-27")).toEqual(keysOf(full(ticker, "2025-10-27"), ticker))
      // today's day bar is not complete: not served
      expect(await aggs(ticker, "day")).toEqual([])
    }
    // the last served second bar of SPY ends exactly at the cut or before it, and the next one after it
    const served = await aggs("SPY", "second")
    const last = Number(served.at(-1)!.split("|")[1])
    const next = full("SPY").find((b) => b.t > last)!
    expect(last + 1000 <= cut && next.t + 1000 > cut).toBe(true)
  })

  it("without a delay, REST serves today's whole day as before", async () => {
    const { sim } = await start(nyTimeMs(DATE, 10), 0)
    const r = await getUrl(withKey(`${sim.url}/v2/aggs/ticker/SPY/range/1/second/${DATE}/${DATE}?limit=50000`))
    expect(((r.body.results ?? []) as Array<{ t: number }>).map((b) => `SPY|${b.t}`)).toEqual(
      keysOf(market.extendedSecondBars!("SPY", DATE), "SPY")
    )
  })
})
