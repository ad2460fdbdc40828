/**
 * Crash safety with real processes: a backfill child is SIGKILLed midway, `--resume` finishes,
 * and the lake equals the simulator's data exactly. `--overwrite` replaces a partition while a
 * reader polls it: every read sees the whole day, never an empty or doubled partition.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../../src/simulator/server.js"
import { runRecordFile } from "../../../src/programs/backfillRun.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const SEED = 5
const DAYS = ["2025-10-29", "2025-10-30"]
const KEY = "crash-test-key-0001"

const lakeKeys = async (root: string, feed: string) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  const r = await c.runAndReadAll(
    `SELECT date::VARCHAR AS d, ticker, window_start_ms::DOUBLE AS t, close FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet', hive_partitioning = true)`
  )
  const keys = r.getRowObjectsJS().map((x) => `${x["d"]}|${x["ticker"]}|${x["t"]}|${x["close"]}`)
  c.closeSync()
  db.closeSync()
  return keys
}

const truth = (feed: "spy" | "options") => {
  const market = makeSyntheticMarket(SEED)
  return DAYS.flatMap((d) =>
    (feed === "spy" ? ["SPY"] : chosenContracts(market, d).map((c) => c.ticker)).flatMap((t) =>
      market.secondBars(t, d).map((b) => `${d}|${t}|${b.t}|${b.c}`)
    )
  ).sort()
}

describe("crash and resume (child processes)", () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" })
    sim = await startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { latencyMs: 15 } })
  })
  afterAll(() => sim.close())

  const env = (root: string) => ({
    POLYGON_REST_URL: sim.url,
    POLYGON_API_KEY: KEY,
    STORAGE_ROOT: root,
    POLYGON_MAX_CONCURRENCY: "2"
  })
  const args = ["backfill", "--start-date", DAYS[0]!, "--end-date", DAYS[1]!, "--feeds", "spy,options"]

  it("SIGKILL midway, then a bare --resume (range and feeds from the run record): exact set equality, no duplicates", async () => {
    const root = await tempRoot("crash-")
    const run = startCli(args, env(root))
    const unitDir = path.join(root, "state/checkpoints/options", DAYS[0]!)
    await waitFor(async () => (await fs.readdir(unitDir).catch(() => [])).length >= 3, 60_000, 10)
    run.child.kill("SIGKILL")
    const killed = await run.finished
    expect(killed.signal).toBe("SIGKILL")
    expect((await fs.readdir(path.join(root, "state/checkpoints/options"))).length).toBeGreaterThan(0)

    const record = runRecordFile(root)
    expect(JSON.parse(await fs.readFile(record, "utf8"))).toMatchObject({
      startDate: DAYS[0],
      endDate: DAYS[1],
      feeds: ["spy", "options"],
      status: "running"
    })
    const resumed = await runCli(["backfill", "--resume"], env(root))
    expect(resumed.stderr).not.toContain(KEY)
    expect({ code: resumed.code, output: resumed.code === 0 ? "" : resumed.stdout + resumed.stderr }).toEqual({
      code: 0,
      output: ""
    })
    expect(resumed.stdout + resumed.stderr).toContain(`Resuming the interrupted backfill ${DAYS[0]}..${DAYS[1]}`)
    expect(JSON.parse(await fs.readFile(record, "utf8"))).toMatchObject({ status: "completed" })
    const again = await runCli(["backfill", "--resume"], env(root))
    expect([again.code, (again.stdout + again.stderr).includes("Nothing to resume")]).toEqual([0, true])
    for (const feed of ["spy", "options"] as const) {
      const got = (await lakeKeys(root, feed)).sort()
      const expected = truth(feed)
      expect(got.length).toBe(expected.length)
      expect(new Set(got).size).toBe(got.length)
      expect(got).toEqual(expected)
    }
    const staging = await fs.readdir(path.join(root, "staging/options")).catch(() => [])
    expect(staging).toEqual([])
  })

  it("--overwrite replaces a partition atomically while a reader polls it", async () => {
    const root = await tempRoot("overwrite-")
    const first = await runCli(
      ["backfill", "--start-date", DAYS[0]!, "--end-date", DAYS[0]!, "--feeds", "spy"],
      env(root)
    )
    expect(first.code).toBe(0)
    const expected = truth("spy").filter((k) => k.startsWith(DAYS[0]!))
    const db = await DuckDBInstance.create(":memory:")
    const c = await db.connect()
    const seen = new Set<number>()
    let reading = true
    const reader = (async () => {
      while (reading) {
        const r = await c.runAndReadAll(
          `SELECT count(*)::DOUBLE n FROM read_parquet('${root}/raw/spy/date=*/*.parquet')`
        )
        seen.add(r.getRowObjectsJS()[0]!["n"] as number)
      }
    })()
    const over = await runCli(
      ["backfill", "--start-date", DAYS[0]!, "--end-date", DAYS[0]!, "--feeds", "spy", "--overwrite"],
      env(root)
    )
    reading = false
    await reader
    c.closeSync()
    db.closeSync()
    expect(over.code).toBe(0)
    expect([...seen]).toEqual([expected.length])
    expect((await lakeKeys(root, "spy")).sort()).toEqual(expected)
  })

  it("an inverted date range and an unknown flag exit 2 (usage errors)", async () => {
    const root = await tempRoot("usage-")
    const inverted = await runCli(["backfill", "--start-date", DAYS[1]!, "--end-date", DAYS[0]!], env(root))
    expect(inverted.code).toBe(2)
    expect(inverted.stderr).toContain("invalid date range")
    expect((await runCli(["backfill", "--bogus"], env(root))).code).toBe(2)
    const noRange = await runCli(["backfill"], env(root))
    expect([noRange.code, (noRange.stdout + noRange.stderr).includes("--start-date and --end-date")]).toEqual([2, true])
    const nothing = await runCli(["backfill", "--resume"], env(root))
    expect([nothing.code, (nothing.stdout + nothing.stderr).includes("nothing to resume")]).toEqual([2, true])
  })

  it("backfill --config F alone: the range comes from backfill.start_date/end_date; logging.level and logging.file apply", async () => {
    const root = await tempRoot("yaml-range-")
    const config = path.join(root, "settings.yaml")
    await fs.writeFile(
      config,
      [
        `backfill: { start_date: "${DAYS[0]}", end_date: "${DAYS[0]}" }`,
        "feeds: { options: { enabled: false }, vix: { enabled: false }, news: { enabled: false } }",
        "sinks: { enabled: [] }",
        "logging: { level: warning, file: true }",
        "retry: { max_attempts: 4 }"
      ].join("\n")
    )
    const r = await runCli(["backfill", "--config", config], env(root))
    expect(r.code).toBe(0)
    expect((await lakeKeys(root, "spy")).sort()).toEqual(truth("spy").filter((k) => k.startsWith(DAYS[0]!)))
    const logs = await fs.readdir(path.join(root, "logs"))
    expect(logs.every((f) => /^\d{4}-\d{2}-\d{2}\.log$/.test(f)) && logs.length >= 1).toBe(true)
    const fileText = (await Promise.all(logs.map((f) => fs.readFile(path.join(root, "logs", f), "utf8")))).join("")
    for (const text of [r.stderr, fileText]) {
      expect(text).toContain("retry.max_attempts is deprecated")
      expect(text).toContain("read as max_retries 3")
      expect(text.split("\n").filter((l) => / INFO /.test(l))).toEqual([])
    }
  })

  it("a real URL without a key exits 2 naming the variable", async () => {
    const root = await tempRoot("nokey-")
    const r = await runCli(args, { POLYGON_REST_URL: sim.url, STORAGE_ROOT: root })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("POLYGON_API_KEY")
  })
})
