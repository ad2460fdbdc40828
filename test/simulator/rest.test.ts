import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyDateOf, nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg } from "../../src/simulator/MarketData.js"
import { faultFor, NO_FAULTS } from "../../src/simulator/rest/faults.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { frozenClock, getUrl, NOW, restHelpers, SEED } from "./rest-helpers.js"

let sim: RunningSimulator
const { get, getAll, between } = restHelpers(() => sim)

beforeAll(async () => {
  // REST mechanics against the regular series; extended hours are tested in extended-hours.test.ts
  sim = await startSimulator({ seed: SEED, clock: frozenClock(NOW), extendedHours: false })
})
afterAll(() => sim.close())
const spy = (date: string) => sim.market.secondBars("SPY", date) as ReadonlyArray<WireAgg>

describe("aggregates", () => {
  it("paginates second bars across days: the concatenation is exactly the market's series", async () => {
    const { pages, results } = await getAll("/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-03?limit=7000")
    const expected = [...spy("2025-01-02"), ...spy("2025-01-03")]
    expect(results).toEqual(expected)
    expect(pages.length).toBe(Math.ceil(expected.length / 7000))
    expect(pages.map((p) => p.resultsCount)).toEqual(pages.map((p) => p.results.length))
    expect(pages[0].ticker).toBe("SPY")
    expect(pages[0].adjusted).toBe(true)
    expect(pages[0].status).toBe("OK")
    expect(pages[0].request_id).toMatch(/^[0-9a-f]{32}$/)
  })

  it("paginates in descending order", async () => {
    const { results } = await getAll("/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-02?limit=9000&sort=desc")
    expect(results).toEqual(spy("2025-01-02").slice().reverse())
  })

  it("builds minute bars as a hand computation over the second bars", async () => {
    const { results } = await getAll("/v2/aggs/ticker/SPY/range/1/minute/2025-01-02/2025-01-02")
    const groups = new Map<number, Array<WireAgg>>()
    for (const b of spy("2025-01-02")) {
      const t = Math.floor(b.t / 60_000) * 60_000
      groups.set(t, [...(groups.get(t) ?? []), b])
    }
    const expected = [...groups].map(([t, g]) => {
      const v = g.reduce((s, b) => s + b.v, 0)
      return {
        t,
        o: g[0]!.o,
        c: g[g.length - 1]!.c,
        h: Math.max(...g.map((b) => b.h)),
        l: Math.min(...g.map((b) => b.l)),
        v,
        n: g.reduce((s, b) => s + b.n, 0),
        vw: g.reduce((s, b) => s + b.vw * b.v, 0) / v
      }
    })
    expect(results.length).toBe(390)
    expect(results.map(({ vw: _vw, ...rest }: any) => rest)).toEqual(expected.map(({ vw: _vw, ...rest }) => rest))
    results.forEach((r: any, i: number) => expect(Math.abs(r.vw - expected[i]!.vw)).toBeLessThan(1e-4))
  })

  it("stamps day bars at 00:00 New York and has no results key on closed days", async () => {
    const day = await get("/v2/aggs/ticker/SPY/range/1/day/2025-01-02/2025-01-02")
    const bars = spy("2025-01-02")
    expect(day.body.results).toHaveLength(1)
    expect(day.body.results[0]).toMatchObject({ t: 1735794000000, o: bars[0]!.o, c: bars[bars.length - 1]!.c })
    for (const path of [
      "/v2/aggs/ticker/SPY/range/1/second/2025-01-04/2025-01-05",
      "/v2/aggs/ticker/NOPE/range/1/minute/2025-01-02/2025-01-02"
    ]) {
      const empty = await get(path)
      expect(empty.status).toBe(200)
      expect(Object.keys(empty.body).sort()).toEqual([
        "adjusted",
        "queryCount",
        "request_id",
        "resultsCount",
        "status",
        "ticker"
      ])
      expect([empty.body.queryCount, empty.body.resultsCount, empty.body.adjusted]).toEqual([0, 0, true])
    }
  })

  it("serves percent-encoded index and option tickers; indices have no volume fields nor adjusted", async () => {
    const vix = await get("/v2/aggs/ticker/I%3AVIX/range/1/second/2025-01-02/2025-01-02?limit=50000")
    expect(vix.body.ticker).toBe("I:VIX")
    expect("adjusted" in vix.body).toBe(false)
    expect(vix.body.results).toEqual(sim.market.secondBars("I:VIX", "2025-01-02"))
    const option = sim.market.contracts("2025-01-02")[700]!.ticker
    const reply = await get(
      `/v2/aggs/ticker/${encodeURIComponent(option)}/range/1/second/2025-01-02/2025-01-02?limit=50000`
    )
    expect(reply.body.ticker).toBe(option)
    expect(reply.body.results ?? []).toEqual(sim.market.secondBars(option, "2025-01-02"))
  })

  it("builds hour and multi-day bars that add up to the second bars", async () => {
    const hours = await get("/v2/aggs/ticker/SPY/range/1/hour/2025-01-02/2025-01-02")
    expect(hours.body.results.map((b: WireAgg) => b.t)).toEqual(
      [9, 10, 11, 12, 13, 14, 15].map((h) => nyTimeMs("2025-01-02", h))
    )
    const week = ["2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"]
    const multi = await get("/v2/aggs/ticker/SPY/range/2/day/2025-01-06/2025-01-10")
    const volume = (bars: ReadonlyArray<WireAgg>) => bars.reduce((s, b) => s + b.v, 0)
    expect(volume(multi.body.results)).toBe(week.reduce((s, d) => s + volume(spy(d)), 0))
    expect(multi.body.results.every((b: WireAgg) => week.some((d) => nyTimeMs(d, 0) === b.t))).toBe(true)
  })

  it("builds next_url from the request's Host header", async () => {
    const body = await new Promise<any>((resolve, reject) => {
      http
        .get(
          {
            host: "127.0.0.1",
            port: sim.port,
            path: "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-02?limit=5&apiKey=k",
            headers: { host: "sim.example:8443" }
          },
          (res) => {
            let data = ""
            res.on("data", (c) => (data += c))
            res.on("end", () => resolve(JSON.parse(data)))
          }
        )
        .on("error", reject)
    })
    expect(body.next_url).toBe(
      `http://sim.example:8443/v2/aggs/ticker/SPY/range/1/second/${spy("2025-01-02")[5]!.t}/2025-01-02?cursor=${Buffer.from("limit=5&sort=asc&adjusted=true").toString("base64url")}`
    )
  })

  it("ignores unknown query params (the JS client's 0=2&1=0 bug) and tolerates // after the host", async () => {
    const plain = await get("/v2/aggs/ticker/SPY/range/1/minute/2025-01-02/2025-01-02?limit=3")
    const noisy = await getUrl(
      `${sim.url}//v2/aggs/ticker/SPY/range/1/minute/2025-01-02/2025-01-02?apiKey=k&limit=3&0=2&1=0&2=2&foo=bar`
    )
    expect(noisy.body.results).toEqual(plain.body.results)
  })
})

