/**
 * Bench: the simulator's WebSocket replay at `--speed max` to one local client.
 *
 * Starts the simulator (a child `node dist/main.js simulate --port P --seed S --start START
 * --speed max`, or in-process with `--in-process`, or uses `--url`), connects plain `ws` clients
 * (one process) to /stocks (`A.SPY`), /indices (`A.I:VIX`) and /options (`--contracts N`
 * explicit `A.` subscriptions of the nearest expiration's strikes nearest SPY's open, or `A.*`
 * with `--contracts all`); `--clusters` picks which. Every data frame is `JSON.parse`d (unless
 * `--no-parse`: events are then counted by their `{"ev":` prefix, to show what the simulator can
 * send when the client does less).
 *
 * Prints: the first session (START's trading day) from the first data frame to its last event,
 * checked complete against the market (SPY, I:VIX and the contracts' second bars of that day);
 * the rate over `--seconds` N (default 10) after the first event (later sessions included);
 * CPU per event of the client and of the simulator child (from /proc), the client's peak RSS,
 * the load average before and after.
 *
 * Run: `npm run build && node dist/bench/wsReplay.js [--seconds 10] [--port 8791] [--seed 42]
 * [--contracts 100|N|all] [--clusters stocks,indices,options] [--no-parse] [--in-process | --url ws://127.0.0.1:P]`
 */
import * as fs from "node:fs"
import * as os from "node:os"
import WebSocket from "ws"
import { nyDateOf, nyTimeMs } from "../domain/calendar.js"
import { SPY, VIX } from "../domain/tickers.js"
import { makeSyntheticMarket } from "../simulator/market/SyntheticMarket.js"
import { makeSimClock } from "../simulator/SimClock.js"
import { startSimulator } from "../simulator/server.js"
import { peakRssMb, startSimulatorProcess } from "./simulatorProcess.js"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const START = arg("start") ?? "2025-10-28T09:30:00-04:00"
const DATE = nyDateOf(Date.parse(START))
const SESSION1_CLOSE = nyTimeMs(DATE, 16) // the synthetic market has no early close on the default date
const seconds = Number(arg("seconds") ?? 10)
const port = Number(arg("port") ?? 8791)
const seed = Number(arg("seed") ?? 42)
const contractsArg = arg("contracts") ?? "100"
const clusters = (arg("clusters") ?? "stocks,indices,options").split(",")
const parse = !process.argv.includes("--no-parse")
const inProcess = process.argv.includes("--in-process")
/** Connect to an already running simulator (e.g. one started under `node --cpu-prof`). */
const external = arg("url")

