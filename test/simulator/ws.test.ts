import { afterEach, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { MarketData, WireAgg, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { buildTickerDay } from "../../src/simulator/ws/events.js"
import { WINDOW_BYTES } from "../../src/simulator/ws/readTracker.js"
import { FRAME_BUDGET, HIGH_WATER } from "../../src/simulator/ws/replay.js"
import {
  authed,
  DATE,
  fixedClock,
  makeFakeMarket,
  OPEN,
  optionTicker,
  Recorder,
  startWsServer,
  statuses,
  type TestServer
} from "./ws-helpers.js"

const SATURDAY = nyTimeMs("2025-10-25", 12)
let servers: Array<TestServer> = []
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})
const serve = async (...args: Parameters<typeof startWsServer>) => {
  const s = await startWsServer(...args)
  servers.push(s)
  return { ...s, url: (path: string) => `ws://127.0.0.1:${s.port}${path}` }
}
const ofWindow = (bars: ReadonlyArray<WireAgg | WireIndexAgg>, from: number, to: number) =>
  bars.filter((b) => b.t >= from && b.t < to)
const ohlcv = (e: Record<string, unknown>) => ({
  o: e["o"],
  h: e["h"],
  l: e["l"],
  c: e["c"],
  v: e["v"],
  vw: e["vw"],
  s: e["s"]
})
const barOhlcv = (b: WireAgg) => ({ o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, vw: b.vw, s: b.t })
const round4 = (x: number) => Math.round(x * 1e4) / 1e4
const allFramesSmall = (r: Recorder) => expect(r.raw.filter((f) => f.length >= 512 * 1024)).toEqual([])

describe("WebSocket protocol", () => {
  it("connect, auth, subscribe, unsubscribe: exact status frames, one per frame", async () => {
    const s = await serve(makeFakeMarket(), fixedClock(SATURDAY, 1), { apiKey: "k" })
    const r = new Recorder(s.url("/stocks"))
    await r.until(() => r.raw.length === 1)
    expect(r.raw[0]).toBe('[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
    r.send({ action: "auth", params: "k" })
    await r.until(() => r.raw.length === 2)
    expect(r.raw[1]).toBe('[{"ev":"status","status":"auth_success","message":"authenticated"}]')
    r.send({ action: "subscribe", params: "A.SPY, AM.SPY,A.*" })
    r.send({ action: "unsubscribe", params: "A.SPY" })
    r.send("{not json")
    r.send({ action: "dance" })
    await r.until(() => r.raw.length === 8)
    expect(r.raw.slice(2)).toEqual([
      '[{"ev":"status","status":"success","message":"subscribed to: A.SPY"}]',
      '[{"ev":"status","status":"success","message":"subscribed to: AM.SPY"}]',
      '[{"ev":"status","status":"success","message":"subscribed to: A.*"}]',
      '[{"ev":"status","status":"success","message":"unsubscribed to: A.SPY"}]',
      '[{"ev":"status","status":"error","message":"Invalid JSON"}]',
      '[{"ev":"status","status":"error","message":"unknown action: dance"}]'
    ])
    r.ws.close()
  })

  it("a wrong key gets auth_failed and is closed with 1008", async () => {
    const s = await serve(makeFakeMarket(), fixedClock(SATURDAY, 1), { apiKey: "k" })
    const r = new Recorder(s.url("/options"))
    await r.opened
    r.send({ action: "auth", params: "wrong" })
    expect(await r.closed).toBe(1008)
    expect(statuses(r)).toEqual(["connected: Connected Successfully", "auth_failed: authentication failed"])
  })

  it("pipelined messages are handled in order; subscribe before auth gets auth_required", async () => {
    const s = await serve(makeFakeMarket(), fixedClock(SATURDAY, 1))
    const r = new Recorder(s.url("//indices"))
    await r.opened
    r.send({ action: "subscribe", params: "V.I:VIX" })
    r.send({ action: "auth", params: "any-key" })
    r.send({ action: "subscribe", params: "A.I:VIX" })
    await r.until(() => r.raw.length === 4)
    expect(statuses(r)).toEqual([
      "connected: Connected Successfully",
      "auth_required: authentication required",
      "auth_success: authenticated",
      "success: subscribed to: A.I:VIX"
    ])
    r.ws.close()
  })

  it("answers 404 to other paths", async () => {
    const s = await serve(makeFakeMarket(), fixedClock(SATURDAY, 1))
    for (const path of ["/forex", "/stocks/x", "/"]) {
      const status = await new Promise<number | undefined>((resolve) => {
        const ws = new WebSocket(s.url(path))
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode))
        ws.on("error", () => resolve(undefined))
      })
      expect(status).toBe(404)
    }
  })
})

