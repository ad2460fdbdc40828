/**
 * Bench: the simulator's WebSocket replay at `--speed max` to one local client.
 *
 * Starts the simulator (a child `node dist/main.js simulate --port P --seed S --start START
 * --speed max`, another build's with `--main`, in-process with `--in-process`, or uses `--url`),
 * connects plain `ws` clients (one process) to /stocks (`A.SPY`), /indices (`A.I:VIX`) and
 * /options (`--contracts N` explicit `A.` subscriptions, nearest expiration first and strikes
 * nearest SPY's open first; `--contracts all`: every SPY contract, listed explicitly, since `A.*` now
 * also spans QQQ's and IWM's chains: same load as before and A/B with older builds); `--clusters` picks which. Every
 * data frame is `JSON.parse`d (unless `--no-parse`: events are then counted by their `{"ev":`
 * prefix, to show what the simulator sends when the client does less).
 *
 * `--sessions 1` (default): the simulator stops at the first session's close (`replayUntilMs`,
 * as bench:live runs it); measured from the first data frame to the last event of the session,
 * checked complete against the market (the tickers' second bars of that day, computed in a child
 * process). `--sessions all`: the replay runs on through later sessions and the rate is also
 * taken over `--seconds` N (default 10) after the first frame.
 *
 * Also printed: CPU per event of the client and of the simulator child (from /proc) over the
 * same interval, the CPU the simulator spent before the first frame, frames, the client's peak
 * RSS, and the load average before and after (the machine is shared: read rates with it).
 *
 * Run: `npm run build && node dist/bench/wsReplay.js [--contracts 100|N|all] [--clusters stocks,indices,options]
 * [--sessions 1|all] [--seconds 10] [--no-parse] [--port 8791] [--seed 42] [--in-process | --url ws://127.0.0.1:P | --main OTHER/dist/main.js]`
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import WebSocket from "ws"
import { nyDateOf, nyTimeMs } from "../domain/calendar.js"
import { SPY, VIX } from "../domain/tickers.js"
import { makeSimClock } from "../simulator/SimClock.js"
import { startSimulator } from "../simulator/server.js"
import { peakRssMb, startSimulatorProcess } from "./simulatorProcess.js"
import { cpuSecondsOf, loadAverage } from "./measure.js"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const START = arg("start") ?? "2025-10-28T09:30:00-04:00"
const DATE = nyDateOf(Date.parse(START))
const SESSION1_CLOSE = nyTimeMs(DATE, 16) // the synthetic market has no early close on the default date
const seconds = Number(arg("seconds") ?? 10)
const oneSession = (arg("sessions") ?? "1") === "1"
const port = Number(arg("port") ?? 8791)
const seed = Number(arg("seed") ?? 42)
const contractsArg = arg("contracts") ?? "100"
const clusters = (arg("clusters") ?? "stocks,indices,options").split(",")
const parse = !process.argv.includes("--no-parse")
const inProcess = process.argv.includes("--in-process")
/** Another build's dist/main.js to run as the simulator child (e.g. an earlier version, for A/B figures). */
const mainJs = arg("main")
/** Connect to an already running simulator (e.g. one started under `node --cpu-prof`). */
const external = arg("url")

/**
 * The options to subscribe (nearest expiration first, strikes nearest SPY's open first; all
 * listed with `all`) and the first session's bar count over the subscribed tickers, computed in
 * a child process so generating the market does not count towards this process.
 */
