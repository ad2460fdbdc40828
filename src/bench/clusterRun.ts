/**
 * One measured run of `bench:cluster`: N `node dist/main.js runner` children on free ports, a fresh
 * PostgreSQL database and a fresh lake root, then `backfill --cluster` over the dates (the
 * submitter as a child under /usr/bin/time, cliRun.ts), timed from its spawn to its exit. Around it:
 * the simulator's request count (`/_sim/stats`), CPU seconds of the simulator and of the runners
 * (/proc), PostgreSQL's transaction and tuple counters for the database (pg_stat_database) over the
 * run and then idle for `idleS` (the runners' heartbeat, lock refresh and message poll), and the rows of
 * cluster_messages / cluster_replies. The runners' record (units.ndjson) and the submitter's log
 * lines (ISO timestamps) give the per-unit times.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { readUnitEvents, type UnitEvent } from "../programs/cluster/units.js"
import { type CliRunResult, runBackfillCli } from "./cliRun.js"
import { cpuSecondsOf, loadAverage } from "./measure.js"
import {
  bytesOfDate,
  dropDatabase,
  freePorts,
  hwmMb,
  logTimes,
  minus,
  type PgCounters,
  pgCounters,
  pgQuery,
  simStats,
  withDb
} from "./clusterSupport.js"
import { MAIN } from "./simulatorProcess.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every child this bench started and every lake root it made: killed and removed on the way out, whatever happens. */
export const children = new Set<ChildProcess>()
export const roots = new Set<string>()

export interface ClusterRun {
  readonly n: number
  readonly dates: ReadonlyArray<string>
  readonly cli: CliRunResult
  readonly seconds: number
  /** Spawn of the submitter to the last `completed` line: the runners' part (lake only). */
  readonly runnersSeconds: number
  /** The last unit's reply seen by the submitter to its exit: the sinks (one date at a time) and the summary. */
  readonly sinkSeconds: number
  readonly sinkPerDateMs: ReadonlyArray<number>
  readonly rows: number
  readonly loadBefore: string
  readonly loadAfter: string
  readonly runnerRssMb: ReadonlyArray<number>
  readonly units: ReadonlyArray<{
    /** `<feed>/<date>`: one feed partition of a trading date. */
    readonly key: string
    readonly date: string
    readonly runner: string
    readonly wallMs: number
    readonly rows: number
    readonly bytes: number
    readonly files: number
    /** The submitter's "sending" log line to the unit's `started` (includes waiting for one of the runner's permits). */
    readonly toStartMs: number
    /** `completed` to the submitter's "Unit <key> done" log line. */
    readonly replyMs: number
  }>
  readonly restRequests: number
  readonly runnerCpuS: number
  readonly simCpuS: number
  readonly pgIdlePerS: PgCounters
  /** pg_stat_database over the run: the idle traffic (pgIdlePerS × seconds) included. */
  readonly pgRun: PgCounters
  readonly messages: number
  readonly replies: number
  readonly warehouseBytes: number
  /** The runners' PostgreSQL sessions at the end of the run (pg_stat_activity, ours not counted). */
  readonly pgSessions: number
}

