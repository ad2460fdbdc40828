/**
 * Bounded stop with real processes, real PostgreSQL and MariaDB: a `backfill` whose consolidation
 * is made slow on the server (fault knob `sinks.<sink>.fault_sleep_consolidate_s`: pg_sleep /
 * SLEEP inside the consolidate transaction) is stopped while that statement runs.
 * - SIGTERM: exits within 15 s; the servers' process lists hold nothing of it; no sink checkpoint
 *   moved, nothing consolidated; `backfill --resume` then completes and the sink tables are exact.
 * - Two SIGTERMs: exits at once (143), naming what was left unfinished; the statements it left on
 *   the servers are ended by the next run's sinks at start, and `--resume` completes exactly.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runRecordFile } from "../../../src/programs/backfillRun.js"
import { type RunningSimulator, startSimulator } from "../../../src/simulator/server.js"
import { runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"
import { prepareMysql, preparePg, queryMysql, queryPg } from "../../services/sinks/support.js"

const DAY = "2025-10-29"
const KEY = "stop-test-key-0001"
let sim: RunningSimulator
let pgUrl: string | undefined
let myUrl: string | undefined

beforeAll(async () => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" })
  sim = await startSimulator({ port: 0, seed: 7, apiKey: KEY })
}, 120_000)
afterAll(() => sim?.close())

const tag = (pid: number) => `spy-options:${os.hostname().slice(0, 40)}:${pid}`

/** Statements of process `pid` running on each server now. */
const statementsOf = async (pid: number) => ({
  postgres: Number(
    (
      await queryPg<{ n: string }>(
        pgUrl!,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
        [tag(pid)]
      )
    )[0]!.n
  ),
  mysql: Number(
    (
      await queryMysql<{ n: number }>(
        myUrl!,
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND INFO LIKE ?`,
        [`/* ${tag(pid)} */%`]
      )
    )[0]!.n
  )
})
const sleepingIn = async (pid: number) => ({
  postgres: Number(
    (
      await queryPg<{ n: string }>(
        pgUrl!,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%'`,
        [tag(pid)]
      )
    )[0]!.n
  ),
  mysql: Number(
    (
      await queryMysql<{ n: number }>(
        myUrl!,
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`,
        [`/* ${tag(pid)} */ SELECT SLEEP%`]
      )
    )[0]!.n
  )
})

const checkpoints = async () => ({
  postgres: await queryPg(
    pgUrl!,
    `SELECT "feed", "date"::text AS d, "rows"::text AS n, "fingerprint" FROM "sink_checkpoints" ORDER BY 1, 2`
  ),
  mysql: await queryMysql(
    myUrl!,
    `SELECT \`feed\`, CAST(\`date\` AS CHAR) AS d, CAST(\`rows\` AS CHAR) AS n, \`fingerprint\` FROM \`sink_checkpoints\` ORDER BY 1, 2`
  )
})

const lakeOptionBars = async (root: string) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  const r = await c.runAndReadAll(
    `SELECT count(DISTINCT (ticker, window_start_ms))::DOUBLE AS n FROM read_parquet('${root}/raw/options/date=${DAY}/*.parquet')`
  )
  const n = Number(r.getRowObjectsJS()[0]!["n"])
  c.closeSync()
  db.closeSync()
  return n
}

const sinkCounts = async () => ({
  postgres: (
    await queryPg<{ n: string; k: string; c: string }>(
      pgUrl!,
      `SELECT (SELECT count(*) FROM option_bars WHERE "date" = $1) AS n, (SELECT count(DISTINCT (ticker, window_start)) FROM option_bars WHERE "date" = $1) AS k, (SELECT count(*) FROM options_consolidated WHERE "date" = $1) AS c`,
      [DAY]
    )
  ).map((r) => [Number(r.n), Number(r.k), Number(r.c)])[0],
  mysql: (
    await queryMysql<{ n: number; k: number; c: number }>(
      myUrl!,
      `SELECT (SELECT COUNT(*) FROM option_bars WHERE \`date\` = ?) AS n, (SELECT COUNT(DISTINCT ticker, window_start) FROM option_bars WHERE \`date\` = ?) AS k, (SELECT COUNT(*) FROM options_consolidated WHERE \`date\` = ?) AS c`,
      [DAY, DAY, DAY]
    )
  ).map((r) => [Number(r.n), Number(r.k), Number(r.c)])[0]
})

const setup = async (name: string) => {
  pgUrl = await preparePg(`stop_${name}`)
  myUrl = await prepareMysql(`stop_${name}`)
  if (pgUrl === undefined || myUrl === undefined) return undefined
  const root = await tempRoot(`stop-${name}-`)
  const config = path.join(root, "settings.yaml")
  await fs.writeFile(
    config,
    [
      `storage: { root: ${JSON.stringify(root)} }`,
      `options: { max_contracts: 2, timespan: minute }`, // small: the MariaDB consolidation SQL of this branch is slow (issue 10)
      `sinks:`,
      `  enabled: [duckdb, postgres, mysql]`,
      `  postgres: { url: ${JSON.stringify(pgUrl)}, fault_sleep_consolidate_s: 300 }`,
      `  mysql: { url: ${JSON.stringify(myUrl)}, fault_sleep_consolidate_s: 300 }`,
      ``
    ].join("\n")
  )
  const env = { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: KEY, POLYGON_MAX_CONCURRENCY: "2" }
  const args = [
    "backfill",
    "--config",
    config,
    "--start-date",
    DAY,
    "--end-date",
    DAY,
    "--feeds",
    "spy,vix,news,options"
  ]
  return { root, config, env, args }
}

/** `backfill --resume` without the fault: completes, and every sink table is exact. */
const resumeExactly = async (s: NonNullable<Awaited<ReturnType<typeof setup>>>) => {
  const resumed = await runCli(["backfill", "--config", s.config, "--resume"], {
    ...s.env,
    SINKS_POSTGRES_FAULT_SLEEP_CONSOLIDATE_S: "0",
    SINKS_MYSQL_FAULT_SLEEP_CONSOLIDATE_S: "0"
  })
  expect({ code: resumed.code, output: resumed.code === 0 ? "" : resumed.stdout + resumed.stderr }).toEqual({
    code: 0,
    output: ""
  })
  expect(JSON.parse(await fs.readFile(runRecordFile(s.root), "utf8"))).toMatchObject({ status: "completed" })
  const lake = await lakeOptionBars(s.root)
  expect(lake).toBeGreaterThan(500)
  expect(await sinkCounts()).toEqual({ postgres: [lake, lake, lake], mysql: [lake, lake, lake] })
  return resumed
}

/** The backfill as a child, once its consolidate statement sleeps on both servers. */
const startSleeping = async (s: { readonly args: ReadonlyArray<string>; readonly env: Record<string, string> }) => {
  const run = startCli(s.args, s.env)
  const pid = run.child.pid!
  await waitFor(
    async () => {
      const n = await sleepingIn(pid)
      return n.postgres === 1 && n.mysql === 1
    },
    120_000,
    100
  )
  return { run, pid }
}

describe("bounded stop (child processes, real PostgreSQL and MariaDB)", () => {
  it("`stop` (SIGTERM) during a slow consolidate statement: exit within 15 s, nothing left on the servers, no checkpoint moved; --resume exact", async () => {
    const s = await setup("term")
    if (s === undefined) return
    const { run, pid } = await startSleeping(s)
    const before = await checkpoints()
    // `stop` finds the backfill through state/run/ and sends it SIGTERM
    const sentAt = Date.now()
    const stop = await runCli(["stop", "--config", s.config], {})
    const done = await run.finished
    const ms = Date.now() - sentAt
    console.log(`stop → backfill exit: ${ms} ms (code ${done.code}); stop said: ${stop.stdout.trim()}`)
    // the bound is from the signal (what `stop` measures), not from the `stop` CLI's own start-up
    const afterSignalS = Number(
      new RegExp(`^backfill process ${pid} stopped after (\\d+\\.\\d) s$`, "m").exec(stop.stdout)?.[1]
    )
    expect(stop.code).toBe(0)
    expect(afterSignalS).toBeLessThan(15)
    expect(done.code).toBe(0)
    expect(done.stderr).toContain("SIGTERM received: stopping")
    expect(done.stderr).toMatch(/postgres: transaction interrupted; cancelled its running statement on the server/)
    expect(done.stderr).toMatch(/mariadb: transaction interrupted; cancelled its running statement on the server/)
    expect(done.stderr).toMatch(/stopped \d+\.\d s after SIGTERM/)
    expect(await statementsOf(pid)).toEqual({ postgres: 0, mysql: 0 })
    expect(await checkpoints()).toEqual(before)
    expect((await sinkCounts()).postgres![2]).toBe(0)
    expect((await sinkCounts()).mysql![2]).toBe(0)
    expect(JSON.parse(await fs.readFile(runRecordFile(s.root), "utf8"))).toMatchObject({ status: "running" })
    await resumeExactly(s)
  }, 300_000)

  it("a second signal exits at once naming what was unfinished; the next run ends the statements left behind; --resume exact", async () => {
    const s = await setup("twice")
    if (s === undefined) return
    const { run, pid } = await startSleeping(s)
    // both signals pending at once (a stopped process; two different signals never merge): the
    // second is handled while the stop the first began is still running
    run.child.kill("SIGSTOP")
    run.child.kill("SIGINT")
    run.child.kill("SIGTERM")
    const sentAt = Date.now()
    run.child.kill("SIGCONT")
    const done = await run.finished
    const ms = Date.now() - sentAt
    console.log(`second signal → exit: ${ms} ms (code ${done.code})`)
    // the kernel may hand over the two pending signals in either order
    const second = /second (SIGINT|SIGTERM): exiting now/.exec(done.stderr)?.[1]
    const first = second === "SIGINT" ? "SIGTERM" : "SIGINT"
    expect(done.code).toBe(second === "SIGINT" ? 130 : 143)
    expect(ms).toBeLessThan(2_000)
    expect(done.stderr).toContain(`${first} received: stopping`)
    expect(done.stderr).toMatch(
      new RegExp(
        `second ${second}: exiting now. Left unfinished: backfill ${DAY}; (postgres|mysql) date=${DAY} op=consolidate`
      )
    )
    // what the process had no time to cancel still runs on the servers: the next run's sinks end exactly that, at start
    const left = await statementsOf(pid)
    console.log(`left on the servers by the immediate exit: ${JSON.stringify(left)}`)
    const resumed = await resumeExactly(s)
    expect(await statementsOf(pid)).toEqual({ postgres: 0, mysql: 0 })
    const ended = (engine: string) =>
      (resumed.stderr.match(new RegExp(`${engine}: ended session \\d+ of ${tag(pid)} \\(dead process\\)`, "g")) ?? [])
        .length
    // a cancel the first signal's stop had already sent may still land after the exit: the next run
    // ends what is left when it starts (at most what the exit left), and nothing is left after it
    for (const engine of ["postgres", "mysql"] as const) expect(ended(engine)).toBeLessThanOrEqual(left[engine])
  }, 300_000)

  it("watchdog: a stop still running after the limit logs what is unfinished and exits 1", async () => {
    const script = `
      const { installStopGuard } = await import(${JSON.stringify(path.resolve("dist/lib/stopGuard.js"))})
      const Inflight = await import(${JSON.stringify(path.resolve("dist/lib/inflight.js"))})
      const { Effect } = await import("effect")
      installStopGuard({ watchdogMs: 1000 })
      Effect.runFork(Inflight.track("mysql date=2025-10-29 op=consolidate")(Effect.never))
      setInterval(() => {}, 1000)
      console.log("ready")`
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    await new Promise((r) => child.stdout.once("data", r))
    const sentAt = Date.now()
    child.kill("SIGTERM")
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)))
    const ms = Date.now() - sentAt
    expect(code).toBe(1)
    expect(ms).toBeGreaterThanOrEqual(950)
    expect(ms).toBeLessThan(3_000)
    expect(stderr).toContain("SIGTERM received: stopping")
    expect(stderr).toContain(
      "still running 1 s after SIGTERM; exiting (1). Left unfinished: mysql date=2025-10-29 op=consolidate"
    )
  }, 30_000)
})