const sessionPlan = (): { options: Array<string>; expected: number } => {
  const here = path.dirname(new URL(import.meta.url).pathname)
  const script = `
    const { makeSyntheticMarket } = await import(${JSON.stringify(path.join(here, "..", "simulator/market/SyntheticMarket.js"))})
    const m = makeSyntheticMarket(${seed}, { optionDays: 4096 }); const d = ${JSON.stringify(DATE)}
    const open = m.officialOpen(d)
    const options = [...m.contracts(d)]
      .sort((a, b) => (a.expiration_date < b.expiration_date ? -1 : a.expiration_date > b.expiration_date ? 1 : 0) ||
        Math.abs(a.strike_price - open) - Math.abs(b.strike_price - open) || (a.ticker < b.ticker ? -1 : 1))
      .slice(0, ${contractsArg === "all" ? "Infinity" : Number(contractsArg)}).map((c) => c.ticker)
    const clusters = ${JSON.stringify(clusters)}
    const tickers = [...(clusters.includes("stocks") ? ["SPY"] : []), ...(clusters.includes("indices") ? ["I:VIX"] : []), ...(clusters.includes("options") ? options : [])]
    console.log(JSON.stringify({ options, expected: tickers.reduce((n, t) => n + m.secondBars(t, d).length, 0) }))`
  return JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })
  ) as ReturnType<typeof sessionPlan>
}

interface Counter {
  events: number
  frames: number
  bytes: number
  maxFrame: number
  first: number | undefined
  last: number | undefined
  /** Events of the first session (window start before its close) and when its last one came. */
  session1: number
  session1End: number | undefined
}
const newCounter = (): Counter => ({
  events: 0,
  frames: 0,
  bytes: 0,
  maxFrame: 0,
  first: undefined,
  last: undefined,
  session1: 0,
  session1End: undefined
})

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
      if (firstFrameCpu === undefined)
        firstFrameCpu = { client: process.cpuUsage(cpu0), sim: simPid === undefined ? NaN : cpuOf(simPid) - simCpu0 }
      counter.first ??= now
      counter.last = now
      counter.events += count
      // a frame never mixes sessions: the replay's batches end at a session's close
      if (lastS < SESSION1_CLOSE) {
        counter.session1 += count
        counter.session1End = now
        session1Seen += count
        if (session1Seen === expected)
          session1Cpu = { client: process.cpuUsage(cpu0), sim: simPid === undefined ? NaN : cpuOf(simPid) - simCpu0 }
      }
      counter.frames++
      counter.bytes += data.length
      counter.maxFrame = Math.max(counter.maxFrame, data.length)
    })
  })

/** CPU seconds (user + system) of a process, from /proc (Linux). */
const cpuOf = (pid: number): number => cpuSecondsOf(`/proc/${pid}/stat`)

let cpu0: NodeJS.CpuUsage | undefined
let simPid: number | undefined
let simCpu0 = 0
/** CPU used from connecting until the first data frame, and until the first session's last event (client, simulator child). */
let firstFrameCpu: { client: NodeJS.CpuUsage; sim: number } | undefined
let session1Cpu: { client: NodeJS.CpuUsage; sim: number } | undefined
let session1Seen = 0
let expected = NaN

const load = () => loadAverage()