export const runCluster = async (
  n: number,
  dates: ReadonlyArray<string>,
  sim: { url: string; pid: number },
  apiKey: string,
  idleS: number,
  pgUrl: string
): Promise<ClusterRun> => {
  const db = `bench_cluster_${process.pid}_${n}`
  await pgQuery(withDb(pgUrl, "postgres"), [`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`, `CREATE DATABASE "${db}"`])
  const dbUrl = withDb(pgUrl, db)
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `bench-cluster-${n}-`))
  roots.add(root)
  const env = { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: apiKey, STORAGE_ROOT: root, CLUSTER_DATABASE_URL: dbUrl }
  const runners: Array<{ child: ChildProcess; out: () => string }> = []
  try {
    for (const port of await freePorts(n)) {
      const child = spawn(process.execPath, [MAIN, "runner"], {
        cwd: path.join(path.dirname(MAIN), ".."),
        env: { ...process.env, ...env, CLUSTER_HOST: "127.0.0.1", CLUSTER_PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      children.add(child)
      child.on("exit", () => children.delete(child))
      let out = ""
      const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000))
      child.stdout!.on("data", keep)
      child.stderr!.on("data", keep)
      runners.push({ child, out: () => out })
    }
    const deadline = Date.now() + 90_000
    while (!runners.every((r) => r.out().includes("Listening on"))) {
      const dead = runners.find((r) => r.child.exitCode !== null)
      if (dead || Date.now() > deadline)
        throw new Error(`a runner did not start:\n${(dead ?? runners[0]!).out().slice(-3000)}`)
      await sleep(100)
    }
    while (Number((await pgQuery(dbUrl, ["SELECT count(*) AS c FROM cluster_runners WHERE healthy"]))[0]!["c"]) < n) {
      if (Date.now() > deadline) throw new Error("the runners did not register in cluster_runners")
      await sleep(200)
    }
    await sleep(5000) // shard assignments settle (refreshed every second)
    const requests0 = await simStats(sim.url)
    const simCpu0 = cpuSecondsOf(`/proc/${sim.pid}/stat`)
    const runnerCpu = () => runners.reduce((s, r) => s + cpuSecondsOf(`/proc/${r.child.pid}/stat`), 0)
    const runnerCpu0 = runnerCpu()
    const pg0 = await pgCounters(dbUrl, db)
    const loadBefore = loadAverage()
    const t0 = Date.now()
    const cli = await runBackfillCli(
      ["--cluster", "--start-date", dates[0]!, "--end-date", dates[dates.length - 1]!],
      env,
      1_000_000
    )
    const seconds = (Date.now() - t0) / 1000
    const loadAfter = loadAverage()
    if (cli.exitCode !== 0) throw new Error(`backfill --cluster exited ${cli.exitCode}:\n${cli.output.slice(-4000)}`)
    const runnerCpuS = runnerCpu() - runnerCpu0
    const simCpuS = cpuSecondsOf(`/proc/${sim.pid}/stat`) - simCpu0
    const restRequests = (await simStats(sim.url)) - requests0
    const runnerRssMb = runners.map((r) => hwmMb(r.child.pid))
    await sleep(1500) // the backends' statistics reach pg_stat_database within a second of going idle
    const pg1 = await pgCounters(dbUrl, db)
    const pgRun = minus(pg1, pg0)
    // idle traffic measured after the run, the shards settled: heartbeats, lock refresh, message polls
    await sleep(idleS * 1000)
    const idle = minus(await pgCounters(dbUrl, db), pg1)
    const pgIdlePerS = {
      xacts: idle.xacts / idleS,
      inserted: idle.inserted / idleS,
      updated: idle.updated / idleS,
      read: idle.read / idleS
    }
    const count = async (table: string) =>
      Number((await pgQuery(dbUrl, [`SELECT count(*) AS c FROM ${table}`]))[0]!["c"])
    const [messages, replies] = [await count("cluster_messages"), await count("cluster_replies")]
    const pgSessions =
      Number((await pgQuery(dbUrl, [`SELECT count(*) AS c FROM pg_stat_activity WHERE datname = '${db}'`]))[0]!["c"]) -
      1

    const events = await readUnitEvents(root)
    const sent = logTimes(cli.output, /Cluster backfill .*unit\(s\), one per/)[0]?.[0] ?? t0
    const done = new Map(logTimes(cli.output, /Unit (\S+) done by runner/).map(([t, key]) => [key, t]))
    const dayDone = logTimes(cli.output, /Day (\d{4}-\d{2}-\d{2}) complete/).map(([t]) => t)
    const lastReply = Math.max(...done.values())
    const sinkPerDateMs = dayDone.map((t, i) => t - (i === 0 ? lastReply : dayDone[i - 1]!))
    const last = (key: string, e: UnitEvent["event"]) => events.filter((x) => x.unit === key && x.event === e).at(-1)
    const units = []
    for (const key of new Set(events.filter((e) => e.unit !== "").map((e) => e.unit))) {
      const s = last(key, "started")
      const c = last(key, "completed")
      if (s === undefined || c === undefined) continue
      const feed = c.feed ?? key.split("/")[0]!
      units.push({
        key,
        date: c.date,
        runner: c.runner,
        wallMs: c.atMs! - s.atMs!,
        rows: c.rows ?? 0,
        // the options unit also writes the date's contract sets (the contracts partition)
        ...(await bytesOfDate(root, c.date, feed === "options" ? ["options", "contracts"] : [feed])),
        toStartMs: s.atMs! - sent,
        replyMs: (done.get(key) ?? Number.NaN) - c.atMs!
      })
    }
    const lastCompleted = Math.max(...units.map((u) => u.wallMs + u.toStartMs + sent))
    const warehouseBytes = await fs.stat(path.join(root, "warehouse.duckdb")).then(
      (s) => s.size,
      () => 0
    )
    return {
      n,
      dates,
      cli,
      seconds,
      runnersSeconds: (lastCompleted - t0) / 1000,
      sinkSeconds: (t0 + seconds * 1000 - lastReply) / 1000,
      sinkPerDateMs,
      rows: cli.rows,
      loadBefore,
      loadAfter,
      runnerRssMb,
      units,
      restRequests,
      runnerCpuS,
      simCpuS,
      pgIdlePerS,
      pgRun,
      messages,
      replies,
      warehouseBytes,
      pgSessions
    }
  } finally {
    await Promise.all(
      runners.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
            child.once("exit", () => (clearTimeout(timer), resolve()))
            child.kill("SIGTERM")
          })
      )
    )
    await dropDatabase(pgUrl, db)
    await fs.rm(root, { recursive: true, force: true })
    roots.delete(root)
  }
}
