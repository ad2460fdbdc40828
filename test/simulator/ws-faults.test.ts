import { afterEach, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg } from "../../src/simulator/MarketData.js"
import type { WsFaults } from "../../src/simulator/ws/index.js"
import {
  authed,
  DATE,
  fixedClock,
  makeFakeMarket,
  OPEN,
  Recorder,
  startWsServer,
  statuses,
  type TestServer
} from "./ws-helpers.js"

let servers: Array<TestServer> = []
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})
const market = makeFakeMarket(100)
const serve = async (faults: Partial<WsFaults>, start = OPEN, speed: number | "max" = "max") => {
  const s = await startWsServer(market, fixedClock(start, speed), { faults })
  servers.push(s)
  return { ...s, url: (path: string) => `ws://127.0.0.1:${s.port}${path}` }
}
const spy = market.secondBars("SPY", DATE) as ReadonlyArray<WireAgg>
const sOf = (e: Record<string, unknown>) => e["s"] as number
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const upsert = (events: ReadonlyArray<Record<string, unknown>>) =>
  new Map(events.map((e) => [`${e["sym"]}|${e["s"]}`, e]))
const dataFrames = (r: Recorder) => r.frames.filter((f) => f.some((m) => m["ev"] !== "status"))

describe("WebSocket faults", () => {
  it("maxConnectionsPerCluster evicts the oldest connection of the same key and cluster (1008)", async () => {
    const s = await serve({ maxConnectionsPerCluster: 1 }, nyTimeMs("2025-10-25", 12))
    const first = await authed(s.url("/stocks"), "A.SPY")
    const otherCluster = await authed(s.url("/indices"), "A.I:VIX")
    const otherKey = await authed(s.url("/stocks"), "A.SPY", "other")
    const second = await authed(s.url("/stocks"), "A.SPY")
    expect(await first.closed).toBe(1008)
    expect(statuses(first).at(-1)).toMatch(/^max_connections: Maximum number of websocket connections exceeded\./)
    await sleep(100)
    for (const r of [otherCluster, otherKey, second]) expect(r.closeCode).toBeUndefined()
    expect(s.ws.stats().evictions).toBe(1)
  })

  it("dropEverySimSeconds terminates at every N-second boundary; a new connection resumes at the replay's now", async () => {
    const s = await serve({ dropEverySimSeconds: 10 })
    const r1 = await authed(s.url("/stocks"), "A.SPY")
    expect(await r1.closed).toBe(1006)
    expect(r1.events("A").map(sOf)).toEqual(spy.slice(0, 10).map((b) => b.t))
    expect(s.ws.nowMs()).toBe(OPEN + 10_000)
    const r2 = await authed(s.url("/stocks"), "A.SPY")
    expect(await r2.closed).toBe(1006)
    expect(r2.events("A").map(sOf)).toEqual(spy.slice(10, 20).map((b) => b.t))
  })

  it("at a timed speed, bars broadcast while a dropped client is away are not re-sent", async () => {
    const s = await serve({ dropEverySimSeconds: 5 }, OPEN + 60_000, 50)
    const r1 = await authed(s.url("/stocks"), "A.SPY")
    expect(await r1.closed).toBe(1006)
    const lastSeen = r1.events("A").at(-1)!["s"] as number
    expect((lastSeen + 1000) % 5000).toBe(0)
    await sleep(300) // 15 simulated seconds away
    const resumeAt = s.ws.nowMs()
    const r2 = await authed(s.url("/stocks"), "A.SPY")
    await r2.until(() => r2.events("A").length > 0)
    r2.ws.terminate()
    const first = r2.events("A")[0]!["s"] as number
    expect(first).toBeGreaterThanOrEqual(resumeAt)
    expect(first - lastSeen).toBeGreaterThan(10_000)
  })

  it("halfOpenAfterSimSeconds: the connection goes silent (no data, acks or pongs) but stays open", async () => {
    const s = await serve({ halfOpenAfterSimSeconds: 5 })
    const r = await authed(s.url("/stocks"), "A.SPY")
    await r.until(() => r.events("A").length >= 4)
    await sleep(300)
    expect(r.events("A").map(sOf)).toEqual(spy.slice(0, 4).map((b) => b.t))
    let pong = false
    r.ws.on("pong", () => (pong = true))
    r.ws.ping()
    r.send({ action: "subscribe", params: "AM.SPY" })
    await sleep(400)
    expect(pong).toBe(false)
    expect(r.ws.readyState).toBe(r.ws.OPEN)
    expect(r.raw.length).toBe(3 + 4)
    r.ws.terminate()
  })

  it("stallFromSimMs: nothing is sent from that instant on, on open connections and new ones, which stay open", async () => {
    const s = await serve({ stallFromSimMs: OPEN + 5000 })
    const r = await authed(s.url("/stocks"), "A.SPY")
    await r.until(() => r.events("A").length >= 4)
    await sleep(300)
    // Windows ending at OPEN+1 s … OPEN+4 s were sent; the one ending at the stall's instant was not.
    expect(r.events("A").map(sOf)).toEqual(spy.slice(0, 4).map((b) => b.t))
    const late = new Recorder(s.url("/stocks"))
    await late.opened
    late.send({ action: "auth", params: "k" })
    await sleep(300)
    expect({
      frames: late.raw.length,
      open: late.ws.readyState === late.ws.OPEN,
      first: r.ws.readyState === r.ws.OPEN
    }).toEqual({ frames: 0, open: true, first: true })
    r.ws.terminate()
    late.ws.terminate()
  })

  it("malformedEvery: an invalid frame precedes every M-th data frame and no data is lost", async () => {
    const s = await serve({ malformedEvery: 3 })
    const r = await authed(s.url("/stocks"), "A.SPY")
    await r.until(() => r.reached("A", OPEN + 59_000))
    r.ws.close()
    await r.closed
    expect(r.invalid.length).toBe(Math.floor(dataFrames(r).length / 3))
    r.raw.forEach((f, i) => {
      if (r.invalid.includes(f)) expect(r.raw[i + 1]!.startsWith(f)).toBe(true)
    })
    expect(
      r
        .events("A")
        .filter((e) => sOf(e) < OPEN + 60_000)
        .map(sOf)
    ).toEqual(spy.slice(0, 60).map((b) => b.t))
  })

  it("duplicateEvery: every D-th event is re-sent unchanged in the next data frame", async () => {
    const s = await serve({ duplicateEvery: 4 })
    const r = await authed(s.url("/stocks"), "A.SPY")
    await r.until(() => r.reached("A", OPEN + 40_000))
    r.ws.close()
    const frames = dataFrames(r).slice(0, 40)
    frames.forEach((f, k) => {
      const expected = [spy[k]!.t, ...(k > 0 && k % 4 === 0 ? [spy[k - 1]!.t] : [])]
      expect(f.map(sOf)).toEqual(expected)
      if (k > 0 && k % 4 === 0) expect(f[1]).toEqual(frames[k - 1]![0])
    })
    expect([...upsert(r.events("A")).keys()].slice(0, 40)).toEqual(spy.slice(0, 40).map((b) => `SPY|${b.t}`))
  })

  it("correctionEvery: corrected bars arrive later; upserting by (sym, s) yields groundTruth", async () => {
    const s = await serve({ correctionEvery: 7 })
    const r = await authed(s.url("/stocks"), "A.SPY")
    await r.until(() => r.reached("A", OPEN + 120_000))
    r.ws.close()
    const end = OPEN + 110_000
    const corrected = [...s.ws.corrections().values()].filter((c) => c.s < end)
    expect(corrected.map((c) => c.s)).toEqual(
      spy.filter((_, i) => (i + 1) % 7 === 0 && spy[i]!.t < end).map((b) => b.t)
    )
    for (const c of corrected) {
      expect(c.corrected.v).toBe(c.original.v + 1)
      expect(c.sentAtSimMs).toBe(c.s + 1000 + 2000)
    }
    const truth = s.ws.groundTruth("SPY", DATE).filter((b) => b.t < end)
    const final = [...upsert(r.events("A")).values()].filter((e) => sOf(e) < end)
    expect(
      final.map((e) => ({ o: e["o"], h: e["h"], l: e["l"], c: e["c"], v: e["v"], vw: e["vw"], s: e["s"] }))
    ).toEqual(truth.map((b) => ({ o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, vw: b.vw, s: b.t })))
    expect(truth.filter((b, i) => b.v !== spy[i]!.v).length).toBe(corrected.length)
  })

  it("slowConsumerBytes: a reader that stops reading gets slow_consumer and a 1008 close", async () => {
    const s = await serve({ slowConsumerBytes: 256 * 1024 })
    const r = await authed(s.url("/options"), "A.*")
    r.ws.pause()
    for (let i = 0; i < 100 && s.ws.stats().slowConsumers === 0; i++) await sleep(50)
    r.ws.resume()
    expect(await r.closed).toBe(1008)
    expect(statuses(r).at(-1)).toMatch(/^slow_consumer: /)
    expect(s.ws.stats().slowConsumers).toBe(1)
  })
})
