/**
 * The aggregates fast path (cached JSON bytes, envelope written around slices) must answer
 * byte for byte what the object path (`JSON.stringify` of the envelope) answers. Setting empty
 * aggs drift knobs forces the object path without damaging anything, so the two are compared
 * over HTTP, request ids aside.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AnyAgg } from "../../src/simulator/rest/aggregate.js"
import { ascendingSlice, descendingSlice, serializeBars, serializedBars } from "../../src/simulator/rest/serialize.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { frozenClock, NOW, SEED, withKey } from "./rest-helpers.js"

let sim: RunningSimulator
beforeAll(async () => {
  sim = await startSimulator({ seed: SEED, clock: frozenClock(NOW), extendedHours: false })
})
afterAll(() => sim.close())

const raw = async (path: string, init?: RequestInit) => {
  const res = await fetch(withKey(`${sim.url}${path}`), init)
  const text = await res.text()
  return {
    status: res.status,
    length: res.headers.get("content-length"),
    text: text.replace(/"request_id":"[0-9a-f]{32}"/, '"request_id":"-"')
  }
}

/** Fast-path reply, then the same request on the object path. */
const both = async (path: string) => {
  sim.setFaults({ drift: {} })
  const fast = await raw(path)
  sim.setFaults({ drift: { aggs: {} } })
  const slow = await raw(path)
  sim.setFaults({ drift: {} })
  return { fast, slow }
}

const option = () => {
  const c = sim.market
    .contracts("2025-01-03")
    .find((x) => x.expiration_date === "2025-01-03" && Math.abs(x.strike_price - 590) < 3)!
  return encodeURIComponent(c.ticker)
}

describe("aggregates fast path", () => {
  const paths = [
    "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-03?limit=50000",
    "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-03?limit=7000",
    "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-03?limit=30000&sort=desc",
    "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-06?limit=50000&adjusted=false",
    "/v2/aggs/ticker/I:VIX/range/1/second/2025-01-03/2025-01-03?limit=50000",
    "/v2/aggs/ticker/I:VIX/range/5/second/2025-01-03/2025-01-06?limit=999&sort=desc",
    "/v2/aggs/ticker/SPY/range/1/minute/2025-01-02/2025-01-03",
    "/v2/aggs/ticker/SPY/range/15/minute/2025-01-02/2025-01-03?sort=desc&limit=10",
    "/v2/aggs/ticker/SPY/range/1/hour/2025-01-02/2025-01-03",
    "/v2/aggs/ticker/SPY/range/1/day/2024-12-20/2025-01-08",
    "/v2/aggs/ticker/SPY/range/1/day/2024-12-20/2025-01-08?limit=3&sort=desc",
    "/v2/aggs/ticker/SPY/range/3/day/2024-12-20/2025-01-08",
    "/v2/aggs/ticker/SPY/range/1/second/2025-01-04/2025-01-05",
    "/v2/aggs/ticker/NOPE/range/1/second/2025-01-02/2025-01-02",
    `/v2/aggs/ticker/SPY/range/1/second/${Date.parse("2025-01-02T15:00:00Z")}/${Date.parse("2025-01-02T15:10:00Z")}?limit=100`
  ]
  it.each(paths)("%s", async (path) => {
    const { fast, slow } = await both(path)
    expect(fast.status).toBe(200)
    expect(fast.text).toBe(slow.text)
    expect(fast.length).toBe(slow.length)
  })

  it("option bars, including the next_url cursor pages", async () => {
    let path: string | undefined = `/v2/aggs/ticker/${option()}/range/1/second/2025-01-03/2025-01-03?limit=1000`
    let pages = 0
    while (path !== undefined) {
      const { fast, slow } = await both(path)
      expect(fast.text).toBe(slow.text)
      const next = JSON.parse(fast.text).next_url as string | undefined
      path = next === undefined ? undefined : next.slice(sim.url.length)
      pages++
    }
    expect(pages).toBeGreaterThan(1)
  })

  it("HEAD carries the GET body's length and no body", async () => {
    const path = "/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-02?limit=50000"
    const get = await raw(path)
    const head = await raw(path, { method: "HEAD" })
    expect(head.text).toBe("")
    expect(head.length).toBe(get.length)
  })

  it("still damages items when drift knobs are set", async () => {
    sim.setFaults({ drift: { aggs: { missingFieldEvery: 10, unknownField: true } } })
    const r = await raw("/v2/aggs/ticker/SPY/range/1/second/2025-01-02/2025-01-02?limit=50")
    sim.setFaults({ drift: {} })
    const results = JSON.parse(r.text).results as Array<Record<string, unknown>>
    expect(results[0]!["c"]).toBeUndefined()
    expect(results[1]!["c"]).toBeTypeOf("number")
    expect(results.every((b) => b["sim_extra_field"] === 1)).toBe(true)
  })
})

