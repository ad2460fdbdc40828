/** The official @polygon.io/client-js 8.x WebSocket client works unchanged against the simulator. */
import { websocketClient } from "@polygon.io/client-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyDateOf, nyTimeMs } from "../../src/domain/calendar.js"
import type { WireAgg, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { makeSimClock } from "../../src/simulator/SimClock.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const KEY = "KEY8"
let sim: RunningSimulator

/** What the simulator streams: the whole extended day (extended hours are on by default, as the real feed). */
const served = (ticker: string, date: string) => sim.market.extendedSecondBars!(ticker, date)

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, seed: 7, clock: makeSimClock({ startMs: OPEN, speed: "max" }) })
})
afterAll(() => sim.close())

type Message = Record<string, unknown>
/** The shape of the w3cwebsocket the client returns (its typings say `any`). */
interface W3C {
  onmessage: (e: { data: unknown }) => void
  onclose: (e: { code: number }) => void
  send: (s: string) => void
  close: () => void
}

/**
 * Use the client exactly as its examples do: keep the preset onopen (it sends auth), parse
 * `data`, subscribe after auth_success, collect until `done`.
 */
const stream = (socket: W3C, params: string, done: (events: ReadonlyArray<Message>) => boolean) =>
  new Promise<{ statuses: ReadonlyArray<Message>; events: ReadonlyArray<Message> }>((resolve, reject) => {
    const statuses: Array<Message> = [],
      events: Array<Message> = []
    let finished = false
    const timer = setTimeout(() => reject(new Error(`timeout: ${JSON.stringify(statuses)}`)), 20_000)
    socket.onmessage = (e) => {
      const parsed = JSON.parse(String(e.data)) as unknown
      if (!Array.isArray(parsed)) return reject(new Error("frame is not an array"))
      for (const m of parsed as Array<Message>) {
        if (m["ev"] === "status") {
          statuses.push(m)
          if (m["status"] === "auth_success") socket.send(JSON.stringify({ action: "subscribe", params }))
        } else events.push(m)
      }
      if (done(events) && !finished) {
        finished = true
        clearTimeout(timer)
        socket.close() // resolve once closed: the replay (speed max) then stands still until the next test
      }
    }
    socket.onclose = (e) => (finished ? resolve({ statuses, events }) : reject(new Error(`closed early: ${e.code}`)))
  })

const reached = (ev: string, at: number) => (events: ReadonlyArray<Message>) =>
  events.some((m) => m["ev"] === ev && ((m["s"] ?? m["t"]) as number) >= at)
const window = (bars: ReadonlyArray<WireAgg | WireIndexAgg>, to: number) => bars.filter((b) => b.t >= OPEN && b.t < to)
const ohlc = (m: Message) => ({ o: m["o"], h: m["h"], l: m["l"], c: m["c"], s: m["s"] })

describe("@polygon.io/client-js websocketClient against the simulator", () => {
  it("stocks(): preset auth, subscribe A.SPY after auth_success, events equal the REST bars", async () => {
    const socket = websocketClient(KEY, sim.wsUrl).stocks() as W3C
    const end = OPEN + 60_000
    const { statuses, events } = await stream(socket, "A.SPY", reached("A", end))
    expect(statuses.slice(0, 3)).toEqual([
      { ev: "status", status: "connected", message: "Connected Successfully" },
      { ev: "status", status: "auth_success", message: "authenticated" },
      { ev: "status", status: "success", message: "subscribed to: A.SPY" }
    ])
    const bars = window(served("SPY", DATE), end) as ReadonlyArray<WireAgg>
    const got = events.filter((m) => (m["s"] as number) < end)
    expect(got.map((m) => ({ ...ohlc(m), v: m["v"], vw: m["vw"] }))).toEqual(
      bars.map((b) => ({ o: b.o, h: b.h, l: b.l, c: b.c, s: b.t, v: b.v, vw: b.vw }))
    )
  })

  it("options(): A events of a listed contract equal its bars", async () => {
    const ticker = sim.market.contracts(DATE).find((c) => served(c.ticker, DATE).length > 0)!.ticker
    const socket = websocketClient(KEY, sim.wsUrl).options() as W3C
    const from = sim.ws.nowMs()
    const end = from + 600_000
    const bars = served(ticker, DATE).filter((b) => b.t >= from && b.t < end) as ReadonlyArray<WireAgg>
    // a sparse contract: stop at the first event at or past `end`, or once every expected bar has arrived
    const { events } = await stream(socket, `A.${ticker}`, (ev) => reached("A", end)(ev) || ev.length >= bars.length)
    const got = events.filter((m) => m["sym"] === ticker && (m["s"] as number) < end)
    expect(got.map((m) => ({ ...ohlc(m), v: m["v"] }))).toEqual(
      bars.map((b) => ({ o: b.o, h: b.h, l: b.l, c: b.c, s: b.t, v: b.v }))
    )
    expect(bars.length).toBeGreaterThan(2)
  })

  it("indices(): A and V events of I:VIX", async () => {
    const socket = websocketClient(KEY, sim.wsUrl).indices() as W3C
    // The replay (speed max) may have moved on to a later session since the previous test: the
    // window starts at the first bar received, on that bar's own trading date.
    const startOf = (events: ReadonlyArray<Message>) => events.find((m) => m["ev"] === "A")?.["s"] as number | undefined
    const { events } = await stream(socket, "A.I:VIX,V.I:VIX", (ev) => {
      const from = startOf(ev)
      return from !== undefined && reached("V", from + 30_000)(ev)
    })
    const from = startOf(events)!
    const end = from + 30_000
    const bars = served("I:VIX", nyDateOf(from)).filter((b) => b.t >= from && b.t < end)
    expect(bars.length).toBeGreaterThan(20)
    expect(events.filter((m) => m["ev"] === "A" && (m["s"] as number) < end).map(ohlc)).toEqual(
      bars.map((b) => ({ o: b.o, h: b.h, l: b.l, c: b.c, s: b.t }))
    )
    expect(events.filter((m) => m["ev"] === "V" && (m["t"] as number) >= from && (m["t"] as number) < end)).toEqual(
      bars.map((b) => ({ ev: "V", val: b.c, T: "I:VIX", t: b.t }))
    )
  })

  it("a wrong key gets auth_failed", async () => {
    const socket = websocketClient("WRONG", sim.wsUrl).stocks() as W3C
    const statuses: Array<Message> = []
    const code = await new Promise<number>((resolve) => {
      socket.onmessage = (e) => statuses.push(...(JSON.parse(String(e.data)) as Array<Message>))
      socket.onclose = (e) => resolve(e.code)
    })
    expect(statuses.map((m) => m["status"])).toEqual(["connected", "auth_failed"])
    expect(code).toBe(1008)
  })
})
