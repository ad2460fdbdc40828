/**
 * `npm run bench:backfill [-- DAYS]`: backfill N simulated days from a simulator in a separate
 * process, end to end (REST → validated rows → Parquet committed), then the same work done by the
 * naive pipeline (official client + parquetjs-lite). Prints rows/s for both and the ratio.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { loadSettings } from "../config/load.js"
import { holidayIndex, tradingDaysBetween } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { BackfillLayer } from "../layers/Backfill.js"
import { backfillProgram } from "../programs/backfill.js"
import { AppSettings } from "../services/AppSettings.js"
import { naiveBackfill } from "./naiveBackfill.js"
import { peakRssMb, startSimulatorProcess } from "./simulatorProcess.js"

const days = Number(process.argv[2] ?? 3)
const dates = tradingDaysBetween("2025-10-01", "2025-12-31", holidayIndex(nyseHolidays(2025))).slice(0, days)
const port = 18_765 + Math.floor(Math.random() * 1000)

const main = async () => {
  const sim = await startSimulatorProcess(port, ["--seed", "42"])
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bench-backfill-"))
  try {
    const settings = await Effect.runPromise(
      loadSettings({ overrides: { polygon: { rest_url: sim.url }, storage: { root }, POLYGON_API_KEY: "bench-key" }, ignoreEnv: true }).pipe(Effect.provide(NodeContext.layer))
    )
    const run = (storageRoot: string) =>
      Effect.runPromise(
        backfillProgram({ startDate: dates[0]!, endDate: dates[dates.length - 1]! }).pipe(
          Effect.provide(BackfillLayer.pipe(Layer.provideMerge(Layer.succeed(AppSettings, { ...settings, storage: { root: storageRoot } })))),
          Logger.withMinimumLogLevel(LogLevel.Warning)
        )
      )
    // A first, untimed pass warms the simulator's caches, so both pipelines are measured against the same warm server.
    const coldStart = performance.now()
    await run(path.join(root, "warm-up"))
    const cold = (performance.now() - coldStart) / 1000
    const started = performance.now()
    const summary = await run(root)
    const ours = (performance.now() - started) / 1000
    const rows = summary.days.reduce((n, d) => n + (d.rows.spy ?? 0) + (d.rows.options ?? 0) + (d.rows.vix ?? 0) + (d.rows.news ?? 0), 0)
    const contracts = new Map<string, ReadonlyArray<string>>()
    for (const d of dates) {
      const set = JSON.parse(await fs.readFile(path.join(root, "raw/contracts", `date=${d}`, "contracts.json"), "utf8")) as { contracts: Array<{ ticker: string }> }
      contracts.set(d, set.contracts.map((c) => c.ticker))
    }
    const skipNaive = process.argv.includes("--skip-naive")
    const naiveStart = performance.now()
    const naiveRows = skipNaive ? 0 : await naiveBackfill(sim.url, dates, path.join(root, "naive"), (d) => contracts.get(d) ?? [])
    const naive = Math.max(0.001, (performance.now() - naiveStart) / 1000)
    const ourRate = rows / ours
    const naiveRate = naiveRows / naive
    console.log(`bench:backfill  ${dates.length} simulated day(s) ${dates[0]}..${dates[dates.length - 1]}, simulator in a separate process, ${os.cpus().length} cores`)
    console.log(`  platform : ${rows.toLocaleString("en-US")} rows in ${ours.toFixed(2)} s = ${Math.round(ourRate).toLocaleString("en-US")} rows/s end to end (REST → validated → Parquet committed)`)
    console.log(`  (cold simulator, first pass: ${(rows / cold).toFixed(0)} rows/s)`)
    console.log(`  naive    : ${naiveRows.toLocaleString("en-US")} rows in ${naive.toFixed(2)} s = ${Math.round(naiveRate).toLocaleString("en-US")} rows/s (official client pagination:true + parquetjs-lite)`)
    console.log(`  speed-up : ${(ourRate / naiveRate).toFixed(1)}x   peak RSS ${peakRssMb()} MB`)
  } finally {
    await sim.stop()
    await fs.rm(root, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