describe("serializeBars", () => {
  it("writes exactly JSON.stringify's text for awkward numbers and shapes", () => {
    const nums = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      12345,
      0.5,
      -0.5,
      0.01,
      0.0001,
      0.00001,
      1e-7,
      575.23,
      575.2,
      575.0001,
      -575.2301,
      0.1 + 0.2,
      1 / 3,
      123456789.1234,
      999999999.9999,
      1e9 + 0.5,
      2 ** 53,
      2 ** 53 + 2,
      9e15,
      -9e15 - 2,
      1e21,
      1.5e300,
      NaN,
      Infinity,
      -Infinity,
      1_735_828_200_000,
      4_294_967_296.25
    ]
    const rng = (() => {
      let a = 12345
      return () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648
    })()
    for (let i = 0; i < 2000; i++)
      nums.push(Math.round(rng() * 1e8) / [1, 10, 100, 1000, 10000, 100000][i % 6]!, (rng() - 0.5) * 10 ** (i % 12))
    const bars: Array<AnyAgg> = []
    for (let i = 0; i + 8 <= nums.length; i += 3) {
      const [v, vw, o, c, h, l, t, n] = nums.slice(i, i + 8) as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number
      ]
      bars.push({ v, vw, o, c, h, l, t, n })
    }
    const s = serializeBars(bars)
    expect(s.bytes.toString("utf8")).toBe(`${bars.map((b) => JSON.stringify(b)).join(",")},`)
    expect(ascendingSlice(s, 3, 9).toString()).toBe(
      bars
        .slice(3, 9)
        .map((b) => JSON.stringify(b))
        .join(",")
    )
    expect(descendingSlice(s, 3, 9).toString()).toBe(
      bars
        .slice(3, 9)
        .reverse()
        .map((b) => JSON.stringify(b))
        .join(",")
    )

    const index: Array<AnyAgg> = nums.slice(0, 60).map((x, i) => ({ o: x, c: -x, h: x * 3, l: x / 7, t: i }))
    expect(serializeBars(index).bytes.toString()).toBe(`${index.map((b) => JSON.stringify(b)).join(",")},`)

    const odd = [
      { o: 1, c: 2, h: 3, l: 0.5, t: 9 },
      { o: 1, c: null, h: 3, l: 0.5, t: 10 },
      { c: 1, o: 2, h: 3, l: 1, t: 11, x: "é" }
    ] as unknown as Array<AnyAgg>
    expect(serializeBars(odd).bytes.toString()).toBe(`${odd.map((b) => JSON.stringify(b)).join(",")},`)
    const reordered = [{ c: 1, o: 2, h: 3, l: 1, t: 11 }] as unknown as Array<AnyAgg>
    expect(serializeBars(reordered).bytes.toString()).toBe(`${JSON.stringify(reordered[0])},`)
    expect(serializeBars([]).bytes.length).toBe(0)
  })

  it("memoises per series array", () => {
    const series: Array<AnyAgg> = [{ o: 1, c: 2, h: 3, l: 0.5, t: 9 }]
    expect(serializedBars(series)).toBe(serializedBars(series))
  })
})
