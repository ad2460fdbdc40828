/**
 * The official `@polygon.io/client-js` 8.2.0 against the simulator, unchanged: every answer
 * must equal the simulator's own MarketData. With `{pagination: true}` the client merges pages
 * last-page-first (polygon-wire.md §5), so paginated results are compared after sorting.
 */
import { readFileSync } from "node:fs"
import {
  GetIndicesAggregatesSortEnum,
  GetIndicesAggregatesTimespanEnum,
  GetOptionsAggregatesSortEnum,
  GetOptionsAggregatesTimespanEnum,
  GetStocksAggregatesSortEnum,
  GetStocksAggregatesTimespanEnum,
  ListNewsOrderEnum,
  ListNewsSortEnum,
  ListOptionsContractsOrderEnum,
  ListOptionsContractsSortEnum,
  restClient
} from "@polygon.io/client-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import type { WireAgg, WireArticle } from "../../src/simulator/MarketData.js"
import { makeSimClock } from "../../src/simulator/SimClock.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"

const NOW = Date.parse("2025-01-08T15:00:00Z") // Wednesday 10:00 ET
const DAY = "2025-01-07"
const FIXTURES = "/work/shared/fixtures/polygon"
let sim: RunningSimulator
let paged: ReturnType<typeof restClient>
let plain: ReturnType<typeof restClient>

beforeAll(async () => {
  sim = await startSimulator({
    seed: 11,
    apiKey: "KEY8",
    clock: makeSimClock({ startMs: NOW, speed: 1e-9 }),
    extendedHours: false
  })
  paged = restClient("KEY8", sim.url, { pagination: true })
  plain = restClient("KEY8", sim.url)
})
afterAll(() => sim.close())

/** The client resolves to the JSON body although its types say AxiosPromise. */
const body = async (p: Promise<unknown>): Promise<any> => p
const byT = (a: { t: number }, b: { t: number }) => a.t - b.t
const fixture = (path: string) => JSON.parse(readFileSync(`${FIXTURES}/${path}`, "utf8"))
const keys = (o: object) => Object.keys(o).sort()

const minuteBars = (bars: ReadonlyArray<{ o: number; h: number; l: number; c: number; t: number }>) => {
  const groups = new Map<number, Array<(typeof bars)[number]>>()
  for (const b of bars) groups.set(b.t - (b.t % 60_000), [...(groups.get(b.t - (b.t % 60_000)) ?? []), b])
  return [...groups].map(([t, g]) => ({
    o: g[0]!.o,
    c: g[g.length - 1]!.c,
    h: Math.max(...g.map((b) => b.h)),
    l: Math.min(...g.map((b) => b.l)),
    t
  }))
}

