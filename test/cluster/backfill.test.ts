/**
 * Distributed backfill on @effect/cluster with real processes (issue 17): the simulator (in this
 * process), three `runner` children sharing a fresh PostgreSQL database for the cluster's tables
 * and one lake root, and `backfill --cluster` of 10 trading days of SPY and QQQ (with I:VIX), sent
 * as 70 units, underlying (or index) × feed × date (`<feed>/<date>/<ticker>`: spy, options and news
 * of SPY and of QQQ, vix of I:VIX, × 10 dates), each to its partition's entity. One runner is
 * SIGKILLed mid-range while it works on a unit. Then:
 * - the submitter exits 0 and every partition of the lake equals the simulator's truth per ticker
 *   (rows = distinct keys = truth);
 * - the killed runner's unfinished units were delivered again and completed by another runner;
 * - no unit completed twice: in the runners' own record (state/cluster/units.ndjson, one
 *   `completed` line per unit key) and in the cluster's (one message per unit key, processed, with
 *   one exit reply, a success);
 * - the units of a date ran on more than one runner (the split is finer than a date);
 * - the same submission sent again is answered from the stored replies: no runner runs any unit.
 * And a runner stopped with SIGTERM (the only one) starts no new unit, exits 0 within 12 s, and a
 * runner started afterwards finishes the range: the lake equals the truth.
 * PostgreSQL missing: the test fails under CI, else it is skipped with a message.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { holidayIndex, nextTradingDay, nyDateOf } from "../../src/domain/calendar.js"
import { selectContracts } from "../../src/domain/contractSelection.js"
import { lakePaths } from "../../src/domain/paths.js"
import { nyseHolidays } from "../../src/domain/nyseHolidays.js"
import { readUnitEvents, type UnitEvent } from "../../src/programs/cluster/units.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../src/simulator/server.js"
import { buildIfStale } from "../helpers/build.js"
import { childPool, runCli, waitFor } from "../helpers/cli.js"
import { tempRoot } from "../helpers/settings.js"
import { dropDatabase, freePorts, freshClusterDatabase, pgQuery } from "./support.js"

const SEED = 17
const KEY = "cluster-test-key-0017"
const START = "2025-10-27"
const END = "2025-11-07"
const DAYS = [
  "2025-10-27",
  "2025-10-28",
  "2025-10-29",
  "2025-10-30",
  "2025-10-31",
  "2025-11-03",
  "2025-11-04",
  "2025-11-05",
  "2025-11-06",
  "2025-11-07"
]
const FEEDS = ["news", "options", "spy", "vix"] as const
/** The tickers each feed's units are split by (both underlyings have news: true by default). */
const TICKERS_OF = { news: ["QQQ", "SPY"], options: ["QQQ", "SPY"], spy: ["QQQ", "SPY"], vix: ["I:VIX"] } as const
/** The unit keys of `days` (`<feed>/<date>/<ticker>`), sorted. */
const unitsOf = (days: ReadonlyArray<string>) =>
  days.flatMap((d) => FEEDS.flatMap((f) => TICKERS_OF[f].map((t) => `${f}/${d}/${t}`))).sort()
/**
 * The completions that fetched, one per unit. A unit whose reply was lost (its runner killed, or its
 * shard moved to another survivor when the ring changed, between the `completed` line and the stored
 * reply) is delivered again and completes as a no-op (its checkpoint is done: `fetched: false`), the
 * limit the README states; any other repeat fails here. The cluster's own record stays one
 * processed message and one reply per unit (asserted separately).
 */
const fetchedOnce = (completed: ReadonlyArray<UnitEvent>) => {
  const once = completed.filter((e) => e.fetched !== false || completed.filter((c) => c.unit === e.unit).length === 1)
  for (const again of completed.filter((e) => !once.includes(e))) expect(again.fetched).toBe(false)
  if (once.length < completed.length) console.log(`${completed.length - once.length} no-op repeat completion(s)`)
  return once
}

