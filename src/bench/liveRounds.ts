/**
 * Check: `live` keeps its sockets through sink rounds. Runs `node dist/main.js live` (a child
 * process) on a simulated clock (`--clock-start` 09:29:50 ET, `--clock-speed K`) against the
 * built-in simulator, with `sinks.live_load_interval_s` rounds into DuckDB (and PostgreSQL with
 * `--pg-url`), for `--seconds` of real time, then `stop`s it, and reads its log:
 *
 * - reconnects of a healthy connection: lines "no message for" (idle watchdog) and "no pong"
 *   (keepalive); any other session end ("reconnecting") is counted too;
 * - the rounds: "N new lake files loaded into … in X s (rows written: sink R, …)";
 * - event-loop lag from the heartbeat log lines (p99 and max of each heartbeat period), over the
 *   whole run and over the periods that overlap a round.
 *
 * Exit code 1 when a watchdog/pong reconnect happened or no round loaded anything.
 *
 * Run (from the repository root: config/settings.yaml is the base): `npm run build && node dist/bench/liveRounds.js [--speed 60] [--seconds 240] [--interval-s 1800]
 * [--pg-url postgres://…] [--in-process] [--keep]` (`--in-process`: `sinks.live_load_worker: false`,
 * the rounds on the main thread, for comparison; `--keep` keeps the data directory and its live.log;
 * `--analyze <live.log>` only reads a kept log; `--main <path/to/dist/main.js>` runs another build).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parse as parseYaml, stringify as stringifyYaml } from "yaml"
import { nyTimeMs } from "../domain/calendar.js"
import { MAIN } from "./simulatorProcess.js"
import { percentile } from "./measure.js"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const flag = (name: string) => process.argv.includes(`--${name}`)

const DATE = "2025-10-28"
const speed = Number(arg("speed", "60"))
const seconds = Number(arg("seconds", "240"))
const intervalS = Number(arg("interval-s", "1800"))
const heartbeatS = Number(arg("heartbeat-s", String(speed)))
const pgUrl = arg("pg-url", "")
const inProcess = flag("in-process")

const root = flag("analyze") ? "" : fs.mkdtempSync(path.join(os.tmpdir(), "live-rounds-"))
const sinks = pgUrl === "" ? ["duckdb"] : ["duckdb", "postgres"]
// The repository's settings with this run's sinks (a list cannot be set through the environment).
const configFile = path.join(root, "settings.yaml")
if (root !== "") {
  const base = (parseYaml(fs.readFileSync("config/settings.yaml", "utf8")) ?? {}) as Record<
    string,
    Record<string, unknown>
  >
  base["sinks"] = { ...base["sinks"], enabled: sinks, live_load_interval_s: intervalS, live_load_worker: !inProcess }
  fs.writeFileSync(configFile, stringifyYaml(base))
  if (fs.existsSync("config/retry_policy.yaml"))
    fs.copyFileSync("config/retry_policy.yaml", path.join(root, "retry_policy.yaml"))
}
const env: NodeJS.ProcessEnv = {
  PATH: process.env["PATH"],
  HOME: process.env["HOME"],
  STORAGE_ROOT: root,
  POLYGON_REST_URL: "builtin",
  POLYGON_WS_URL: "builtin",
  HEARTBEAT_INTERVAL_S: String(heartbeatS),
  ...(pgUrl === "" ? {} : { DATABASE_URL: pgUrl })
}
const start = new Date(nyTimeMs(DATE, 9, 29, 50)).toISOString()
/** `--main <dist/main.js>`: another build's CLI (e.g. one before the sink worker, for comparison). */
const cli = arg("main", MAIN)
const run = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  child.stdout.on("data", (d: Buffer) => (log += d.toString()))
  child.stderr.on("data", (d: Buffer) => (log += d.toString()))
  const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { done, log: () => log }
}

const pct = percentile