/** Contracts of the nearest listed expiration, strikes nearest SPY's open first, call and put. */
const nearTheMoney = (count: number): ReadonlyArray<string> => {
  const market = makeSyntheticMarket(seed)
  const open = market.officialOpen(DATE)
  const contracts = market.contracts(DATE)
  return [...contracts]
    .sort((a, b) =>
      (a.expiration_date < b.expiration_date ? -1 : a.expiration_date > b.expiration_date ? 1 : 0) ||
      Math.abs(a.strike_price - open) - Math.abs(b.strike_price - open) || (a.ticker < b.ticker ? -1 : 1))
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
const newCounter = (): Counter => ({ events: 0, frames: 0, bytes: 0, maxFrame: 0, first: undefined, session1: 0, session1End: undefined })

const EV = Buffer.from(`{"ev":`)
const S_KEY = `"s":`
const STATUS = `[{"ev":"status",`

/** Events in a frame without parsing it: `{"ev":` occurs once per event (tickers hold no `{`). */
const countEvents = (data: Buffer): number => {
  let n = 0
  for (let i = data.indexOf(EV); i >= 0; i = data.indexOf(EV, i + EV.length)) n++
  return n
}

const connect = (wsUrl: string, cluster: string, params: string, counter: Counter): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}/${cluster}`, { perMessageDeflate: false })
    ws.on("error", reject)
    ws.on("open", () => {
      ws.send(JSON.stringify({ action: "auth", params: "bench" }))
      ws.send(JSON.stringify({ action: "subscribe", params }))
      resolve(ws)
    })
    ws.on("message", (data: Buffer) => {
      let count: number
      let lastS: number
      if (parse) {
        const text = data.toString()
        const parsed = JSON.parse(text) as ReadonlyArray<{ ev: string; s?: number }>
        if (!Array.isArray(parsed)) throw new Error(`frame is not an array: ${text.slice(0, 100)}`)
        if (parsed[0]?.ev === "status") return
        count = parsed.length
        lastS = parsed[parsed.length - 1]!.s ?? Infinity
      } else {
        if (data.toString("latin1", 0, 16) === STATUS) return
        count = countEvents(data)
        const at = data.lastIndexOf(S_KEY)
        lastS = at < 0 ? Infinity : Number(data.toString("latin1", at + S_KEY.length, data.indexOf(44, at)))
      }
      const now = performance.now()
      if (firstFrameCpu === undefined) firstFrameCpu = { client: process.cpuUsage(cpu0), sim: simPid === undefined ? NaN : cpuOf(simPid) - simCpu0 }
      counter.first ??= now
      counter.events += count
      // a frame never mixes sessions: the replay's batches end at a session's close
      if (lastS < SESSION1_CLOSE) {
        counter.session1 += count
        counter.session1End = now
      } else if (session1Cpu === undefined) session1Cpu = { client: process.cpuUsage(cpu0), sim: simPid === undefined ? NaN : cpuOf(simPid) - simCpu0 }
      counter.frames++
      counter.bytes += data.length
      counter.maxFrame = Math.max(counter.maxFrame, data.length)
    })
  })

/** CPU seconds (user + system) of a process, from /proc (Linux). */
const cpuOf = (pid: number): number => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
}

let cpu0: NodeJS.CpuUsage | undefined
let simPid: number | undefined
let simCpu0 = 0
/** CPU used from connecting until the first data frame, and until the first frame after the first session (client, simulator child). */
let firstFrameCpu: { client: NodeJS.CpuUsage; sim: number } | undefined
let session1Cpu: { client: NodeJS.CpuUsage; sim: number } | undefined

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ")

const main = async () => {
  const all = contractsArg === "all"
  const options = all ? [] : nearTheMoney(Number(contractsArg))
  const loadBefore = load()
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
    simPid = child.child.pid
  }
  const params: Record<string, string> = {
    stocks: `A.${SPY}`,
    indices: `A.${VIX}`,
    options: all ? "A.*" : options.map((t) => `A.${t}`).join(",")
  }
  const counters = Object.fromEntries(clusters.map((c) => [c, newCounter()])) as Record<string, Counter>
  simCpu0 = simPid === undefined ? 0 : cpuOf(simPid)
  cpu0 = process.cpuUsage()
  const sockets = await Promise.all(clusters.map((c) => connect(wsUrl, c, params[c]!, counters[c]!)))
  const list = Object.values(counters)
  const total = () => list.reduce((n, c) => n + c.events, 0)
  const deadline = Date.now() + 60_000
  while (list.every((c) => c.first === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2))
  const t0 = performance.now()
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
  const simCpu = simPid === undefined ? NaN : cpuOf(simPid) - simCpu0
  const events = total() - e0
  const received = total()
  sockets.forEach((ws) => ws.terminate())
  await stop()
  const loadAfter = load()
  const frames = list.reduce((n, c) => n + c.frames, 0)
  const maxFrame = Math.max(...list.map((c) => c.maxFrame))
  const firstAt = Math.min(...list.map((c) => c.first ?? Infinity))
  const session1 = list.reduce((n, c) => n + c.session1, 0)
  const session1Ms = Math.max(...list.map((c) => c.session1End ?? 0)) - firstAt
  // what the first session holds, from the market itself
  const market = makeSyntheticMarket(seed, { optionDays: 4096 })
  const tickers = [
    ...(clusters.includes("stocks") ? [SPY] : []),
    ...(clusters.includes("indices") ? [VIX] : []),
    ...(clusters.includes("options") ? (all ? market.contracts(DATE).map((c) => c.ticker) : options) : [])
  ]
  const expected = tickers.reduce((n, t) => n + market.secondBars(t, DATE).length, 0)
  const what = `${clusters.join(" + ")}${clusters.includes("options") ? ` (${all ? "A.* = every listed contract" : `${options.length} contracts`})` : ""}`
  const perEvent = (s: number) => ((s * 1e6) / received).toFixed(2)
  console.log(
    [
      `ws replay at max (${external ?? (inProcess ? "in-process" : "child process")}), ${what}, client ${parse ? "JSON.parse" : "counting (no parse)"}; load average before ${loadBefore}, after ${loadAfter}`,
      `first session ${DATE}: ${session1} events (market: ${expected}${session1 === expected ? ", complete" : ", INCOMPLETE"}) in ${Math.round(session1Ms)} ms ` +
        `= ${Math.round(session1 / (session1Ms / 1000))} events/s (from the first data frame)` +
        (session1Cpu === undefined || firstFrameCpu === undefined ? "" : `; CPU per event from its first frame to its end: ` +
          `client ${(((session1Cpu.client.user + session1Cpu.client.system - firstFrameCpu.client.user - firstFrameCpu.client.system)) / session1).toFixed(2)} µs` +
          `${simPid === undefined ? "" : `, simulator ${(((session1Cpu.sim - firstFrameCpu.sim) * 1e6) / session1).toFixed(2)} µs ` +
          `(${(firstFrameCpu.sim * 1000).toFixed(0)} ms of simulator CPU from connect to the first frame: market generation, first chunk)`}`),
      `over ${elapsed.toFixed(1)} s after the first frame: ${Math.round(events / elapsed)} events/s (${list.map((c, i) => `${clusters[i]} ${c.events}`).join(", ")}; ` +
        `${frames} frames, largest ${Math.round(maxFrame / 1024)} KiB, ${Math.round(list.reduce((n, c) => n + c.bytes, 0) / elapsed / 1e6)} MB/s); per second ${perSecond.join(" ")}`,
      `CPU per event received (${received}): ${inProcess ? "simulator + client" : "client"} ${perEvent((cpu.user + cpu.system) / 1e6)} µs` +
        `${simPid === undefined ? "" : `, simulator child ${perEvent(simCpu)} µs (its whole life from connect to stop)`}; client peak RSS ${peakRssMb()} MB`
    ].join("\n")
  )
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
