/**
 * `npm run bench:backfill [-- --days N] [--rss-every N] [--lake-days N] [--lake-runs N] [--skip-lake] [--skip-naive] [--skip-no-sinks]`
 *
 * The headline: the user's path. `node dist/main.js backfill` with the default config (lake, the
 * DuckDB warehouse, the consolidated view) over N trading days (default 20; 252 = a year) from
 * `node dist/main.js simulate` in its own process, timed from process start to exit, with its peak
 * RSS and its RSS every 20 days. Then, in the same run, the bare REST ceiling of the same pages
 * (fetch + JSON.parse, 8 in flight, the simulator now warm) and the ratio between the two. Between
 * them, the same command with `sinks.enabled: []` (the lake alone, same process model): what the
 * warehouse costs the user's path in time and peak RSS (`--skip-no-sinks` leaves it out).
 * Secondary lines: the lake alone and the naive pipeline over `--lake-days` (default 3) days.
 * Every figure is printed with the load average: this 2-core machine is often shared.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { holidayIndex, tradingDaysBetween } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { runBackfillCli } from "./cliRun.js"
import { lakeOnlyBench } from "./lakeOnly.js"
import { firstPages, restCeiling } from "./restCeiling.js"
import { MAIN, startSimulatorProcess } from "./simulatorProcess.js"
import { parse, stringify } from "yaml"
import { loadAverage } from "./measure.js"

const flag = (name: string) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const days = Math.max(1, Number(flag("--days") ?? 20))
const lakeDays = Math.max(1, Number(flag("--lake-days") ?? 3))
const lakeRuns = Math.max(1, Number(flag("--lake-runs") ?? 3))
const rssEvery = Math.max(1, Number(flag("--rss-every") ?? 20))
const load = () => loadAverage()
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const API_KEY = "bench-key"

/** config/settings.yaml with `sinks.enabled: []`, and retry_policy.yaml beside it, in `dir`: the default config without the warehouse. */
const noSinksConfig = async (dir: string): Promise<string> => {
  const config = path.join(path.dirname(MAIN), "..", "config")
  const settings = parse(await fs.readFile(path.join(config, "settings.yaml"), "utf8")) as Record<string, unknown>
  settings["sinks"] = { ...(settings["sinks"] as object), enabled: [] }
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, "settings.yaml"), stringify(settings))
  await fs.copyFile(path.join(config, "retry_policy.yaml"), path.join(dir, "retry_policy.yaml"))
  return path.join(dir, "settings.yaml")
}

/** The last `n` trading days up to 2025-10-31 (a year back at most two calendars). */
const tradingDays = (n: number) => {
  const holidays = holidayIndex([2023, 2024, 2025].flatMap(nyseHolidays))
  const all = tradingDaysBetween("2023-01-03", "2025-10-31", holidays)
  return all.slice(Math.max(0, all.length - n))
}

