/** A small deterministic MarketData and a recording `ws` client for the WebSocket tests. */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import WebSocket from "ws"
import { holidayIndex, nyTimeMs, sessionOf } from "../../src/domain/calendar.js"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import type { MarketData, WireAgg, WireContract, WireIndexAgg } from "../../src/simulator/MarketData.js"
import type { SimClock } from "../../src/simulator/SimClock.js"
import { attachWebSocket, type WsFaults, type WsServerHandle } from "../../src/simulator/ws/index.js"

export const DATE = "2025-10-28" // a Tuesday
export const OPEN = nyTimeMs(DATE, 9, 30)
/** The fake market trades only the first TRADED_SECONDS of each session (keeps tests light). */
export const TRADED_SECONDS = 3600

export const optionTicker = (i: number): string =>
  `O:SPY251031${i % 2 === 0 ? "C" : "P"}${String(500_000 + i * 1000).padStart(8, "0")}`

/** Options: `optionCount` contracts, all with a bar every second except the last (every 3rd second). */
export const makeFakeMarket = (optionCount = 4): MarketData => {
  const options = Array.from({ length: optionCount }, (_, i) => optionTicker(i))
  const cache = new Map<string, ReadonlyArray<WireAgg | WireIndexAgg>>()
  const sessions = new Map<string, ReturnType<typeof sessionOf>>()
  const bars = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    if (!sessions.has(date)) sessions.set(date, sessionOf(date, holidayIndex(nyseHolidays(Number(date.slice(0, 4))))))
    const session = sessions.get(date)
    const optionIndex = options.indexOf(ticker)
    const k = ticker === "SPY" ? 0 : ticker === "I:VIX" ? -1 : optionIndex >= 0 ? optionIndex + 1 : undefined
    if (!session || k === undefined) return []
    const out: Array<WireAgg | WireIndexAgg> = []
    for (let i = 0; i < TRADED_SECONDS; i++) {
      if (k === optionCount && i % 3 !== 0) continue
      const t = session.openMs + i * 1000
      const base = k < 0 ? 18 : k === 0 ? 580 : 2 + k
      const o = Math.round((base + Math.sin(i / 50 + k) * base * 0.01) * 100) / 100
      const c = Math.round((o + ((i % 7) - 3) / 100) * 100) / 100
      const h = Math.max(o, c) + 0.02,
        l = Math.min(o, c) - 0.01
      if (k < 0) out.push({ o, c, h: Math.round(h * 100) / 100, l: Math.round(l * 100) / 100, t })
      else
        out.push({
          v: 100 + ((i * 37 + k) % 900),
          vw: Math.round(((o + c) / 2) * 10000) / 10000,
          o,
          c,
          h: Math.round(h * 100) / 100,
          l: Math.round(l * 100) / 100,
          t,
          n: 1 + (i % 9)
        })
    }
    return out
  }
  const contract = (ticker: string): WireContract => ({
    cfi: "OCASPS",
    contract_type: ticker.includes("C0") ? "call" : "put",
    exercise_style: "american",
    expiration_date: "2025-10-31",
    primary_exchange: "BATO",
    shares_per_contract: 100,
    strike_price: Number(ticker.slice(-8)) / 1000,
    ticker,
    underlying_ticker: "SPY"
  })
  return {
    holidays: nyseHolidays,
    secondBars: (ticker, date) => {
      const key = `${ticker}|${date}`
      let b = cache.get(key)
      if (!b) cache.set(key, (b = bars(ticker, date)))
      return b
    },
    contracts: () => options.map(contract),
    news: () => []
  }
}

export const fixedClock = (startMs: number, speed: SimClock["speed"]): SimClock => {
  const realStart = Date.now()
  const factor = speed === "max" ? 1000 : speed
  return { startMs, speed, now: () => startMs + (Date.now() - realStart) * factor }
}

export interface TestServer {
  readonly port: number
  readonly ws: WsServerHandle
  readonly close: () => Promise<void>
}

export const startWsServer = async (
  market: MarketData,
  clock: SimClock,
  options: { apiKey?: string; faults?: Partial<WsFaults> } = {}
): Promise<TestServer> => {
  const server = http.createServer((_req, res) => res.writeHead(404).end())
  const ws = attachWebSocket(server, { market, clock, apiKey: options.apiKey, faults: options.faults })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    ws,
    close: async () => {
      await ws.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** A raw `ws` client that records every text frame and parses the valid ones. */
export class Recorder {
  readonly raw: Array<string> = []
  readonly frames: Array<ReadonlyArray<Record<string, unknown>>> = []
  readonly invalid: Array<string> = []
  readonly messages: Array<Record<string, unknown>> = []
  /** Greatest window start (`s`, or `t` for V) seen per event type. */
  readonly latest = new Map<string, number>()
  closeCode: number | undefined
  readonly ws: WebSocket
  readonly opened: Promise<void>
  readonly closed: Promise<number>
  private waiters: Array<() => void> = []

  constructor(url: string, options: { readonly autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...options })
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve())
      this.ws.once("error", reject)
    })
    this.closed = new Promise((resolve) => this.ws.once("close", (code) => resolve((this.closeCode = code))))
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) throw new Error("binary frame")
      const text = data.toString()
      this.raw.push(text)
      try {
        const parsed = JSON.parse(text) as unknown
        if (!Array.isArray(parsed)) throw new Error(`frame is not an array: ${text.slice(0, 100)}`)
        this.frames.push(parsed as Array<Record<string, unknown>>)
        for (const m of parsed as Array<Record<string, unknown>>) {
          this.messages.push(m)
          const at = (m["s"] ?? m["t"]) as number | undefined
          if (at !== undefined && at > (this.latest.get(m["ev"] as string) ?? -Infinity))
            this.latest.set(m["ev"] as string, at)
        }
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e
        this.invalid.push(text)
      }
      this.waiters.forEach((w) => w())
    })
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg))
  }

  reached(ev: string, at: number): boolean {
    return (this.latest.get(ev) ?? -Infinity) >= at
  }

  events(ev: string): ReadonlyArray<Record<string, unknown>> {
    return this.messages.filter((m) => m["ev"] === ev)
  }

  /** Resolve once `predicate` holds (checked after every frame), reject after `ms`. */
  until(predicate: () => boolean, ms = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout; ${this.raw.length} frames, last: ${this.raw.at(-1)?.slice(0, 300)}`)),
        ms
      )
      const check = () => {
        if (!predicate()) return
        clearTimeout(timer)
        this.waiters = this.waiters.filter((w) => w !== check)
        resolve()
      }
      this.waiters.push(check)
      this.closed.then(check, check)
    })
  }
}

/** The status frames as `status: message` strings, for exact comparisons. */
export const statuses = (r: Recorder): ReadonlyArray<string> =>
  r.frames
    .filter((f) => f.every((m) => m["ev"] === "status"))
    .map((f) => f.map((m) => `${m["status"]}: ${m["message"]}`).join(" | "))

export const authed = async (
  url: string,
  params: string,
  key = "k",
  options: { readonly autoPong?: boolean } = {}
): Promise<Recorder> => {
  const r = new Recorder(url, options)
  await r.opened
  r.send({ action: "auth", params: key })
  r.send({ action: "subscribe", params })
  await r.until(() => statuses(r).length >= 2 + params.split(",").length)
  return r
}