/** A unit's entity: its partition, `<feed>/<date>`. */
const partitionOf = (unit: string) => unit.split("/").slice(0, 2).join("/")
const UNITS = unitsOf(DAYS)
const CAP = 6
const UNDERLYINGS = ["SPY", "QQQ"] as const
const CONFIG = `underlyings: [{ ticker: SPY, max_contracts: ${CAP} }, { ticker: QQQ, max_contracts: ${CAP} }]
sinks: { enabled: [duckdb] }
`
const DB = `cluster_test_backfill_${process.pid}`
/** A unit started this long ago and not completed: the runner is busy with it (units take seconds here). */
const BUSY_MS = 300
/** Units of the run completed (by any runner) before the kill: the victim dies mid-range, not at the start. */
const DONE_BEFORE_KILL = 4

const lake = async (root: string, feed: string, cols: string) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  const r = await c.runAndReadAll(
    `SELECT date::VARCHAR AS d, ${cols} FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet', hive_partitioning = true)`
  )
  const rows = r.getRowObjectsJS()
  c.closeSync()
  db.closeSync()
  return rows
}

const market = makeSyntheticMarket(SEED)
const holidays = holidayIndex([...nyseHolidays(2025), ...nyseHolidays(2026)])
const bars = (days: ReadonlyArray<string>, tickers: (d: string) => ReadonlyArray<string>) =>
  days.flatMap((d) => tickers(d).flatMap((t) => market.secondBars(t, d).map((b) => `${d}|${t}|${b.t}|${b.c}`))).sort()
const contracts = (d: string) =>
  UNDERLYINGS.flatMap((u) =>
    selectContracts(market.contracts(d, u), market.officialOpen(d, u), nextTradingDay(d, holidays), {
      bandPct: 0.01,
      maxContracts: CAP
    }).map((c) => c.ticker)
  )

/** The submitter's DuckDB warehouse (it has exited): option_bars and options_consolidated keys, sorted. */
const warehouseKeys = async (root: string) => {
  const db = await DuckDBInstance.create(lakePaths(root).warehouse, { access_mode: "READ_ONLY" })
  const c = await db.connect()
  const keys = async (table: string) =>
    (await c.runAndReadAll(`SELECT "date"::VARCHAR || '|' || ticker || '|' || window_start_ms AS k FROM ${table}`))
      .getRowsJS()
      .map((r) => String(r[0]))
      .sort()
  const out = { bars: await keys("option_bars"), consolidated: await keys("options_consolidated") }
  c.closeSync()
  db.closeSync()
  return out
}

/** Every feed of the lake over `days` equals the simulator's truth per ticker, no key twice. */
const expectLakeIsTruth = async (root: string, days: ReadonlyArray<string>) => {
  const line = (r: Record<string, unknown>) => `${r["d"]}|${r["ticker"]}|${r["t"]}|${r["close"]}`
  const expected = {
    spy: bars(days, () => UNDERLYINGS),
    vix: bars(days, () => ["I:VIX"]),
    options: bars(days, contracts)
  }
  for (const feed of ["spy", "vix", "options"] as const) {
    const got = (await lake(root, feed, "ticker, window_start_ms::DOUBLE AS t, close")).map(line).sort()
    expect(new Set(got).size).toBe(got.length)
    expect(got.length).toBe(expected[feed].length)
    expect(got).toEqual(expected[feed])
  }
  const news = (await lake(root, "news", "id")).map((r) => `${r["d"]}|${r["id"]}`).sort()
  expect(new Set(news).size).toBe(news.length)
  expect(news).toEqual(
    days
      .flatMap((d) =>
        market
          .news(d)
          .filter((a) => UNDERLYINGS.some((u) => a.tickers.includes(u)) && nyDateOf(Date.parse(a.published_utc)) === d)
          .map((a) => `${d}|${a.id}`)
      )
      .sort()
  )
  const sets = (await lake(root, "contracts", "ticker")).map((r) => `${r["d"]}|${r["ticker"]}`).sort()
  expect(sets).toEqual(days.flatMap((d) => contracts(d).map((t) => `${d}|${t}`)).sort())
  expect(await fs.readdir(path.join(root, "staging/options")).catch(() => [])).toEqual([])
}

