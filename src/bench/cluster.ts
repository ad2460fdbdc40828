/**
 * `npm run bench:cluster [-- --days N] [--runners 1,2,3] [--idle-s S] [--no-warm-up]` (issue 17)
 *
 * The distributed backfill with 1, 2 and 3 runners on this machine: the simulator in its own
 * process, and for each N a fresh PostgreSQL database (the cluster's tables), a fresh lake root,
 * N `node dist/main.js runner` children and `node dist/main.js backfill --cluster` over the same
 * N trading days (default 10), default config (its sinks: the DuckDB warehouse, loaded by the
 * submitter). Timed from the submitter's spawn to its exit (end to end), and to the last unit's
 * `completed` line (the runners' part: the lake only). Then the per-unit costs the README's scaling
 * model is written in: wall time on a runner, REST requests, rows and bytes into the lake, runner
 * and simulator CPU seconds, the cluster's overhead (send → `started`, `completed` → reply seen,
 * PostgreSQL transactions and rows) and the submitter's sink load per date. PostgreSQL: DATABASE_URL
 * (or CLUSTER_DATABASE_URL), else postgres://postgres@127.0.0.1:5432; its databases are dropped at the end.
 * First, untimed, a single-process backfill of the range warms the simulator (`--no-warm-up`: not).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import { rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { loadSettings } from "../config/load.js"
import { holidayIndex, tradingDaysBetween } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { type ClusterRun, children, roots, runCluster } from "./clusterRun.js"
import { benchPgUrl, dropDatabase, pgQuery, withDb } from "./clusterSupport.js"
import { runBackfillCli } from "./cliRun.js"
import { loadAverage, percentile } from "./measure.js"
import { startSimulatorProcess } from "./simulatorProcess.js"

const flag = (name: string) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const days = Math.max(1, Number(flag("--days") ?? 10))
const counts = (flag("--runners") ?? "1,2,3")
  .split(",")
  .map(Number)
  .filter((n) => n >= 1)
const idleS = Math.max(1, Number(flag("--idle-s") ?? 10))
const API_KEY = "bench-key"
/** The settings the runners also read (config/settings.yaml and the environment they inherit): units_per_runner, PostgreSQL. */
const settings = await Effect.runPromise(loadSettings({}).pipe(Effect.provide(NodeContext.layer)))
const unitsPerRunner = settings.cluster.unitsPerRunner
const pgUrl = benchPgUrl(settings)
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-"
const median = (xs: ReadonlyArray<number>) => percentile(xs, 50)
const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

const tradingDays = (n: number) => {
  const holidays = holidayIndex([2023, 2024, 2025].flatMap(nyseHolidays))
  const all = tradingDaysBetween("2023-01-03", "2025-10-31", holidays)
  return all.slice(Math.max(0, all.length - n))
}

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) =>
    "  " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")
  return [line(head), ...rows.map(line)].join("\n")
}

