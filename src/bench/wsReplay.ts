/**
 * Bench: the simulator's WebSocket replay at `--speed max` to one local client.
 *
 * Starts the simulator (a child `node dist/main.js simulate --port P --seed S --start
 * 2025-10-28T09:30:00-04:00 --speed max`, or in-process with `--in-process`), connects plain `ws`
 * clients to /stocks (`A.SPY`), /indices (`A.I:VIX`) and /options (100 explicit contracts of the
 * nearest expiration, strikes nearest SPY's open), counts the events of every data frame for
 * `--seconds` N (default 10) after the first event and prints events/s, frames, the largest frame
 * and the client's peak RSS, plus the rate over the first session alone (after it, each new
 * session waits for MarketData to generate its bars, which bounds the sustained rate).
 *
 * Run: `npm run build && node dist/bench/wsReplay.js [--seconds 10] [--port 8791] [--seed 42] [--in-process | --url ws://127.0.0.1:P]`
 */
import WebSocket from "ws"
import { SPY, VIX } from "../domain/tickers.js"
import { makeSyntheticMarket } from "../simulator/market/SyntheticMarket.js"
import { makeSimClock } from "../simulator/SimClock.js"
import { startSimulator } from "../simulator/server.js"
import { peakRssMb, startSimulatorProcess } from "./simulatorProcess.js"

const DATE = "2025-10-28"
const START = `${DATE}T09:30:00-04:00`

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const seconds = Number(arg("seconds") ?? 10)
const port = Number(arg("port") ?? 8791)
const seed = Number(arg("seed") ?? 42)
const inProcess = process.argv.includes("--in-process")
/** Connect to an already running simulator (e.g. one started under `node --cpu-prof`). */
const external = arg("url")

/** 100 contracts of the nearest listed expiration: the 50 strikes nearest SPY's open, call and put. */
const nearTheMoney = (count = 100): ReadonlyArray<string> => {
  const market = makeSyntheticMarket(seed)
  const open = market.officialOpen(DATE)
  const contracts = market.contracts(DATE)
  const expiration = contracts.map((c) => c.expiration_date).filter((e) => e >= DATE).sort()[0]!
  return contracts
    .filter((c) => c.expiration_date === expiration)
    .sort((a, b) => Math.abs(a.strike_price - open) - Math.abs(b.strike_price - open) || (a.ticker < b.ticker ? -1 : 1))
    .slice(0, count)
    .map((c) => c.ticker)
}

interface Counter {
  events: number
  frames: number
  bytes: number
  maxFrame: number
  first: number | undefined
  /** Events of the first session (window start before its close) and when its last one came. */
  session1: number
  session1End: number | undefined
}

const SESSION1_CLOSE = Date.parse(`${DATE}T16:00:00-04:00`)

const connect = (wsUrl: string, cluster: string, params: string, counter: Counter): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}/${cluster}`, { perMessageDeflate: false })
    ws.on("error", reject)
    ws.on("open", () => {
      ws.send(JSON.stringify({ action: "auth", params: "bench" }))
      ws.send(JSON.stringify({ action: "subscribe", params }))
      resolve(ws)
    })
    ws.on("message", (data) => {
      const text = data.toString()
      const parsed = JSON.parse(text) as ReadonlyArray<{ ev: string }>
      if (!Array.isArray(parsed)) throw new Error(`frame is not an array: ${text.slice(0, 100)}`)
      if (parsed[0]?.ev === "status") return
      const now = performance.now()
      counter.first ??= now
      counter.events += parsed.length
      for (const e of parsed as ReadonlyArray<{ s?: number }>) if ((e.s ?? Infinity) < SESSION1_CLOSE) counter.session1++
      if ((parsed[parsed.length - 1] as { s?: number }).s! < SESSION1_CLOSE) counter.session1End = now
      counter.frames++
      counter.bytes += text.length
      counter.maxFrame = Math.max(counter.maxFrame, text.length)
    })
  })

const main = async () => {
  const options = nearTheMoney()
  let wsUrl: string
  let stop: () => Promise<void>
  if (external !== undefined) {
    wsUrl = external
    stop = async () => {}
  } else if (inProcess) {
    const sim = await startSimulator({ port, seed, clock: makeSimClock({ startMs: Date.parse(START), speed: "max" }) })
    wsUrl = sim.wsUrl
    stop = sim.close
  } else {
    const child = await startSimulatorProcess(port, ["--seed", String(seed), "--start", START, "--speed", "max"])
    wsUrl = `ws://127.0.0.1:${port}`
    stop = child.stop
  }
  const counters = { stocks: newCounter(), indices: newCounter(), options: newCounter() }
  const sockets = await Promise.all([
    connect(wsUrl, "stocks", `A.${SPY}`, counters.stocks),
    connect(wsUrl, "indices", `A.${VIX}`, counters.indices),
    connect(wsUrl, "options", options.map((t) => `A.${t}`).join(","), counters.options)
  ])
  const all = Object.values(counters)
  const total = () => all.reduce((n, c) => n + c.events, 0)
  const deadline = Date.now() + 30_000
  while (all.every((c) => c.first === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const e0 = total()
  const perSecond: Array<number> = []
  let last = e0
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    const now = total()
    perSecond.push(now - last)
    last = now
  }
  const elapsed = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const events = total() - e0
  sockets.forEach((ws) => ws.terminate())
  await stop()
  const frames = all.reduce((n, c) => n + c.frames, 0)
  const maxFrame = Math.max(...all.map((c) => c.maxFrame))
  const firstAt = Math.min(...all.map((c) => c.first ?? Infinity))
  const session1 = all.reduce((n, c) => n + c.session1, 0)
  const session1Ms = Math.max(...all.map((c) => c.session1End ?? 0)) - firstAt
  console.log(
    `ws replay at max (${external ?? (inProcess ? "in-process" : "child process")}, SPY + I:VIX + ${options.length} options): ` +
      `${Math.round(events / elapsed)} events/s over ${elapsed.toFixed(1)} s ` +
      `(stocks ${counters.stocks.events}, indices ${counters.indices.events}, options ${counters.options.events}; ` +
      `${frames} frames, largest ${Math.round(maxFrame / 1024)} KiB, ${Math.round(all.reduce((n, c) => n + c.bytes, 0) / elapsed / 1e6)} MB/s); ` +
      `per second ${perSecond.join(" ")}; ` +
      `${inProcess ? "simulator + client" : "client"} CPU ${((cpu.user + cpu.system) / events).toFixed(2)} µs/event; client peak RSS ${peakRssMb()} MB\n` +
      `first session (${DATE}, its bars generated before the first event): ${session1} events in ${Math.round(session1Ms)} ms = ` +
      `${Math.round(session1 / (session1Ms / 1000))} events/s`
  )
}

const newCounter = (): Counter => ({ events: 0, frames: 0, bytes: 0, maxFrame: 0, first: undefined, session1: 0, session1End: undefined })

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
