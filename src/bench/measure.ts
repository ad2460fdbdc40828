/** What every benchmark prints with its figures: the load average, percentiles, CPU seconds. */
import * as fs from "node:fs"
import * as os from "node:os"

/** The 1, 5 and 15 minute load averages, two decimals, joined by `separator`. */
export const loadAverage = (separator = " "): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(separator)

/** The nearest-rank percentile `p` (0–100) of `xs`; NaN when empty. */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

/** CPU seconds (user + system) of a process or thread from its /proc stat file (Linux; NaN elsewhere). */
export const cpuSecondsOf = (statFile: string): number => {
  try {
    const fields = fs.readFileSync(statFile, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN
  }
}