const main = async () => {
  const port = 18_765 + Math.floor(Math.random() * 1000)
  const sim = await startSimulatorProcess(port, ["--seed", "42"])
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bench-backfill-"))
  try {
    const dates = tradingDays(days)
    const first = dates[0]!
    const last = dates[dates.length - 1]!
    const loadBefore = load()
    const run = await runBackfillCli(
      ["--start-date", first, "--end-date", last],
      { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: API_KEY, STORAGE_ROOT: root },
      rssEvery
    )
    const loadAfter = load()
    if (run.exitCode !== 0) throw new Error(`backfill exited ${run.exitCode}:\n${run.output.slice(-4000)}`)
    const bare = process.argv.includes("--skip-no-sinks")
      ? undefined
      : await runBackfillCli(
          [
            "--config",
            await noSinksConfig(path.join(root, "no-sinks-config")),
            "--start-date",
            first,
            "--end-date",
            last
          ],
          { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: API_KEY, STORAGE_ROOT: path.join(root, "no-sinks") },
          rssEvery
        )
    if (bare !== undefined && bare.exitCode !== 0)
      throw new Error(`backfill without sinks exited ${bare.exitCode}:\n${bare.output.slice(-4000)}`)
    const urls = await firstPages(sim.url, root, dates)
    const ceiling = await restCeiling(urls, API_KEY, 8).catch((e: unknown) => {
      throw new Error(
        `REST ceiling: ${String(e)}; simulator ${sim.child.exitCode === null ? "running" : `exited ${sim.child.exitCode}`}: ${sim.stderr().slice(-2000)}`
      )
    })
    const lakeBytes = await du(path.join(root, "raw"))
    const catalogBytes = await fs.stat(path.join(root, "warehouse.duckdb")).then(
      (s) => s.size,
      () => 0
    )
    // options_consolidated is a view over these per-date exports: they are the warehouse's too.
    const exportBytes = await du(path.join(root, "consolidated")).catch(() => 0)
    const warehouseBytes = catalogBytes + exportBytes
    const rate = run.rows / run.seconds
    const ceilingRate = run.rows / ceiling.seconds
    console.log(
      `bench:backfill  ${dates.length} trading day(s) ${first}..${last}, default config (lake + DuckDB warehouse + consolidated view), simulator in its own process, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB`
    )
    console.log(
      `  user's path : ${fmt(run.rows)} rows in ${run.seconds.toFixed(2)} s = ${fmt(rate)} rows/s (\`node dist/main.js backfill\`, process start to exit)   peak RSS ${run.peakRssMb} MB`
    )
    console.log(
      `  RSS by days : ${run.rssByDays.length === 0 ? `(fewer than ${rssEvery} days)` : run.rssByDays.map(([d, rss, peak]) => `${d} d: ${rss} MB (peak ${peak})`).join(", ")}`
    )
    console.log(
      `  REST ceiling: the same ${fmt(ceiling.requests)} pages (${fmt(ceiling.items)} items) in ${ceiling.seconds.toFixed(2)} s = ${fmt(ceilingRate)} rows/s (fetch + JSON.parse, 8 in flight, warm simulator)`
    )
    console.log(`  ratio       : ${(rate / ceilingRate).toFixed(2)} (user's path / REST ceiling)`)
    if (bare !== undefined) {
      const bareRate = bare.rows / bare.seconds
      console.log(
        `  no warehouse: the same command with sinks.enabled: [] (the lake alone): ${fmt(bare.rows)} rows in ${bare.seconds.toFixed(2)} s = ${fmt(bareRate)} rows/s, ratio ${(bareRate / ceilingRate).toFixed(2)}, peak RSS ${bare.peakRssMb} MB; so the warehouse (views, news and contracts tables, the consolidated view and its export) costs ${(run.seconds - bare.seconds).toFixed(2)} s and ${run.peakRssMb - bare.peakRssMb} MB of peak RSS`
      )
    }
    console.log(
      `  disk        : lake ${mb(lakeBytes)} MB, warehouse ${mb(warehouseBytes)} MB (warehouse.duckdb ${mb(catalogBytes)} MB + consolidated exports ${mb(exportBytes)} MB) = ${(warehouseBytes / Math.max(1, lakeBytes)).toFixed(2)}x the lake`
    )
    console.log(`  load average: ${loadBefore} before, ${loadAfter} after the backfill, ${load()} now`)
    if (sim.child.exitCode !== null)
      throw new Error(`the simulator exited ${sim.child.exitCode}: ${sim.stderr().slice(-2000)}`)
    if (!process.argv.includes("--skip-lake"))
      await lakeOnlyBench(sim.url, tradingDays(lakeDays), lakeRuns, process.argv.includes("--skip-naive"))
  } finally {
    await sim.stop()
    await fs.rm(root, { recursive: true, force: true })
  }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)

const du = async (dir: string): Promise<number> => {
  let total = 0
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