describe("distributed backfill on @effect/cluster (real processes, PostgreSQL)", () => {
  const pool = childPool()
  let sim: RunningSimulator | undefined
  beforeAll(() => buildIfStale())
  afterEach(async () => {
    pool.killAll()
    await sim?.close()
    await dropDatabase(DB)
  })

  it("3 runners, one SIGKILLed mid-unit: the lake equals the truth, every unit completed exactly once", async (ctx) => {
    const dbUrl = await freshClusterDatabase(DB)
    if (dbUrl === undefined) return ctx.skip()
    sim = await startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { latencyMs: 5 } })
    const root = await tempRoot("cluster-backfill-")
    const config = path.join(root, "settings.yaml")
    await fs.writeFile(config, `${CONFIG}cluster: { overlap_sink_loads: true }\n`) // the submitter loads dates while runners work
    const env = { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: KEY, STORAGE_ROOT: root, DATABASE_URL: dbUrl }
    const ports = await freePorts(3)
    const runners = ports.map((port) => ({
      name: `127.0.0.1:${port}`,
      proc: pool.spawn(["runner", "--config", config], {
        ...env,
        CLUSTER_HOST: "127.0.0.1",
        CLUSTER_PORT: String(port)
      })
    }))
    await waitFor(() => runners.every((r) => r.proc.output().stderr.includes("Listening on")), 60_000, 100)

    const runId = `test-${Date.now()}`
    const args = ["backfill", "--cluster", "--config", config, "--start-date", START, "--end-date", END]
    const submit = pool.spawn([...args, "--run-id", runId], env)
    // Mid-range (some units already completed), a runner that has been working on a unit for a while: SIGKILL it.
    let victim = ""
    await waitFor(
      async () => {
        const events = (await readUnitEvents(root)).filter((e) => e.runId === runId)
        const now = Date.now()
        const busy = events.find(
          (e) =>
            events.filter((c) => c.event === "completed").length >= DONE_BEFORE_KILL &&
            e.event === "started" &&
            now - (e.atMs ?? now) > BUSY_MS &&
            !events.some((c) => c.event === "completed" && c.unit === e.unit && c.runner === e.runner)
        )
        if (busy) victim = busy.runner
        return busy !== undefined
      },
      120_000,
      50
    )
    const killed = runners.find((r) => r.name === victim)!
    killed.proc.child.kill("SIGKILL")
    expect((await killed.proc.finished).signal).toBe("SIGKILL")
    const atKill = (await readUnitEvents(root)).filter((e) => e.runId === runId)
    const unfinished = atKill
      .filter((e) => e.runner === victim && e.event === "started")
      .map((e) => e.unit)
      .filter((u) => !atKill.some((c) => c.event === "completed" && c.unit === u && c.runner === victim))
    expect(unfinished.length).toBeGreaterThan(0)
    // `status --cluster` while it runs: every unit stored, none failed.
    const mid = await runCli(["status", "--cluster", "--config", config], env)
    const counts = /backfill units: (\d+) done, (\d+) running, (\d+) pending, (\d+) failed/.exec(mid.stdout)
    expect(counts, mid.stdout + mid.stderr).not.toBeNull()
    expect(counts!.slice(1).reduce((n, c) => n + Number(c), 0)).toBe(UNITS.length)
    expect(Number(counts![4])).toBe(0)

    const done = await submit.finished
    expect({ code: done.code, err: done.code === 0 ? "" : done.stderr.slice(-3000) }).toEqual({ code: 0, err: "" })
    for (const d of DAYS) expect(done.stdout).toContain(d)

    await expectLakeIsTruth(root, DAYS)
    // The submitter loaded each date into the warehouse as soon as its units were in the lake (while
    // the runners worked on later ones): option bars and the consolidated view are exactly the lake's.
    const lakeBars = (await lake(root, "options", "ticker, window_start_ms"))
      .map((r) => `${r["d"]}|${r["ticker"]}|${r["window_start_ms"]}`)
      .sort()
    expect(lakeBars.length).toBeGreaterThan(DAYS.length * 1000)
    expect(await warehouseKeys(root)).toEqual({ bars: lakeBars, consolidated: lakeBars })

    // The runners' record: one completion per unit key; the victim's unfinished units finished elsewhere.
    const events = (await readUnitEvents(root)).filter((e) => e.runId === runId)
    const completed = events.filter((e) => e.event === "completed")
    expect(
      fetchedOnce(completed)
        .map((e) => e.unit)
        .sort()
    ).toEqual(UNITS)
    for (const e of completed) expect(partitionOf(e.unit)).toBe(`${e.feed}/${e.date}`)
    expect(events.filter((e) => e.event === "failed")).toEqual([])
    for (const u of unfinished) {
      const by = completed.find((e) => e.unit === u)!
      expect(by.runner).not.toBe(victim)
      expect(events.filter((e) => e.event === "started" && e.unit === u).length).toBeGreaterThanOrEqual(2)
    }
    // The split is finer than a date: the units of some date completed on more than one runner.
    const runnersOfDate = DAYS.map((d) => new Set(completed.filter((e) => e.date === d).map((e) => e.runner)).size)
    expect(Math.max(...runnersOfDate)).toBeGreaterThan(1)

    console.log(
      `killed ${victim} (${atKill.filter((e) => e.event === "completed" && e.runner === victim).length} unit(s) done by it, ${atKill.filter((e) => e.event === "completed").length} in all) while on ${unfinished.join(", ")}; completed by ${unfinished.map((u) => completed.find((e) => e.unit === u)!.runner).join(", ")}; runners: ${[...new Set(completed.map((e) => e.runner))].join(", ")}; runners per date: ${runnersOfDate.join(",")}`
    )

    // The cluster's record: one persisted message per unit key, processed, with exactly one exit reply (a success).
    const messages = await pgQuery(dbUrl, [
      `SELECT m.entity_id, m.message_id, m.processed, r.kind, r.payload FROM cluster_messages m LEFT JOIN cluster_replies r ON r.request_id = m.request_id WHERE m.message_id LIKE 'BackfillUnit/%/Run/${runId}/%' ORDER BY m.entity_id COLLATE "C", m.message_id COLLATE "C"`
    ])
    expect(messages.map((m) => [m["entity_id"], m["processed"], Number(m["kind"])])).toEqual(
      UNITS.map((u) => [partitionOf(u), true, 0])
    )
    expect(messages.map((m) => String(m["message_id"]).split("/Run/")[1])).toEqual(UNITS.map((u) => `${runId}/${u}`))
    const replies = messages.map(
      (m) => JSON.parse(String(m["payload"])) as { _tag: string; value: { runner: string; unit: string } }
    )
    expect(replies.map((r) => [r._tag, r.value.unit])).toEqual(UNITS.map((u) => ["Success", u]))
    for (const u of unfinished) expect(replies[UNITS.indexOf(u)]!.value.runner).not.toBe(victim)

    // `status --cluster` at the end: the two survivors share all the shards, every unit done, listed by key.
    const end = await runCli(["status", "--cluster", "--config", config], env)
    expect(end.stdout).toContain(`backfill units: ${UNITS.length} done, 0 running, 0 pending, 0 failed`)
    for (const u of UNITS)
      expect(end.stdout).toMatch(new RegExp(`^${runId}\\s+${u}\\s+done\\s+127\\.0\\.0\\.1:\\d+`, "m"))
    const survivors = runners.filter((r) => r.name !== victim).map((r) => r.name)
    const shardsOf = (name: string) =>
      Number(new RegExp(`^${name.replace(/\./g, "\\.")}\\s+yes\\s+\\d+ s\\s+(\\d+)$`, "m").exec(end.stdout)?.[1] ?? NaN)
    expect(
      survivors.map(shardsOf).reduce((a, b) => a + b, 0),
      end.stdout
    ).toBe(300)
    expect(shardsOf(victim)).toBeNaN() // not listed as healthy: no heartbeat since the kill
    console.log(`${mid.stdout}\n${end.stdout}`)

    // The same submission again: every unit answered from its stored reply, no runner starts a unit.
    const again = await runCli([...args, "--run-id", runId], env)
    expect({ code: again.code, err: again.code === 0 ? "" : again.stderr.slice(-3000) }).toEqual({ code: 0, err: "" })
    expect((await readUnitEvents(root)).filter((e) => e.runId === runId)).toEqual(events)
  }, 300_000)

  it("a runner stopped with SIGTERM hands its units over (it starts no new one, exits 0, another finishes them); a killed submitter is resumed by --resume", async (ctx) => {
    const dbUrl = await freshClusterDatabase(DB)
    if (dbUrl === undefined) return ctx.skip()
    sim = await startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { latencyMs: 5 } })
    const root = await tempRoot("cluster-sigterm-")
    const config = path.join(root, "settings.yaml")
    await fs.writeFile(config, CONFIG)
    const env = { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: KEY, STORAGE_ROOT: root, DATABASE_URL: dbUrl }
    const [p1, p2] = await freePorts(2)
    const runner = (port: number) =>
      pool.spawn(["runner", "--config", config], { ...env, CLUSTER_HOST: "127.0.0.1", CLUSTER_PORT: String(port) })
    const first = runner(p1!)
    await waitFor(() => first.output().stderr.includes("Listening on"), 60_000, 100)
    const days = DAYS.slice(0, 5)
    const runId = `sigterm-${Date.now()}`
    const submit = pool.spawn(
      [
        "backfill",
        "--cluster",
        "--config",
        config,
        "--start-date",
        days[0]!,
        "--end-date",
        days.at(-1)!,
        "--run-id",
        runId
      ],
      env
    )
    await waitFor(async () => (await readUnitEvents(root)).some((e) => e.event === "started"), 120_000, 50)
    const stoppedAt = Date.now()
    first.child.kill("SIGTERM")
    const exit = await first.finished
    expect({ code: exit.code, s: Math.round((Date.now() - stoppedAt) / 1000) <= 12 }).toEqual({ code: 0, s: true })
    // No unit started after its stop began (its own `stopping` line: a loaded machine may take a while to get there).
    const byFirst = (await readUnitEvents(root)).filter((e) => e.runner === `127.0.0.1:${p1}`)
    const stopLine = byFirst.findIndex((e) => e.event === "stopping")
    expect(stopLine).toBeGreaterThan(0)
    expect(byFirst.slice(stopLine).filter((e) => e.event === "started")).toEqual([])
    expect(byFirst.filter((e) => e.event === "completed").length).toBeLessThan(unitsOf(days).length)

    runner(p2!)
    // The submitter killed too (its messages are stored: the new runner goes on with them), then
    // `backfill --cluster --resume` alone: the latest submission again, same run id, sinks loaded.
    submit.child.kill("SIGKILL")
    expect((await submit.finished).signal).toBe("SIGKILL")
    const done = await runCli(["backfill", "--cluster", "--resume", "--config", config], env)
    expect({ code: done.code, err: done.code === 0 ? "" : done.stderr.slice(-3000) }).toEqual({ code: 0, err: "" })
    expect(done.stdout + done.stderr).toContain(`(run ${runId})`)
    await expectLakeIsTruth(root, days)
    const completed = (await readUnitEvents(root)).filter((e) => e.event === "completed")
    expect(
      fetchedOnce(completed)
        .map((e) => e.unit)
        .sort()
    ).toEqual(unitsOf(days))
    expect(completed.some((e) => e.runner === `127.0.0.1:${p2}`)).toBe(true)
    const lakeBars = (await lake(root, "options", "ticker, window_start_ms"))
      .map((r) => `${r["d"]}|${r["ticker"]}|${r["window_start_ms"]}`)
      .sort()
    expect(await warehouseKeys(root)).toEqual({ bars: lakeBars, consolidated: lakeBars })
  }, 240_000)
})
