/**
 * The universe over the wire: REST aggregates and WebSocket events of QQQ, IWM, I:SPX, I:NDX and
 * QQQ's options are the same bars; wildcards expand to the universe; the contracts endpoint lists
 * each underlying's chain; unknown tickers are empty; news answers per ticker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg, WireContract } from "../../src/simulator/MarketData.js"
import type { SimClock } from "../../src/simulator/SimClock.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { frozenClock, getUrl, restHelpers, withKey } from "./rest-helpers.js"
import { authed, type Recorder } from "./ws-helpers.js"

const SEED = 11
const DATE = "2025-10-28"
const T0 = nyTimeMs(DATE, 10),
  T1 = nyTimeMs(DATE, 10, 3)
const market = makeSyntheticMarket(SEED)
const open = market.officialOpen(DATE, "QQQ")
const qqqCall = market
  .contracts(DATE, "QQQ")
  .find((c) => c.expiration_date === "2025-10-29" && c.contract_type === "call" && c.strike_price === Math.round(open))!

const handClock = (startMs: number) => {
  let at = startMs
  const clock: SimClock = { startMs, speed: 1, now: () => at }
  return { clock, set: (ms: number) => void (at = ms) }
}

describe("WebSocket and REST agree for the universe's tickers", () => {
  const sims: Array<RunningSimulator> = []
  const clients: Array<Recorder> = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate()
    for (const s of sims.splice(0)) await s.close()
  })

  it("sends A/AM/V events equal to the REST second and minute bars, and wildcards cover the universe", async () => {
    const hand = handClock(T0)
    const sim = await startSimulator({ seed: SEED, market, clock: hand.clock })
    sims.push(sim)
    const stocks = await authed(`${sim.wsUrl}/stocks`, "A.QQQ,AM.QQQ,A.IWM")
    const indices = await authed(`${sim.wsUrl}/indices`, "A.I:SPX,V.I:SPX,AM.I:NDX")
    const options = await authed(`${sim.wsUrl}/options`, `A.${qqqCall.ticker}`)
    const stocksAll = await authed(`${sim.wsUrl}/stocks`, "A.*")
    const indicesAll = await authed(`${sim.wsUrl}/indices`, "V.*")
    const optionsAll = await authed(`${sim.wsUrl}/options`, "A.*")
    clients.push(stocks, indices, options, stocksAll, indicesAll, optionsAll)
    hand.set(T1)
    // the last window start before T1 among the tickers: the replay has sent everything up to T1 then
    const lastOf = (...tickers: Array<string>) =>
      Math.max(
        ...tickers.map(
          (t) =>
            market
              .secondBars(t, DATE)
              .filter((b) => b.t + 1000 <= T1)
              .at(-1)!.t
        )
      )
    const minute = T1 - 60_000
    await stocks.until(() => stocks.reached("AM", minute) && stocks.reached("A", lastOf("QQQ", "IWM")), 30_000)
    await indices.until(() => indices.reached("V", lastOf("I:SPX")) && indices.reached("AM", minute), 30_000)
    await options.until(() => options.reached("A", lastOf(qqqCall.ticker)), 30_000)
    await stocksAll.until(() => stocksAll.reached("A", lastOf("SPY", "QQQ", "IWM")), 30_000)
    await indicesAll.until(() => indicesAll.reached("V", lastOf("I:SPX")), 30_000)
    await optionsAll.until(() => optionsAll.reached("A", T0 + 90_000), 60_000)

    const rest = async (ticker: string, span: "second" | "minute") => {
      const r = await getUrl(withKey(`${sim.url}/v2/aggs/ticker/${ticker}/range/1/${span}/${T0}/${T1 - 1}?limit=50000`))
      expect(r.status).toBe(200)
      return (r.body.results ?? []) as Array<WireAgg>
    }
    const ohlc = (e: Record<string, unknown>) => [e["s"], e["o"], e["h"], e["l"], e["c"], e["v"], e["vw"]]
    const barOhlc = (b: WireAgg) => [b.t, b.o, b.h, b.l, b.c, b.v, b.vw]
    const received = (r: Recorder, ev: string, sym: string) =>
      r.events(ev).filter((e) => e["sym"] === sym && (e["s"] as number) >= T0 && (e["s"] as number) < T1)

    for (const [r, sym] of [
      [stocks, "QQQ"],
      [stocks, "IWM"],
      [indices, "I:SPX"],
      [options, qqqCall.ticker]
    ] as const) {
      const bars = await rest(sym, "second")
      expect(bars.length).toBeGreaterThan(sym.startsWith("O:") ? 5 : 160)
      expect(received(r, "A", sym).map(ohlc)).toEqual(bars.map(barOhlc))
    }
    const qqqMinutes = await rest("QQQ", "minute")
    expect(qqqMinutes.length).toBe(3)
    expect(received(stocks, "AM", "QQQ").map(ohlc)).toEqual(qqqMinutes.map(barOhlc))
    const ndxMinutes = await rest("I:NDX", "minute")
    expect(received(indices, "AM", "I:NDX").map((e) => [e["s"], e["o"], e["c"]])).toEqual(
      ndxMinutes.map((b) => [b.t, b.o, b.c])
    )
    const spx = await rest("I:SPX", "second")
    const values = indices.events("V").filter((e) => (e["t"] as number) >= T0 && (e["t"] as number) < T1)
    expect(values.map((e) => [e["T"], e["t"], e["val"]])).toEqual(spx.map((b) => ["I:SPX", b.t, b.c]))

    const syms = (r: Recorder, ev: string, key = "sym") => new Set(r.events(ev).map((e) => e[key] as string))
    expect(syms(stocksAll, "A")).toEqual(new Set(["SPY", "QQQ", "IWM"]))
    expect(syms(indicesAll, "V", "T")).toEqual(new Set(["I:VIX", "I:SPX", "I:NDX", "I:RUT"]))
    const underlyings = new Set([...syms(optionsAll, "A")].map((t) => /^O:([A-Z]+)\d/.exec(t)![1]))
    expect(underlyings).toEqual(new Set(["SPY", "QQQ", "IWM"]))
    // the wildcard's QQQ contract gets the very events of the explicit subscription
    expect(
      optionsAll
        .events("A")
        .filter((e) => e["sym"] === qqqCall.ticker && (e["s"] as number) < T0 + 60_000)
        .map(ohlc)
    ).toEqual(
      options
        .events("A")
        .filter((e) => (e["s"] as number) < T0 + 60_000)
        .map(ohlc)
    )
  })
})

describe("REST reference data for the universe", () => {
  let sim: RunningSimulator
  const { get, getAll } = restHelpers(() => sim)
  const NOW = nyTimeMs(DATE, 12)
  beforeAll(async () => {
    sim = await startSimulator({ seed: SEED, market, clock: frozenClock(NOW), extendedHours: false })
  })
  afterAll(() => sim.close())

  it("lists each underlying's chain; without underlying_ticker every chain, by ticker", async () => {
    for (const u of ["SPY", "QQQ", "IWM"]) {
      const { results } = await getAll(`/v3/reference/options/contracts?underlying_ticker=${u}&limit=1000`)
      expect(results).toEqual(market.contracts(DATE, u))
    }
    const { results } = await getAll("/v3/reference/options/contracts?limit=1000")
    const all = ["IWM", "QQQ", "SPY"].flatMap((u) => market.contracts(DATE, u))
    expect((results as Array<WireContract>).map((c) => c.ticker)).toEqual(all.map((c) => c.ticker))
    const one = await get(`/v3/reference/options/contracts/${qqqCall.ticker}`)
    expect(one.status).toBe(200)
    expect(one.body.results).toEqual(qqqCall)
  })

  it("answers an unknown ticker with empty results, status OK", async () => {
    const contracts = await get("/v3/reference/options/contracts?underlying_ticker=XYZ")
    expect(contracts.status).toBe(200)
    expect(contracts.body).toMatchObject({ status: "OK", results: [] })
    for (const ticker of ["XYZ", "I:DJI", "O:XYZ251031C00100000"]) {
      const aggs = await get(`/v2/aggs/ticker/${ticker}/range/1/minute/${DATE}/${DATE}`)
      expect(aggs.status).toBe(200)
      expect(aggs.body).toMatchObject({ ticker, queryCount: 0, resultsCount: 0, status: "OK" })
      expect(aggs.body.results).toBeUndefined()
    }
    expect((await get("/v3/reference/options/contracts/O:XYZ251031C00100000")).status).toBe(404)
  })

  it("serves day bars of every stock and index of the universe", async () => {
    for (const ticker of ["SPY", "QQQ", "IWM", "I:VIX", "I:SPX", "I:NDX", "I:RUT"]) {
      const reply = await get(`/v2/aggs/ticker/${ticker}/range/1/day/2025-10-27/2025-10-27`)
      const session = market.secondBars(ticker, "2025-10-27")
      expect(reply.body.results).toHaveLength(1)
      expect(reply.body.results[0]).toMatchObject({ o: session[0]!.o, c: session.at(-1)!.c })
    }
  })

  it("answers news per ticker", async () => {
    const window = `published_utc.gte=2025-10-20T00:00:00Z&published_utc.lte=2025-10-28T00:00:00Z`
    const dates = ["2025-10-19", "2025-10-20", "2025-10-21", "2025-10-22", "2025-10-23", "2025-10-24"]
    for (const ticker of ["QQQ", "IWM"]) {
      const { results } = await getAll(`/v2/reference/news?ticker=${ticker}&${window}&limit=1000&order=asc`)
      expect(results.length).toBeGreaterThan(0)
      expect(results.every((a: { tickers: Array<string> }) => a.tickers.includes(ticker))).toBe(true)
      const expected = [...dates, "2025-10-25", "2025-10-26", "2025-10-27"]
        .flatMap((d) => market.news(d))
        .filter((a) => a.tickers.includes(ticker))
        .filter((a) => a.published_utc >= "2025-10-20T00:00:00Z" && a.published_utc <= "2025-10-28T00:00:00Z")
      expect(results.map((a: { id: string }) => a.id)).toEqual(expected.map((a) => a.id))
    }
  })
})