const main = async () => {
  const all = contractsArg === "all"
  const plan = sessionPlan()
  expected = plan.expected
  const loadBefore = load()
  const simArgs = [
    "--seed",
    String(seed),
    "--start",
    START,
    "--speed",
    "max",
    ...(oneSession ? ["--faults", JSON.stringify({ ws: { replayUntilMs: SESSION1_CLOSE } })] : [])
  ]
  let wsUrl: string
  let stop: () => Promise<void>
  if (external !== undefined) {
    wsUrl = external
    stop = async () => {}
  } else if (inProcess) {
    const sim = await startSimulator({
      port,
      seed,
      clock: makeSimClock({ startMs: Date.parse(START), speed: "max" }),
      faults: oneSession ? { ws: { replayUntilMs: SESSION1_CLOSE } } : {}
    })
    wsUrl = sim.wsUrl
    stop = sim.close
  } else {
    const child = await startSimulatorProcess(port, simArgs, mainJs)
    wsUrl = `ws://127.0.0.1:${port}`
    stop = child.stop
    simPid = child.child.pid
  }
  const params: Record<string, string> = {
    stocks: `A.${SPY}`,
    indices: `A.${VIX}`,
    options: plan.options.map((t) => `A.${t}`).join(",")
  }
  const counters = Object.fromEntries(clusters.map((c) => [c, newCounter()])) as Record<string, Counter>
  simCpu0 = simPid === undefined ? 0 : cpuOf(simPid)
  cpu0 = process.cpuUsage()
  const sockets = await Promise.all(clusters.map((c) => connect(wsUrl, c, params[c]!, counters[c]!)))
  const list = Object.values(counters)
  const total = () => list.reduce((n, c) => n + c.events, 0)
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  for (const deadline = Date.now() + 60_000; list.every((c) => c.first === undefined) && Date.now() < deadline;)
    await sleep(2)
  const t0 = performance.now()
  const perSecond: Array<number> = []
  // until the session is complete, or nothing came for 3 s (the replay stopped at the close with events missing)
  const lastFrame = () => Math.max(...list.map((c) => c.last ?? 0))
  if (oneSession)
    for (
      const deadline = Date.now() + 120_000;
      session1Seen < expected && Date.now() < deadline && performance.now() - lastFrame() < 3000;
    )
      await sleep(5)
  else
    for (let i = 0, last = total(); i < seconds; i++) {
      await sleep(1000)
      perSecond.push(total() - last)
      last = total()
    }
  const elapsed = (performance.now() - t0) / 1000
  const simPeakMb =
    simPid === undefined
      ? NaN
      : Math.round(Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${simPid}/status`, "utf8"))?.[1]) / 1024)
  const cpu = process.cpuUsage(cpu0)
  const received = total()
  sockets.forEach((ws) => ws.terminate())
  await stop()
  const loadAfter = load()
  const frames = list.reduce((n, c) => n + c.frames, 0)
  const maxFrame = Math.max(...list.map((c) => c.maxFrame))
  const firstAt = Math.min(...list.map((c) => c.first ?? Infinity))
  const session1 = list.reduce((n, c) => n + c.session1, 0)
  const session1Ms = Math.max(...list.map((c) => c.session1End ?? 0)) - firstAt
  const what = `${clusters.join(" + ")}${clusters.includes("options") ? ` (${all ? "every listed SPY contract" : `${plan.options.length} contracts`})` : ""}`
  const us = (seconds: number, events: number) => ((seconds * 1e6) / events).toFixed(2)
  const cpuS = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6
  console.log(
    [
      `ws replay at max (${external ?? (inProcess ? "in-process" : `child process${mainJs === undefined ? "" : ` ${mainJs}`}`)}), ${what}, ` +
        `client ${parse ? "JSON.parse" : "counting (no parse)"}; load average before ${loadBefore}, after ${loadAfter}`,
      `first session ${DATE}: ${session1} events (market: ${expected}${session1 === expected ? ", complete" : ", INCOMPLETE"}) in ${Math.round(session1Ms)} ms ` +
        `= ${Math.round(session1 / (session1Ms / 1000))} events/s from the first data frame to its last event` +
        (session1Cpu === undefined || firstFrameCpu === undefined
          ? ""
          : `; CPU per event over that time: client ${us(cpuS(session1Cpu.client) - cpuS(firstFrameCpu.client), session1)} µs` +
            (simPid === undefined
              ? ""
              : `, simulator ${us(session1Cpu.sim - firstFrameCpu.sim, session1)} µs ` +
                `(before the first frame: ${(firstFrameCpu.sim * 1000).toFixed(0)} ms of simulator CPU, market generation and first chunks)`)),
      ...(oneSession
        ? []
        : [
            `over ${elapsed.toFixed(1)} s after the first frame: ${Math.round((received - 0) / elapsed)} events/s received (${list.map((c, i) => `${clusters[i]} ${c.events}`).join(", ")}); ` +
              `per second ${perSecond.join(" ")}`
          ]),
      `${frames} frames, largest ${Math.round(maxFrame / 1024)} KiB, ${Math.round(list.reduce((n, c) => n + c.bytes, 0) / 1e6)} MB; ` +
        `CPU from connect to the end, per event received (${received}): ${inProcess ? "simulator + client" : "client"} ${us(cpuS(cpu), received)} µs; client peak RSS ${peakRssMb()} MB${simPid === undefined ? "" : `, simulator peak RSS ${simPeakMb} MB`}`
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