describe("@polygon.io/client-js 8.2.0 against the simulator", () => {
  it("getStocksAggregates with pagination returns the whole second series", async () => {
    const reply = await body(
      paged.getStocksAggregates(
        "SPY",
        1,
        GetStocksAggregatesTimespanEnum.Second,
        DAY,
        DAY,
        true,
        GetStocksAggregatesSortEnum.Asc,
        5000
      )
    )
    const expected = sim.market.secondBars("SPY", DAY)
    expect(reply.results.length).toBe(expected.length)
    expect(reply.results.slice().sort(byT)).toEqual(expected)
    expect(reply.results[0]).toEqual(expected[expected.length - (expected.length % 5000 || 5000)]) // last page first
  })

  it("getIndicesAggregates returns minute bars of I:VIX", async () => {
    const reply = await body(
      plain.getIndicesAggregates(
        "I:VIX",
        1,
        GetIndicesAggregatesTimespanEnum.Minute,
        DAY,
        DAY,
        GetIndicesAggregatesSortEnum.Asc,
        50_000
      )
    )
    expect(reply.ticker).toBe("I:VIX")
    expect(reply.results).toEqual(minuteBars(sim.market.secondBars("I:VIX", DAY)))
  })

  it("getOptionsAggregates returns an option's second bars", async () => {
    const open = sim.market.secondBars("SPY", DAY)[0]!.o
    const ticker = `O:SPY250108P00${Math.round(open)}000`
    const reply = await body(
      paged.getOptionsAggregates(
        ticker,
        1,
        GetOptionsAggregatesTimespanEnum.Second,
        DAY,
        DAY,
        true,
        GetOptionsAggregatesSortEnum.Asc,
        1000
      )
    )
    const expected = sim.market.secondBars(ticker, DAY) as ReadonlyArray<WireAgg>
    expect(expected.length).toBeGreaterThan(1000)
    expect(reply.results.slice().sort(byT)).toEqual(expected)
  })

  it("listOptionsContracts with pagination returns the whole chain", async () => {
    const reply = await body(
      paged.listOptionsContracts(
        "SPY",
        undefined,
        undefined,
        undefined,
        DAY,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        ListOptionsContractsOrderEnum.Asc,
        1000,
        ListOptionsContractsSortEnum.Ticker
      )
    )
    const expected = sim.market.contracts(DAY)
    expect(reply.results.slice().sort((a: any, b: any) => (a.ticker < b.ticker ? -1 : 1))).toEqual(expected)
  })

  it("listNews with the options.params workaround for published_utc", async () => {
    const reply = await body(
      paged.listNews(
        "SPY",
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        ListNewsOrderEnum.Asc,
        10,
        ListNewsSortEnum.PublishedUtc,
        { params: { "published_utc.gte": "2025-01-06T00:00:00Z", "published_utc.lt": "2025-01-08T00:00:00Z" } }
      )
    )
    const lo = Date.parse("2025-01-06T00:00:00Z"),
      hi = Date.parse("2025-01-08T00:00:00Z")
    const expected = ["2025-01-05", "2025-01-06", "2025-01-07"]
      .flatMap((d) => sim.market.news(d))
      .filter((a) => a.tickers.includes("SPY") && Date.parse(a.published_utc) >= lo && Date.parse(a.published_utc) < hi)
    const sortKey = (a: WireArticle) => `${a.published_utc}|${a.id}`
    expect(reply.results.map(sortKey).sort()).toEqual(expected.map(sortKey).sort())
    expect(reply.results.slice().sort((a: WireArticle, b: WireArticle) => (sortKey(a) < sortKey(b) ? -1 : 1))).toEqual(
      expected.slice().sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
    )
  })

  it("getMarketHolidays and getMarketStatus", async () => {
    const holidays = await body(plain.getMarketHolidays())
    expect(holidays).toEqual(
      [...nyseHolidays(2025), ...nyseHolidays(2026)]
        .filter((h) => h.date >= "2025-01-08")
        .flatMap((h) => ["NYSE", "NASDAQ"].map((exchange) => ({ exchange, ...h })))
    )
    const status = await body(plain.getMarketStatus())
    expect(status).toEqual({
      market: "open",
      earlyHours: false,
      afterHours: false,
      serverTime: "2025-01-08T10:00:00-05:00",
      exchanges: { nyse: "open", nasdaq: "open", otc: "open" },
      currencies: { fx: "open", crypto: "open" }
    })
  })

  it("rejects a wrong key with the API's 401 body", async () => {
    const error = await restClient("WRONG", sim.url)
      .getMarketStatus()
      .catch((e: any) => e)
    expect(error.response.status).toBe(401)
    expect(error.response.data.error).toBe("Unknown API Key")
  })
})

describe("JSON shapes match the recorded fixtures", () => {
  it("aggregates, contracts, news and market status carry the fixtures' keys", async () => {
    const aggs = await body(plain.getStocksAggregates("SPY", 1, GetStocksAggregatesTimespanEnum.Day, DAY, DAY))
    const aggsFixture = fixture(
      "client-python/test_rest/mocks/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04.json"
    )
    expect(keys(aggs)).toEqual(keys(aggsFixture))
    expect(keys(aggs.results[0])).toEqual(keys(aggsFixture.results[0]))

    const contracts = await body(plain.listOptionsContracts("SPY", undefined, undefined, undefined, DAY))
    const contractsFixture = fixture("client-python/test_rest/mocks/v3/reference/options/contracts.json")
    expect(keys(contracts)).toEqual(keys(contractsFixture))
    expect(keys(contracts.results[0])).toEqual(keys(contractsFixture.results[0]))

    const one = await body(plain.getOptionsContract(contracts.results[0].ticker))
    expect(keys(one)).toEqual(
      keys(fixture("client-python/test_rest/mocks/v3/reference/options/contracts/OEVRI240119C00002500.json"))
    )

    const news = await body(
      plain.listNews(
        "SPY",
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        2
      )
    )
    const newsFixture = fixture("client-go/rest__reference_test.go__TestListTickerNews.json")
    expect(keys(news)).toEqual(keys(newsFixture))
    const article =
      news.results.find((a: WireArticle) => a.image_url !== undefined && a.amp_url === undefined) ?? news.results[0]
    expect(keys(newsFixture.results[0]).every((k) => k in article || k === "image_url")).toBe(true)
    expect(keys(article.publisher)).toEqual(
      keys(newsFixture.results[0].publisher).filter((k) => k in article.publisher)
    )
    expect(keys(article.insights[0])).toEqual(keys(newsFixture.results[0].insights[0]))

    const status = await body(plain.getMarketStatus())
    expect(keys(status)).toEqual(keys(fixture("client-go/rest__reference_test.go__TestGetMarketStatus.json")))
    const upcomingFixture: Array<any> = fixture("client-python/test_rest/mocks/v1/marketstatus/upcoming.json")
    const holidays: Array<any> = await body(plain.getMarketHolidays())
    expect(keys(holidays.find((h) => h.status === "closed"))).toEqual(
      keys(upcomingFixture.find((h) => h.status === "closed"))
    )
    expect(keys(holidays.find((h) => h.status === "early-close"))).toEqual(
      keys(upcomingFixture.find((h) => h.status === "early-close"))
    )
  })
})
