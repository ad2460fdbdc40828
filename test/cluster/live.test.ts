/**
 * Distributed live on @effect/cluster with real processes (issue 17): `simulate` (child, 60× from
 * 09:29:50 ET), three `runner` children sharing a fresh PostgreSQL database and one lake root, and
 * `live --cluster` (the coordinator: contract choice, writers, gap repair, checkpoints) whose five
 * socket shards (spy-0, vix-0 and options-0..2 at 4 contracts a connection) are streamed by the
 * runners. Once every shard streams, the runner with the most shards is SIGKILLed. Then:
 * - each of its shards streams again on another runner, into a new file (every journal file of a
 *   shard was written by one process: its name carries the pid), within the shard lock expiry plus
 *   a poll (measured and printed);
 * - then the coordinator itself is SIGKILLed and started again with the same arguments: the new
 *   session stops the old one's shards and streams every shard again;
 * - after `stop`, the coordinator exits 0 within 15 s, and every feed's lake equals the simulator's
 *   truth from the open to its last bar (rows = distinct keys = truth, values exact, no duplicate,
 *   nothing left to repair), the hole of the failover filled over REST by gap repair (repaired > 0
 *   in every feed the victim streamed: anti-vacuity);
 * - the cluster's own records: one message per shard and session, processed, answered with a
 *   success once its session stopped.
 * PostgreSQL missing: the test fails under CI, else it is skipped with a message.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { readUnitEvents } from "../../src/programs/cluster/units.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { buildIfStale } from "../helpers/build.js"
import { childPool, runCli, waitFor } from "../helpers/cli.js"
import { chosenContracts } from "../helpers/groundTruth.js"
import { CLEAN_LAYOUT } from "../helpers/lakeLayout.js"
import { compareFeed } from "../helpers/liveLake.js"
import { tempRoot } from "../helpers/settings.js"
import { startSimulate } from "../helpers/simulate.js"
import { dropDatabase, freePorts, freshClusterDatabase, pgQuery } from "./support.js"

const SEED = 7
const DATE = "2025-10-28"
const START = "2025-10-28T09:29:50-04:00"
const SPEED = 60
const KEY = "cluster-live-key-0017"
const MAX_CONTRACTS = 10
const PER_CONNECTION = 4
const OPEN = nyTimeMs(DATE, 9, 30)
const SHARDS = ["options-0", "options-1", "options-2", "spy-0", "vix-0"]
/** Simulated time the shards stream after the failover before the session is stopped (gaps closed, repairs committed). */
const AFTER_FAILOVER_MS = 8 * 60_000
const DB = `cluster_test_live_${process.pid}`
const market = makeSyntheticMarket(SEED)

const { spawn, killAll } = childPool()
afterEach(killAll)

const shardEvents = async (root: string) =>
  (await readUnitEvents(root)).filter((e) => e.unit.startsWith(`live/${DATE}/`))
const connectionOf = (unit: string) => unit.split("/")[2]!

/** The tickers of a shard's first subscription marker in its journal files (undefined: none yet). */
const subscribed = (root: string, shard: string): ReadonlyArray<string> | undefined => {
  const dir = path.join(root, "journal", "shards", DATE, shard)
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []
  for (const f of files) {
    const line = fs
      .readFileSync(path.join(dir, f), "utf8")
      .split("\n")
      .find((l) => l.startsWith('["M",'))
    if (line !== undefined) return (JSON.parse(line) as [string, number, { tickers: Array<string> }])[2].tickers
  }
  return undefined
}

