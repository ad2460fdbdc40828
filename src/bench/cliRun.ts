/**
 * The user's path, measured from outside: `node dist/main.js backfill` as a child process (under
 * `/usr/bin/time` when present, for the exact peak RSS), its resident set sampled from
 * /proc/<pid>/status, and a sample taken each time `everyDays` more days have completed (the
 * backfill logs `Day D complete` once a day is in the lake and every sink).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { MAIN } from "./simulatorProcess.js"

export interface CliRunResult {
  readonly seconds: number
  readonly exitCode: number | null
  readonly rows: number
  /** Peak RSS of the backfill process, MB (from /usr/bin/time, else the highest VmHWM sampled). */
  readonly peakRssMb: number
  /** [days completed, RSS MB then, peak RSS MB so far] every `everyDays` days. */
  readonly rssByDays: ReadonlyArray<readonly [number, number, number]>
  readonly output: string
}

const TIME = "/usr/bin/time"

const status = (pid: number): { rss: number; hwm: number } | undefined => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0)
    return { rss: Math.round(kb("VmRSS") / 1024), hwm: Math.round(kb("VmHWM") / 1024) }
  } catch {
    return undefined
  }
}

/** The node process: the child itself, or /usr/bin/time's child. */
const nodePid = (pid: number, timed: boolean): number | undefined => {
  if (!timed) return pid
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim()
    return children === "" ? undefined : Number(children.split(/\s+/)[0])
  } catch {
    return undefined
  }
}

export const runBackfillCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  everyDays = 20
): Promise<CliRunResult> =>
  new Promise((resolve, reject) => {
    const timed = fs.existsSync(TIME)
    const command = [process.execPath, MAIN, "backfill", ...args]
    const started = performance.now()
    const child = timed
      ? spawn(TIME, ["-f", "maxrss_kb=%M", ...command], {
          cwd: path.join(path.dirname(MAIN), ".."),
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
      : spawn(command[0]!, command.slice(1), {
          cwd: path.join(path.dirname(MAIN), ".."),
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
    let output = ""
    let hwm = 0
    let days = 0
    const rssByDays: Array<readonly [number, number, number]> = []
    const sample = () => {
      const pid = nodePid(child.pid!, timed)
      const s = pid === undefined ? undefined : status(pid)
      if (s !== undefined) hwm = Math.max(hwm, s.hwm)
      return s
    }
    const onData = (d: Buffer) => {
      const text = d.toString()
      output += text
      for (const _ of text.matchAll(/Day \d{4}-\d{2}-\d{2} complete/g)) {
        days += 1
        if (days % everyDays === 0) {
          const s = sample()
          rssByDays.push([days, s?.rss ?? 0, hwm])
        }
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    const timer = setInterval(sample, 200)
    child.on("error", reject)
    child.on("exit", (code) => {
      clearInterval(timer)
      const seconds = (performance.now() - started) / 1000
      const fromTime = /maxrss_kb=(\d+)/.exec(output)
      const rows = Number((/([\d,]+) rows in [\d.]+ s/.exec(output)?.[1] ?? "0").replaceAll(",", ""))
      resolve({
        seconds,
        exitCode: code,
        rows,
        peakRssMb: fromTime ? Math.round(Number(fromTime[1]) / 1024) : hwm,
        rssByDays,
        output
      })
    })
  })