describe("WebSocket replay", () => {
  it("cached event JSON equals JSON.stringify of the event objects, sent at its window end", () => {
    const market = makeFakeMarket()
    for (const sym of ["SPY", "I:VIX", optionTicker(3)]) {
      const bars = market.secondBars(sym, DATE)
      const day = buildTickerDay(sym, bars)
      const a = day.series("A"),
        am = day.series("AM"),
        v = day.series("V")
      expect(a.count).toBe(bars.length)
      bars.forEach((b, i) => {
        expect(a.json(i)).toBe(JSON.stringify(day.second(b.t)))
        expect(a.sendAt(i)).toBe(b.t + 1000)
        if (sym === "I:VIX") expect(v.json(i)).toBe(JSON.stringify(day.value(b.t)))
      })
      if (sym !== "I:VIX") expect(v.count).toBe(0)
      for (let i = 0; i < am.count; i++) expect(am.json(i)).toBe(JSON.stringify(day.minute(am.sendAt(i) - 60_000)))
    }
  })

  it("at speed max, per-second A events equal MarketData's bars and AM aggregates them", async () => {
    const market = makeFakeMarket()
    const s = await serve(market, fixedClock(OPEN, "max"))
    const end = OPEN + 1800_000
    const t0 = Date.now()
    const r = await authed(s.url("/stocks"), "A.SPY,AM.SPY")
    await r.until(() => r.reached("A", end - 1000))
    const elapsed = (Date.now() - t0) / 1000
    r.ws.close()
    const bars = ofWindow(market.secondBars("SPY", DATE), OPEN, end) as ReadonlyArray<WireAgg>
    const a = r.events("A").filter((e) => (e["s"] as number) < end)
    expect(a.map(ohlcv)).toEqual(bars.map(barOhlcv))
    expect(Object.keys(a[0]!)).toEqual(["ev", "sym", "v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"])
    let cumV = 0,
      cumPV = 0
    bars.forEach((b, i) => {
      cumV += b.v
      cumPV += b.vw * b.v
      expect(a[i]).toMatchObject({
        ev: "A",
        sym: "SPY",
        av: cumV,
        op: bars[0]!.o,
        a: round4(cumPV / cumV),
        z: Math.round(b.v / b.n),
        e: b.t + 1000
      })
    })
    const am = r.events("AM").filter((e) => (e["s"] as number) < end)
    expect(am.length).toBe(30)
    am.forEach((m, k) => {
      const minute = bars.slice(k * 60, k * 60 + 60)
      const v = minute.reduce((x, b) => x + b.v, 0)
      expect(m).toEqual({
        ev: "AM",
        sym: "SPY",
        v,
        av: bars.slice(0, k * 60 + 60).reduce((x, b) => x + b.v, 0),
        op: bars[0]!.o,
        vw: round4(minute.reduce((x, b) => x + b.vw * b.v, 0) / v),
        o: minute[0]!.o,
        c: minute[59]!.c,
        h: Math.max(...minute.map((b) => b.h)),
        l: Math.min(...minute.map((b) => b.l)),
        a: m["a"],
        z: Math.round(v / minute.reduce((x, b) => x + b.n, 0)),
        s: OPEN + k * 60_000,
        e: OPEN + (k + 1) * 60_000
      })
    })
    allFramesSmall(r)
    console.log(`SPY A+AM at max: ${Math.round(r.messages.length / elapsed)} events/s`)
  })

  it("indices: A and AM carry no volume fields; V carries val/T/t", async () => {
    const market = makeFakeMarket()
    const s = await serve(market, fixedClock(OPEN, "max"))
    const r = await authed(s.url("/indices"), "A.I:VIX,AM.I:VIX,V.I:VIX")
    await r.until(() => r.reached("V", OPEN + 119_000))
    r.ws.close()
    const bars = ofWindow(market.secondBars("I:VIX", DATE), OPEN, OPEN + 120_000)
    const a = r.events("A").filter((e) => (e["s"] as number) < OPEN + 120_000)
    expect(a).toEqual(
      bars.map((b) => ({
        ev: "A",
        sym: "I:VIX",
        op: bars[0]!.o,
        o: b.o,
        c: b.c,
        h: b.h,
        l: b.l,
        s: b.t,
        e: b.t + 1000
      }))
    )
    const v = r.events("V").filter((e) => (e["t"] as number) < OPEN + 120_000)
    expect(v).toEqual(bars.map((b) => ({ ev: "V", val: b.c, T: "I:VIX", t: b.t })))
    expect(Object.keys(r.events("AM")[0]!)).toEqual(["ev", "sym", "op", "o", "c", "h", "l", "s", "e"])
  })

  it("options A.* delivers every listed contract, each exactly its bars", async () => {
    const market = makeFakeMarket(4)
    const s = await serve(market, fixedClock(OPEN, "max"))
    const r = await authed(s.url("/options"), "A.*")
    await r.until(() => r.reached("A", OPEN + 60_000))
    r.ws.close()
    for (let i = 0; i < 4; i++) {
      const got = r.events("A").filter((e) => e["sym"] === optionTicker(i) && (e["s"] as number) < OPEN + 60_000)
      expect(got.map(ohlcv)).toEqual(
        (ofWindow(market.secondBars(optionTicker(i), DATE), OPEN, OPEN + 60_000) as ReadonlyArray<WireAgg>).map(
          barOhlcv
        )
      )
    }
    expect(r.events("A").filter((e) => e["sym"] === optionTicker(3) && (e["s"] as number) < OPEN + 60_000).length).toBe(
      20
    )
  })

  it("100 option subscriptions at 60x: a contiguous window, exact for every contract", async () => {
    const market = makeFakeMarket(100)
    const s = await serve(market, fixedClock(OPEN + 600_000, 60))
    const tickers = Array.from({ length: 100 }, (_, i) => optionTicker(i))
    const r = await authed(s.url("/options"), tickers.map((t) => `A.${t}`).join(","))
    const firstS = () => (r.messages.find((m) => m["ev"] === "A")?.["s"] as number | undefined) ?? Infinity
    await r.until(() => r.reached("A", firstS() + 121_000), 30_000)
    r.ws.close()
    const a = r.events("A")
    const first = Math.min(...a.map((e) => e["s"] as number)),
      last = Math.max(...a.map((e) => e["s"] as number))
    expect(last - first).toBeGreaterThanOrEqual(120_000)
    for (const t of tickers) expectExact(market, r, t, first, last + 1000)
    allFramesSmall(r)
  })

  it("at speed max a stalled reader holds the replay within WINDOW_BYTES unread, then gets everything", async () => {
    const market = makeFakeMarket(100)
    const s = await serve(market, fixedClock(OPEN, "max"))
    const r = await authed(s.url("/options"), "A.*")
    r.ws.pause() // stops reading: no data read, no pings answered
    const held = await standsStill(s)
    const stats = s.ws.stats()
    // status frames aside, what went out is within the window (+ one step, + the ping interval)
    expect(stats.bytesSent).toBeLessThan(WINDOW_BYTES + 2 * FRAME_BUDGET + 256 * 1024 + 4096)
    expect(stats.bytesSent).toBeGreaterThan(WINDOW_BYTES)
    const end = OPEN + 1200_000
    expect(held).toBeLessThan(end)
    r.ws.resume()
    await r.until(() => r.reached("A", end), 30_000)
    r.ws.close()
    expect(s.ws.stats().slowConsumers).toBe(0)
    for (let i = 0; i < 100; i += 11) expectExact(market, r, optionTicker(i), OPEN, end)
    allFramesSmall(r)
  })

  it("at speed max a stalled reader that answers no pings is held by the send buffer (HIGH_WATER), then gets everything", async () => {
    const market = makeFakeMarket(100)
    const s = await serve(market, fixedClock(OPEN, "max"))
    const r = await authed(s.url("/options"), "A.*", "k", { autoPong: false })
    const t0 = Date.now()
    r.ws.pause() // until the server-side buffer has filled (the kernel's socket buffers first)
    for (let i = 0; i < 400 && s.ws.stats().maxBufferedAmount <= HIGH_WATER / 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 50))
    expect(s.ws.stats().maxBufferedAmount).toBeGreaterThan(HIGH_WATER / 2)
    await standsStill(s)
    r.ws.resume()
    const end = OPEN + 1200_000
    await r.until(() => r.reached("A", end), 30_000)
    const rate = Math.round(r.events("A").length / ((Date.now() - t0) / 1000))
    r.ws.close()
    const stats = s.ws.stats()
    expect(stats.maxBufferedAmount).toBeLessThan(HIGH_WATER + 1024 * 1024)
    expect(stats.slowConsumers).toBe(0)
    for (let i = 0; i < 100; i += 11) expectExact(market, r, optionTicker(i), OPEN, end)
    allFramesSmall(r)
    console.log(
      `100 options A.* at max with a stalled reader: ${rate} events/s, max bufferedAmount ${stats.maxBufferedAmount}`
    )
  })
})

/** Wait until the replay's position has not moved for 500 ms (it waits for a reader); that position. */
const standsStill = async (s: { readonly ws: { readonly nowMs: () => number } }): Promise<number> => {
  for (let i = 0, last = -1, still = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const now = s.ws.nowMs()
    still = now === last && now > OPEN ? still + 1 : 0
    last = now
    if (still >= 10) return now
  }
  throw new Error("the replay did not stop")
}

const expectExact = (market: MarketData, r: Recorder, ticker: string, from: number, to: number) => {
  const got = r.events("A").filter((e) => e["sym"] === ticker && (e["s"] as number) >= from && (e["s"] as number) < to)
  expect(got.map(ohlcv)).toEqual(
    (ofWindow(market.secondBars(ticker, DATE), from, to) as ReadonlyArray<WireAgg>).map(barOhlcv)
  )
}
