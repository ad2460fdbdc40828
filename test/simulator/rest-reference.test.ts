import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import type { WireArticle, WireContract } from "../../src/simulator/MarketData.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { frozenClock, getUrl, NOW, restHelpers, SEED } from "./rest-helpers.js"

let sim: RunningSimulator
const { get, getAll, between } = restHelpers(() => sim)

beforeAll(async () => {
  sim = await startSimulator({ seed: SEED, clock: frozenClock(NOW), extendedHours: false })
})
afterAll(() => sim.close())

describe("options contracts", () => {
  const today = "2025-01-08"
  it("defaults as_of to simulated today and pages with limit 1000 through the whole chain", async () => {
    const { pages, results } = await getAll("/v3/reference/options/contracts?underlying_ticker=SPY&limit=1000")
    expect(results).toEqual(sim.market.contracts(today))
    expect(pages.length).toBe(2)
  })

  it("applies filters, sort and order; the cursor keeps them", async () => {
    const chain = sim.market.contracts(today)
    const { results } = await getAll(
      `/v3/reference/options/contracts?contract_type=call&expiration_date.gte=2025-01-09&expiration_date.lt=2025-01-13&strike_price.gte=560&strike_price.lte=600&sort=strike_price&order=desc&limit=25`
    )
    const expected = chain
      .filter(
        (c) =>
          c.contract_type === "call" &&
          c.expiration_date >= "2025-01-09" &&
          c.expiration_date < "2025-01-13" &&
          c.strike_price >= 560 &&
          c.strike_price <= 600
      )
      .sort((a, b) => a.strike_price - b.strike_price)
      .reverse()
    expect(results).toEqual(expected)
    const exact = await get(
      "/v3/reference/options/contracts?expiration_date=2025-01-10&strike_price=580&as_of=2025-01-08"
    )
    expect(exact.body.results.map((c: WireContract) => c.ticker)).toEqual([
      "O:SPY250110C00580000",
      "O:SPY250110P00580000"
    ])
    expect((await get("/v3/reference/options/contracts?underlying_ticker=XYZ")).body.results).toEqual([])
  })

  it("returns one contract as an object, and 404 for an unknown one", async () => {
    const contract = sim.market.contracts(today)[10]!
    const one = await get(`/v3/reference/options/contracts/${encodeURIComponent(contract.ticker)}`)
    expect(one.body).toEqual({ results: contract, status: "OK", request_id: one.headers.get("x-request-id") })
    const missing = await get("/v3/reference/options/contracts/O%3ASPY250110C09990000")
    expect(missing.status).toBe(404)
    expect(missing.body.status).toBe("NOT_FOUND")
  })
})

describe("news", () => {
  it("filters by ticker and published_utc range across dates, paging in both orders", async () => {
    const lo = Date.parse("2025-01-02T00:00:00Z"),
      hi = Date.parse("2025-01-04T00:00:00Z") - 1
    const expected = between(lo, hi, ["2025-01-01", "2025-01-02", "2025-01-03"]).filter((a) =>
      a.tickers.includes("SPY")
    )
    const asc = await getAll(
      "/v2/reference/news?ticker=SPY&published_utc.gte=2025-01-02&published_utc.lt=2025-01-04&order=asc&limit=7"
    )
    expect(asc.results).toEqual(expected)
    expect(asc.pages.map((p) => p.count)).toEqual(asc.pages.map((p) => p.results.length))
    const desc = await getAll(
      "/v2/reference/news?ticker=SPY&published_utc.gte=2025-01-02T00:00:00Z&published_utc.lte=2025-01-03T23:59:59Z&limit=9"
    )
    expect(desc.results).toEqual(expected.slice().reverse())
    const byMs = await getAll(
      `/v2/reference/news?published_utc.gt=${lo - 1}&published_utc.lte=${hi}&order=asc&limit=1000`
    )
    expect(byMs.results).toEqual(between(lo, hi, ["2025-01-01", "2025-01-02", "2025-01-03"]))
  })

  it("defaults to the latest articles up to simulated now, newest first", async () => {
    const reply = await get("/v2/reference/news?limit=5")
    const expected = between(NOW - 30 * 86_400_000, NOW, ["2025-01-07", "2025-01-08"])
      .reverse()
      .slice(0, 5)
    expect(reply.body.results).toEqual(expected)
    const exact = await get(`/v2/reference/news?published_utc=${expected[0]!.published_utc}`)
    expect(exact.body.results.map((a: WireArticle) => a.published_utc)).toEqual(
      expected.filter((a) => a.published_utc === expected[0]!.published_utc).map((a) => a.published_utc)
    )
  })
})

describe("market status", () => {
  it("lists upcoming holidays from simulated today as NYSE and NASDAQ rows", async () => {
    const reply = await get("/v1/marketstatus/upcoming")
    const expected = [...nyseHolidays(2025), ...nyseHolidays(2026)]
      .filter((h) => h.date >= "2025-01-08")
      .flatMap((h) => ["NYSE", "NASDAQ"].map((exchange) => ({ exchange, ...h })))
    expect(reply.body).toEqual(expected)
    expect(reply.body.find((r: any) => r.date === "2025-11-28")).toMatchObject({
      status: "early-close",
      open: "2025-11-28T14:30:00.000Z",
      close: "2025-11-28T18:00:00.000Z"
    })
  })

  it("reports open, extended hours and closed from the simulated clock", async () => {
    const cases: Array<[number, string, boolean, boolean, string]> = [
      [NOW, "open", false, false, "2025-01-08T10:00:00-05:00"],
      [nyTimeMs("2025-01-08", 8), "extended-hours", true, false, "2025-01-08T08:00:00-05:00"],
      [nyTimeMs("2025-07-03", 14), "extended-hours", false, true, "2025-07-03T14:00:00-04:00"],
      [nyTimeMs("2025-01-04", 12), "closed", false, false, "2025-01-04T12:00:00-05:00"]
    ]
    for (const [ms, market, earlyHours, afterHours, serverTime] of cases) {
      const s = await startSimulator({ seed: SEED, clock: frozenClock(ms), extendedHours: false })
      try {
        const reply = await getUrl(`${s.url}/v1/marketstatus/now?apiKey=k`)
        expect(reply.body).toMatchObject({
          market,
          earlyHours,
          afterHours,
          serverTime,
          exchanges: { nyse: market, nasdaq: market }
        })
        expect(Object.keys(reply.body).sort()).toEqual([
          "afterHours",
          "currencies",
          "earlyHours",
          "exchanges",
          "market",
          "serverTime"
        ])
      } finally {
        await s.close()
      }
    }
  })
})