describe("auth and errors", () => {
  it("answers 401 for a missing key, accepts Bearer, and sends X-Request-ID", async () => {
    const missing = await getUrl(`${sim.url}/v1/marketstatus/now`)
    expect(missing.status).toBe(401)
    expect(missing.body).toEqual({
      status: "ERROR",
      request_id: missing.headers.get("x-request-id"),
      error: "API Key was not provided"
    })
    const bearer = await getUrl(`${sim.url}/v1/marketstatus/now`, { headers: { Authorization: "Bearer abc" } })
    expect(bearer.status).toBe(200)
    const notFound = await get("/v9/nothing")
    expect(notFound.status).toBe(404)
    expect(notFound.body).toEqual({
      status: "NOT_FOUND",
      request_id: notFound.headers.get("x-request-id"),
      message: "The requested resource was not found."
    })
  })

  it("answers 401 Unknown API Key when a key is configured", async () => {
    const strict = await startSimulator({ seed: SEED, apiKey: "secret", clock: frozenClock(NOW), extendedHours: false })
    try {
      const wrong = await getUrl(`${strict.url}/v1/marketstatus/now?apiKey=nope`)
      expect([wrong.status, wrong.body.error]).toEqual([401, "Unknown API Key"])
      expect((await getUrl(`${strict.url}/v1/marketstatus/now?apiKey=secret`)).status).toBe(200)
    } finally {
      await strict.close()
    }
  })

  it("injects 429 with Retry-After, and 5xx exactly where faultFor predicts", async () => {
    sim.setFaults({ rate429: 1, retryAfterS: 7 })
    const limited = await get("/v1/marketstatus/now")
    expect(limited.status).toBe(429)
    expect(limited.headers.get("retry-after")).toBe("7")
    expect(limited.body.error).toContain("exceeded the maximum requests per minute")
    const faults = { ...NO_FAULTS, rate5xx: 0.4, rate429: 0.2 }
    sim.setFaults(faults)
    const first = sim.stats().requests + 1
    const statuses: Array<number> = []
    for (let i = 0; i < 30; i++) statuses.push((await get("/v1/marketstatus/now")).status)
    sim.setFaults(NO_FAULTS)
    const predicted = statuses.map((_, i) => {
      const f = faultFor(SEED, first + i, faults)
      return f._tag === "ServerError" ? f.status : f._tag === "RateLimited" ? 429 : 200
    })
    expect(statuses).toEqual(predicted)
    expect(new Set(statuses)).toEqual(new Set([200, 429, 500, 502, 503]))
    expect(sim.stats().byStatus["429"]).toBe(1 + predicted.filter((s) => s === 429).length)
  })

  it("adds latency and exposes faults/stats through /_sim", async () => {
    await fetch(`${sim.url}/_sim/faults`, { method: "POST", body: JSON.stringify({ latencyMs: 200 }) })
    const started = performance.now()
    await get("/v1/marketstatus/now")
    expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    await fetch(`${sim.url}/_sim/faults`, { method: "POST", body: JSON.stringify({ latencyMs: 0, rate429: 1 }) })
    expect((await get("/v1/marketstatus/now")).status).toBe(429)
    await fetch(`${sim.url}/_sim/faults`, { method: "POST", body: JSON.stringify(NO_FAULTS) })
    const stats = await (await fetch(`${sim.url}/_sim/stats`)).json()
    expect(stats).toEqual(sim.stats())
  })
})

