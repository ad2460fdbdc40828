/**
 * `npm run bench:live [-- --options N] [--underlyings SPY,QQQ,IWM] [--runs N]`: the live path at
 * --speed max (./live.ts), run `--runs` times (default 3), each in its own process, over a whole
 * simulated session of SPY, QQQ and IWM with up to `--options` contracts each (default 1,160: every
 * contract of each chain, 2,620 in all; SPY's 1,160 alone replay in about 7 s on 2 cores, short of
 * the 10 s of sustained load the figure needs). Prints each run's events/s, sustained
 * seconds, p99 receipt-to-durable latency, peak RSS and exactness, then the minimum, median and
 * maximum. `npm run bench:live:once` is a single run of ./live.ts with its full report.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { loadAverage, percentile } from "./measure.js"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : process.argv[i + 1]!
}
const options = Number(arg("options", "1160"))
const underlyings = arg("underlyings", "SPY,QQQ,IWM")
const runs = Math.max(1, Number(arg("runs", "3")))
const LIVE = path.join(path.dirname(fileURLToPath(import.meta.url)), "live.js")

interface Run {
  readonly rate: number
  readonly seconds: number
  readonly p99: number
  readonly rssMb: number
  readonly exact: boolean
}

const once = () =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [LIVE, "--options", String(options), "--underlyings", underlyings], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.on("exit", (code) => {
      const sustained = /sustained .*?: (\d+) events\/s over ([\d.]+) s/.exec(out)
      const p99 = /p99 (\d+) ms/.exec(out)
      const rss = /peak RSS: (\d+) MB/.exec(out)
      if (code !== 0 || !sustained || !p99 || !rss)
        return reject(new Error(`bench:live run failed (exit ${code}):\n${out}`))
      const exact = /lake vs ground truth:/.test(out) && !/[1-9]\d* missing\/wrong|[1-9]\d* spurious/.test(out)
      resolve({
        rate: Number(sustained[1]),
        seconds: Number(sustained[2]),
        p99: Number(p99[1]),
        rssMb: Number(rss[1]),
        exact
      })
    })
  })

const main = async () => {
  console.log(
    `bench:live — ${runs} run(s), ${underlyings.replaceAll(",", " + ")} + I:VIX + up to ${options} options each at --speed max; load average ${loadAverage()} before (2 cores)`
  )
  const results: Array<Run> = []
  for (let i = 1; i <= runs; i++) {
    const r = await once()
    results.push(r)
    console.log(
      `run ${i}: ${r.rate} events/s over ${r.seconds.toFixed(2)} s sustained; p99 receipt-to-durable ${r.p99} ms; peak RSS ${r.rssMb} MB; lake ${r.exact ? "exact" : "NOT EXACT"}; load average ${loadAverage()}`
    )
  }
  const rates = results.map((r) => r.rate)
  const line = (label: string, xs: Array<number>, unit: string) =>
    `${label}: min ${Math.min(...xs)} / median ${percentile(xs, 50)} / max ${Math.max(...xs)} ${unit}`
  console.log(line("events/s", rates, ""))
  console.log(
    line(
      "p99 receipt-to-durable",
      results.map((r) => r.p99),
      "ms"
    )
  )
  console.log(
    line(
      "peak RSS",
      results.map((r) => r.rssMb),
      "MB"
    )
  )
  console.log(
    `targets: median >= 200k events/s ${percentile(rates, 50) >= 200_000 ? "MET" : "NOT MET"}; every p99 <= 6000 ms (flush 5 s + 1 s) ${results.every((r) => r.p99 <= 6000) ? "MET" : "NOT MET"}; every peak RSS <= 400 MB ${results.every((r) => r.rssMb <= 400) ? "MET" : "NOT MET"}; every lake exact ${results.every((r) => r.exact) ? "YES" : "NO"}`
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