const report = (runs: ReadonlyArray<ClusterRun>) => {
  console.log(
    table(
      [
        "runners",
        "units",
        "rows",
        "end-to-end s",
        "rows/s",
        "units/s",
        "runners' part s",
        "rows/s (lake)",
        "sinks s",
        "runner cores busy",
        "runner peak RSS MB",
        "submitter RSS MB",
        "load before → after"
      ],
      runs.map((r) => [
        String(r.n),
        String(r.units.length),
        fmt(r.rows),
        fmt(r.seconds, 2),
        fmt(r.rows / r.seconds),
        fmt(r.units.length / r.seconds, 3),
        fmt(r.runnersSeconds, 2),
        fmt(r.rows / r.runnersSeconds),
        fmt(r.sinkSeconds, 2),
        fmt(r.runnerCpuS / r.runnersSeconds, 2),
        r.runnerRssMb.join(" / "),
        String(r.cli.peakRssMb),
        `${r.loadBefore} → ${r.loadAfter}`
      ])
    )
  )
  console.log(
    "\nper-unit costs (one unit = one ticker of a feed partition of a trading date, <feed>/<date>/<ticker>; medians over the run's units unless said; rows/unit: the runner's `completed` count, the contract listing included)"
  )
  console.log(
    table(
      [
        "runners",
        "wall s/unit",
        "p90",
        "REST req/unit",
        "rows/unit",
        "lake KB/unit",
        "lake files/unit",
        "runner CPU s/unit",
        "sim CPU s/unit",
        "send→started s (1st wave)",
        "completed→reply s",
        "sink load s/date",
        "PG xacts/unit beyond idle",
        "PG rows written in run",
        "PG idle xacts/s",
        "PG idle rows written/s",
        "messages, replies",
        "PG sessions"
      ],
      runs.map((r) => {
        const u = r.units
        const k = Math.max(1, u.length)
        const firstWave = [...u].sort((a, b) => a.toStartMs - b.toStartMs).slice(0, unitsPerRunner * r.n)
        return [
          String(r.n),
          fmt(median(u.map((x) => x.wallMs)) / 1000, 2),
          fmt(
            percentile(
              u.map((x) => x.wallMs),
              90
            ) / 1000,
            2
          ),
          fmt(r.restRequests / k, 1),
          fmt(median(u.map((x) => x.rows))),
          fmt(median(u.map((x) => x.bytes)) / 1024),
          fmt(median(u.map((x) => x.files))),
          fmt(r.runnerCpuS / k, 2),
          fmt(r.simCpuS / k, 2),
          fmt(median(firstWave.map((x) => x.toStartMs)) / 1000, 2),
          fmt(median(u.map((x) => x.replyMs)) / 1000, 2),
          fmt(median(r.sinkPerDateMs) / 1000, 2),
          fmt((r.pgRun.xacts - r.pgIdlePerS.xacts * r.seconds) / k, 1),
          fmt(r.pgRun.inserted + r.pgRun.updated),
          fmt(r.pgIdlePerS.xacts, 1),
          fmt(r.pgIdlePerS.inserted + r.pgIdlePerS.updated),
          `${r.messages}, ${r.replies}`,
          String(r.pgSessions)
        ]
      })
    )
  )
  const one = runs[0]!
  const u = one.units
  const k = Math.max(1, u.length)
  console.log(`\nscaling model inputs (README "Scaling model"; from the ${one.n}-runner run):`)
  console.log(
    `  T_unit  = ${fmt(median(u.map((x) => x.wallMs)) / 1000, 2)} s   wall time of a unit on a runner (${one.n} runner(s), ${unitsPerRunner} units at a time each)`
  )
  console.log(`  R_unit  = ${fmt(one.restRequests / k, 1)} REST requests per unit (the simulator's count / units)`)
  console.log(
    `  W_unit  = ${fmt(median(u.map((x) => x.rows)))} rows, B_unit = ${fmt(median(u.map((x) => x.bytes)) / 2 ** 20, 2)} MB into the lake per unit`
  )
  console.log(
    `  C_unit  = ${fmt(one.runnerCpuS / k, 2)} runner CPU s + ${fmt(one.simCpuS / k, 2)} simulator CPU s per unit`
  )
  console.log(
    `  Q_unit  = ${fmt((one.pgRun.xacts - one.pgIdlePerS.xacts * one.seconds) / k, 1)} PostgreSQL transactions per unit beyond idle; Q_idle = ${fmt(one.pgIdlePerS.xacts / one.n, 2)} per runner per second, ${fmt(one.pgIdlePerS.inserted + one.pgIdlePerS.updated)} rows written/s idle (shard lock refresh, heartbeats)`
  )
  console.log(
    `  S_date  = ${fmt(median(one.sinkPerDateMs) / 1000, 2)} s of the submitter's sink load per date (one writer)`
  )
  console.log(
    `  total rows ${fmt(sum(u.map((x) => x.rows)))}, lake ${fmt(sum(u.map((x) => x.bytes)) / 2 ** 20, 1)} MB, warehouse.duckdb ${fmt(one.warehouseBytes / 2 ** 20, 1)} MB`
  )
}

const main = async () => {
  try {
    await pgQuery(withDb(pgUrl, "postgres"), ["SELECT 1"])
  } catch (e) {
    throw new Error(
      `bench:cluster needs PostgreSQL (set DATABASE_URL; \`source .ci/services.sh\` starts it): ${String(e).split("\n")[0]}`
    )
  }
  const port = 18_765 + Math.floor(Math.random() * 1000)
  const sim = await startSimulatorProcess(port, ["--seed", "42"])
  children.add(sim.child)
  try {
    const dates = tradingDays(days)
    console.log(
      `bench:cluster  ${dates.length} trading day(s) ${dates[0]}..${dates.at(-1)}, default config (runners write the lake; the submitter loads the DuckDB warehouse), simulator in its own process, runners ${counts.join(", ")}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, load average ${loadAverage()}`
    )
    if (!process.argv.includes("--no-warm-up")) {
      // untimed: the simulator's caches warm for the range, so the first N is not charged a cold server
      const warm = await fs.mkdtemp(path.join(os.tmpdir(), "bench-cluster-warm-"))
      roots.add(warm)
      const r = await runBackfillCli(["--start-date", dates[0]!, "--end-date", dates.at(-1)!], {
        POLYGON_REST_URL: sim.url,
        POLYGON_API_KEY: API_KEY,
        STORAGE_ROOT: warm
      })
      await fs.rm(warm, { recursive: true, force: true })
      if (r.exitCode !== 0) throw new Error(`warm-up backfill exited ${r.exitCode}:\n${r.output.slice(-3000)}`)
      console.error(`bench:cluster: simulator warmed (single-process backfill of the range, ${r.seconds.toFixed(1)} s)`)
    }
    const runs: Array<ClusterRun> = []
    for (const n of counts) {
      runs.push(await runCluster(n, dates, { url: sim.url, pid: sim.child.pid! }, API_KEY, idleS, pgUrl))
      console.error(`bench:cluster: ${n} runner(s) done in ${runs.at(-1)!.seconds.toFixed(1)} s`)
      if (sim.child.exitCode !== null)
        throw new Error(`the simulator exited ${sim.child.exitCode}: ${sim.stderr().slice(-2000)}`)
    }
    console.log("")
    report(runs)
    console.log(`  load average now ${loadAverage()}`)
  } finally {
    await sim.stop()
  }
}

const killAll = () => {
  for (const c of children) c.kill("SIGKILL")
  for (const r of roots) rmSync(r, { recursive: true, force: true })
}
process.on("exit", killAll)
for (const s of ["SIGINT", "SIGTERM"] as const)
  process.on(s, () => {
    killAll()
    void Promise.all(counts.map((n) => dropDatabase(pgUrl, `bench_cluster_${process.pid}_${n}`))).finally(() =>
      process.exit(130)
    )
  })

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