describe("schema drift", () => {
  const expectDamage = (item: any, truth: any, field: string, idx: number) => {
    expect(item.sim_extra_field).toBe(1)
    if (idx % 7 === 0) expect(field in item).toBe(false)
    else if (idx % 5 === 0) expect(item[field]).toBe(String(truth[field]))
    else if (idx % 3 === 0) expect(item[field]).toBeNull()
    else expect(item[field]).toBe(truth[field])
  }
  const knobs = { unknownField: true, missingFieldEvery: 7, wrongTypeEvery: 5, nullFieldEvery: 3 }

  it("damages exactly the predicted aggs, contracts and news items", async () => {
    sim.setFaults({ drift: { aggs: knobs, contracts: knobs, news: knobs } })
    try {
      const bars = spy("2025-01-02")
      const aggs = await get(`/v2/aggs/ticker/SPY/range/1/second/${bars[1234]!.t}/2025-01-02?limit=300`)
      aggs.body.results.forEach((item: any, i: number) => expectDamage(item, bars[1234 + i], "c", 1234 + i))
      // with an underlying named, the drift idx is the position in that underlying's chain
      const chain = sim.market.contracts("2025-01-08")
      const puts = await get(
        "/v3/reference/options/contracts?underlying_ticker=SPY&contract_type=put&limit=200&as_of=2025-01-08"
      )
      puts.body.results.forEach((item: any) => {
        const idx = chain.findIndex((c) => c.ticker === item.ticker)
        expectDamage(item, chain[idx], "strike_price", idx)
      })
      const reply = await get(
        "/v2/reference/news?published_utc.gte=2025-01-07T00:00:00Z&published_utc.lte=2025-01-07T23:59:59Z&order=asc&limit=100"
      )
      expect(reply.body.results.length).toBe(
        between(Date.parse("2025-01-07T00:00:00Z"), Date.parse("2025-01-07T23:59:59Z"), ["2025-01-06", "2025-01-07"])
          .length
      )
      reply.body.results.forEach((item: any) => {
        // drift idx = position in the day list of the article's New York date
        const news = sim.market.news(nyDateOf(Date.parse(item.published_utc)))
        const idx = news.findIndex((a) => a.id === item.id)
        expectDamage(item, news[idx], "title", idx)
      })
    } finally {
      sim.setFaults({ drift: {} })
    }
  })
})