const main = async () => {
  console.log(
    `live at ${speed}x from ${start} for ${seconds} s real, rounds every ${intervalS} s simulated into ${sinks.join(", ")} (${inProcess ? "main thread" : "worker thread"}); data in ${root}`
  )
  const live = run(["live", "--config", configFile, "--clock-start", start, "--clock-speed", String(speed)])
  const t0 = Date.now()
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const stopT0 = Date.now()
  const stop = run(["stop", "--config", configFile])
  const [stopCode, liveCode] = [await stop.done, await live.done]
  const stopS = (Date.now() - stopT0) / 1000
  const log = live.log()
  fs.writeFileSync(path.join(root, "live.log"), log)
  console.log(
    `ran ${((stopT0 - t0) / 1000).toFixed(0)} s; stop: exit ${stopCode}, live exit ${liveCode} after ${stopS.toFixed(1)} s`
  )
  const bad = analyze(log)
  if (!flag("keep")) fs.rmSync(root, { recursive: true, force: true })
  process.exit(bad ? 1 : 0)
}

/** Print what the log says; true when a watchdog/pong reconnect happened or no round loaded anything. */
const analyze = (log: string): boolean => {
  const lines = log.split("\n")
  const at = (l: string) => Date.parse(l.slice(0, 24))
  const idle = lines.filter((l) => l.includes("no message for"))
  const pong = lines.filter((l) => l.includes("no pong"))
  const reconnects = lines.filter((l) => l.includes("; reconnecting ("))
  const rounds = lines.flatMap((l) => {
    const m = /live sinks \S+: (\d+) new lake files loaded into (.+) in ([\d.]+) s/.exec(l)
    const rows = /\(rows written: ([^)]*)\)/.exec(l)?.[1] // absent in logs of builds before it was logged
    return m ? [{ end: at(l), files: Number(m[1]), into: m[2]!, seconds: Number(m[3]), rows }] : []
  })
  const beats = lines.flatMap((l) => {
    // One line per source and beat; the lag is the process's: read it from the spy lines only.
    const p99 = /event_loop_lag_p99_ms=([\d.]+)/.exec(l)
    const max = /event_loop_lag_max_ms=([\d.]+)/.exec(l)
    return / INFO  heartbeat /.test(l) && / source=spy\b/.test(l) && p99 && max
      ? [{ at: at(l), p99: Number(p99[1]), max: Number(max[1]) }]
      : []
  })
  const periodMs = heartbeatS * 1000
  const inRound = beats.filter((b) => rounds.some((r) => b.at > r.end - r.seconds * 1000 && b.at - periodMs <= r.end))
  const summary = (bs: ReadonlyArray<{ p99: number; max: number }>) =>
    bs.length === 0
      ? "no heartbeat periods"
      : `${bs.length} periods: p99 of the periods' p99 ${pct(
          bs.map((b) => b.p99),
          99
        )} ms, worst period p99 ${Math.max(...bs.map((b) => b.p99))} ms, max ${Math.max(...bs.map((b) => b.max))} ms`
  console.log(
    `rounds: ${rounds.length} (${rounds.map((r) => `${r.files} files${r.rows === undefined ? "" : ` (${r.rows} rows)`} in ${r.seconds} s`).join("; ")})`
  )
  console.log(`reconnects: "no message for" ${idle.length}, "no pong" ${pong.length}, all ${reconnects.length}`)
  for (const l of [...idle, ...pong].slice(0, 5)) console.log(`  ${l}`)
  console.log(`event-loop lag, whole run: ${summary(beats)}`)
  console.log(`event-loop lag, periods overlapping a round: ${summary(inRound)}`)
  return idle.length + pong.length > 0 || rounds.length === 0
}

// `--analyze <live.log>`: only read a log kept by an earlier run.
const saved = arg("analyze", "")
if (saved !== "") process.exit(analyze(fs.readFileSync(saved, "utf8")) ? 1 : 0)
else void main()