describe("distributed live, real processes", () => {
  beforeAll(() => buildIfStale(), 180_000)
  afterAll(() => dropDatabase(DB))

  it("live --cluster refuses the built-in simulator and re-centring (exit 2, saying why)", async () => {
    const root = await tempRoot("cluster-live-refused-")
    const builtin = await runCli(["live", "--cluster"], { STORAGE_ROOT: root })
    expect(builtin.code).toBe(2)
    expect(builtin.stderr + builtin.stdout).toContain("the built-in simulator lives inside one process")
    const recenter = await runCli(["live", "--cluster"], {
      STORAGE_ROOT: root,
      POLYGON_REST_URL: "http://127.0.0.1:9",
      POLYGON_WS_URL: "ws://127.0.0.1:9",
      POLYGON_API_KEY: KEY,
      OPTIONS_RECENTER_ENABLED: "true"
    })
    expect(recenter.code).toBe(2)
    expect(recenter.stderr + recenter.stdout).toContain("live --cluster does not re-centre yet")
    fs.rmSync(root, { recursive: true, force: true })
  })

  it("3 runners, the busiest SIGKILLed: its shards move, the lake equals the truth", async (ctx) => {
    const dbUrl = await freshClusterDatabase(DB)
    if (dbUrl === undefined) return ctx.skip()
    const { url, now } = await startSimulate(spawn, { seed: SEED, start: START, speed: SPEED, apiKey: KEY })
    const root = await tempRoot("cluster-live-")
    const config = path.join(root, "settings.yaml")
    fs.writeFileSync(
      config,
      `options: { max_contracts: ${MAX_CONTRACTS} }
live: { max_subscriptions_per_connection: ${PER_CONNECTION}, idle_timeout_s: 60 }
flush: { interval_s: 60 }
feeds: { news: { enabled: false } }
sinks: { enabled: [] }
`
    )
    const env = {
      POLYGON_REST_URL: url,
      POLYGON_WS_URL: url.replace(/^http/, "ws"),
      POLYGON_API_KEY: KEY,
      STORAGE_ROOT: root,
      DATABASE_URL: dbUrl
    }
    const runners = (await freePorts(3)).map((port) => ({
      name: `127.0.0.1:${port}`,
      proc: spawn(["runner", "--config", config], { ...env, CLUSTER_HOST: "127.0.0.1", CLUSTER_PORT: String(port) })
    }))
    await waitFor(() => runners.every((r) => r.proc.output().stderr.includes("Listening on")), 60_000, 100)
    // the coordinator's clock starts where the simulator's is now (it started before the runners)
    const clockStart = new Date((await now()) + 1000).toISOString()
    const liveArgs = [
      "live",
      "--cluster",
      "--config",
      config,
      "--clock-start",
      clockStart,
      "--clock-speed",
      String(SPEED)
    ]
    const first = spawn(liveArgs, env)

    // Every shard streams (its first file holds a subscription marker) for a few simulated minutes; the runner with the most shards is the victim.
    await waitFor(() => SHARDS.every((s) => subscribed(root, s) !== undefined), 90_000, 100)
    expect([...new Set((await shardEvents(root)).map((e) => connectionOf(e.unit)))].sort()).toEqual(SHARDS)
    const streamingAt = await now()
    await waitFor(async () => (await now()) >= streamingAt + 5 * 60_000, 60_000, 100)
    // who streams each shard now: its latest `started` line
    const holder = new Map(
      (await shardEvents(root)).filter((e) => e.event === "started").map((e) => [connectionOf(e.unit), e.runner])
    )
    const holdings = runners.map((r) => ({ r, shards: SHARDS.filter((s) => holder.get(s) === r.name) }))
    const victim = holdings.sort((a, b) => b.shards.length - a.shards.length)[0]!
    expect(victim.shards.length).toBeGreaterThan(0)
    victim.r.proc.child.kill("SIGKILL")
    const killedAt = Date.now()
    const killedSim = await now()
    expect((await victim.r.proc.finished).signal).toBe("SIGKILL")

    // Each of the victim's shards streams again on a survivor.
    await waitFor(
      async () => {
        const after = await shardEvents(root)
        return victim.shards.every((s) => after.some((e) => connectionOf(e.unit) === s && e.runner !== victim.r.name))
      },
      60_000,
      100
    )
    const failoverS = (Date.now() - killedAt) / 1000
    expect(failoverS).toBeLessThan(30)
    const movedAt = await now()
    // `status --cluster` meanwhile: the runners, and every shard of the session streaming on a healthy one
    // (polled: when the ring changes, a shard can also move between survivors for a moment)
    let mid = { stdout: "", stderr: "" }
    await waitFor(
      async () => {
        mid = await runCli(["status", "--cluster", "--config", config], env)
        return mid.stdout.includes("live shards: 5 streaming, 0 pending, 0 ended, 0 failed")
      },
      30_000,
      500
    )
    for (const s of SHARDS) expect(mid.stdout).toMatch(new RegExp(`${DATE}/${s}\\s+streaming\\s+127\\.0\\.0\\.1:\\d+`))
    await waitFor(async () => (await now()) >= movedAt + AFTER_FAILOVER_MS, 60_000, 100)

    // The coordinator SIGKILLed and started again: a new session stops the old one's shards and streams its own.
    first.child.kill("SIGKILL")
    expect((await first.finished).signal).toBe("SIGKILL")
    const live = spawn(liveArgs, env)
    await waitFor(
      async () => {
        const started = (await shardEvents(root)).filter((e) => e.event === "started")
        const sessions = [...new Set(started.map((e) => e.runId))]
        return (
          sessions.length === 2 &&
          SHARDS.every((s) => started.some((e) => e.runId === sessions[1] && connectionOf(e.unit) === s))
        )
      },
      90_000,
      100
    )
    const restartedAt = await now()
    await waitFor(async () => (await now()) >= restartedAt + AFTER_FAILOVER_MS, 60_000, 100)

    const stop = await runCli(["stop"], { STORAGE_ROOT: root })
    expect(stop.code).toBe(0)
    const exit = await live.finished
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null })
    const waited = /live process \d+ stopped after (\d+(?:\.\d)?) s/.exec(stop.stdout)
    expect(Number(waited?.[1] ?? Infinity)).toBeLessThan(15)

    // A file per incarnation, named by its process: the victim's shards continued in a file of a survivor's.
    const victimPid = String(victim.r.proc.child.pid)
    for (const s of SHARDS) {
      const pids = fs
        .readdirSync(path.join(root, "journal", "shards", DATE, s))
        .sort()
        .map((f) => /-(\d+)\.ndjson$/.exec(f)![1])
      if (victim.shards.includes(s)) {
        const last = pids.lastIndexOf(victimPid)
        expect(last).toBeGreaterThanOrEqual(0)
        expect(pids.slice(last + 1).length).toBeGreaterThan(0) // continued by a survivor
      } else expect(pids.length).toBeGreaterThanOrEqual(1)
    }

    const options = chosenContracts(market, DATE, 0.01, MAX_CONTRACTS).map((c) => c.ticker)
    // each options shard's tickers, from its first subscription marker
    const connections = SHARDS.filter((s) => s.startsWith("options-")).map((s) => subscribed(root, s)!)
    expect(connections.flat().sort()).toEqual([...options].sort())
    const results = []
    for (const [feed, tickers] of [
      ["spy", ["SPY"]],
      ["vix", ["I:VIX"]],
      ["options", options]
    ] as const) {
      const r = await compareFeed(
        { root, date: DATE, openMs: OPEN, market },
        feed,
        tickers,
        feed === "options" ? connections : [tickers]
      )
      results.push(r)
      expect({ feed, diff: r.diff, due: r.due, layout: r.layout }).toEqual({
        feed,
        diff: { missing: [], missingN: 0, wrong: [], spurious: [], duplicates: [] },
        due: 0,
        layout: CLEAN_LAYOUT
      })
      expect(r.rows).toBe(r.expected)
      expect(r.end).toBeGreaterThanOrEqual(movedAt + AFTER_FAILOVER_MS - 60_000)
      if (feed !== "options") expect(r.start).toBe(OPEN)
      // the failover's hole was filled over REST (anti-vacuity)
      if (victim.shards.some((s) => s.startsWith(`${feed}-`)))
        expect(r.repairedIn(killedSim, movedAt)).toBeGreaterThan(0)
    }

    // The cluster's record: one message per shard of the session, processed, with a success reply.
    const messages = await pgQuery(dbUrl, [
      `SELECT m.entity_id, m.processed, r.payload::json->>'_tag' AS exit
       FROM cluster_messages m LEFT JOIN cluster_replies r ON r.request_id = m.request_id AND r.kind = 0
       WHERE m.entity_type = 'LiveShard' AND m.kind = 0 ORDER BY m.entity_id`
    ])
    expect(messages.map((m) => `${m["entity_id"]} ${m["processed"]} ${m["exit"]}`)).toEqual(
      SHARDS.flatMap((s) => [`${DATE}/${s} true Success`, `${DATE}/${s} true Success`]) // one per session
    )
    console.log(
      `victim ${victim.r.name} streamed ${victim.shards.join(", ")}; its shards streamed again ${failoverS.toFixed(1)} s after the SIGKILL\n` +
        results
          .map(
            (r) =>
              `${r.feed}: ${r.rows} rows, ${r.repaired} repaired, ${r.repairedIn(killedSim, movedAt)} in the failover`
          )
          .join("\n")
    )
    fs.rmSync(root, { recursive: true, force: true })
  }, 300_000)
})
