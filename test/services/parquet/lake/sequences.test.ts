/**
 * The lake contract across commands, with real processes (README "The lake contract"): whatever
 * sequence of `live`, `backfill`, `backfill --overwrite`, SIGKILL and restart made a day, every
 * partition glob holds rows = distinct keys = the simulator's truth, and every file holds exactly
 * the keys that map to it. `live` streams from `simulate` (a child, 120× from 09:29:50 ET);
 * `backfill` uses the built-in simulator with the same seed (the whole day over REST).
 *
 * "Latest received wins" is by `received_at_ms`: live's rows carry the simulated clock (2025),
 * backfill's the wall clock, so after any sequence that includes a backfill every row is REST's.
 */
import { Effect } from "effect"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import { nyTimeMs } from "../../../../src/domain/calendar.js"
import type { Feed } from "../../../../src/domain/feeds.js"
import { checkpointFile } from "../../../../src/live/writer/liveFiles.js"
import { makeSyntheticMarket } from "../../../../src/simulator/market/SyntheticMarket.js"
import { buildIfStale } from "../../../helpers/build.js"
import { childPool, runCli, waitFor } from "../../../helpers/cli.js"
import { chosenContracts } from "../../../helpers/groundTruth.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../../helpers/lakeLayout.js"
import { tempRoot } from "../../../helpers/settings.js"
import { startSimulate } from "../../../helpers/simulate.js"
import { diffLake, readLake } from "../../../live/fixtures/harness.js"

const SEED = 7
const DATE = "2025-10-28"
const START = "2025-10-28T09:29:50-04:00"
const SPEED = 120
const KEY = "lake-sequences-key-0001"
const MAX_CONTRACTS = 6
const STOP_AT = nyTimeMs(DATE, 9, 50)
const market = makeSyntheticMarket(SEED)
const CONTRACTS = chosenContracts(market, DATE, 0.01, MAX_CONTRACTS).map((c) => c.ticker)
const FEEDS = [
  ["spy", ["SPY"]],
  ["vix", ["I:VIX"]],
  ["options", CONTRACTS]
] as const

const { spawn, killAll } = childPool()
afterEach(killAll)

const common = (root: string): Record<string, string> => ({
  STORAGE_ROOT: root,
  OPTIONS_MAX_CONTRACTS: String(MAX_CONTRACTS),
  FEEDS_NEWS_ENABLED: "false",
  SINKS_ENABLED: "duckdb"
})
const liveEnv = (url: string, root: string): Record<string, string> => ({
  ...common(root),
  POLYGON_REST_URL: url,
  POLYGON_WS_URL: url.replace(/^http/, "ws"),
  POLYGON_API_KEY: KEY,
  FLUSH_INTERVAL_S: "20",
  LIVE_IDLE_TIMEOUT_S: "60"
})
const liveArgs = ["live", "--clock-start", START, "--clock-speed", String(SPEED)]

/** `live` restarted on the same root: running until every feed committed again, then stopped. */
const restartAndStop = async (sim: Awaited<ReturnType<typeof startSimulate>>, root: string) => {
  const t0 = Date.now()
  const again = spawn(liveArgs, liveEnv(sim.url, root))
  await waitFor(() => FEEDS.every(([feed]) => fs.statSync(checkpointFile(root, feed, DATE)).mtimeMs > t0), 60_000, 100)
  expect(again.output().stderr).toContain("Simulated clock resumed")
  const stop = await runCli(["stop"], { STORAGE_ROOT: root })
  expect([stop.code, (await again.finished).code]).toEqual([0, 0])
}

/** Until every feed has committed once, then the simulated STOP_AT; `stop` (SIGTERM) or SIGKILL. */
const liveUntil = async (sim: Awaited<ReturnType<typeof startSimulate>>, root: string, end: "stop" | "kill") => {
  const live = spawn(liveArgs, liveEnv(sim.url, root))
  await waitFor(async () => (await sim.now()) >= STOP_AT, 120_000, 100)
  await waitFor(() => FEEDS.every(([feed]) => fs.existsSync(checkpointFile(root, feed, DATE))), 60_000, 100)
  if (end === "kill") {
    live.child.kill("SIGKILL")
    expect((await live.finished).signal).toBe("SIGKILL")
    return
  }
  const stop = await runCli(["stop"], { STORAGE_ROOT: root })
  expect(stop.code).toBe(0)
  expect((await live.finished).code).toBe(0)
}

const backfill = async (root: string, overwrite = false) => {
  const r = await runCli(
    [
      "backfill",
      "--start-date",
      DATE,
      "--end-date",
      DATE,
      "--feeds",
      "spy,vix,options",
      ...(overwrite ? ["--overwrite"] : [])
    ],
    {
      ...common(root),
      SIMULATOR_SEED: String(SEED)
    }
  )
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: "" })
}

/** Each feed's partition against the truth over [open, until): exact sets and values, clean layout, and the sources held. */
const check = async (root: string, until: number | "day") => {
  const out: Array<unknown> = []
  for (const [feed, tickers] of FEEDS) {
    const rows = await Effect.runPromise(readLake(root, feed as Feed, DATE))
    const last = Math.max(...rows.map((r) => r.s))
    const d = diffLake(rows, market, tickers, DATE, (t) => until === "day" || t <= last)
    if (until !== "day") expect(last).toBeGreaterThanOrEqual(STOP_AT - 60_000)
    const layout = await lakeLayout(root, feed as Feed, DATE)
    out.push({ feed, ...d, layout, sources: [...new Set(rows.map((r) => r.source))].sort() })
  }
  return out as Array<{
    feed: Feed
    expected: number
    rows: number
    missing: number
    duplicates: number
    wrong: number
    spurious: number
    layout: unknown
    sources: Array<string>
  }>
}

const exactDay = (results: Awaited<ReturnType<typeof check>>, sources: ReadonlyArray<string>) =>
  expect(results.map((r) => ({ ...r, expected: 0 }))).toEqual(
    results.map((r) => ({
      feed: r.feed,
      expected: 0,
      rows: r.expected,
      missing: 0,
      duplicates: 0,
      wrong: 0,
      spurious: 0,
      layout: CLEAN_LAYOUT,
      sources
    }))
  )

describe("the lake contract across commands (real processes)", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("live, then backfill: REST fills the rest of the day, one row per key", async () => {
    const root = await tempRoot("seq-live-backfill-")
    const sim = await startSimulate(spawn, { seed: SEED, start: START, speed: SPEED, apiKey: KEY })
    await liveUntil(sim, root, "stop")
    const streamed = await check(root, STOP_AT)
    expect(streamed.map((r) => [r.feed, r.duplicates, r.wrong, r.spurious, r.layout])).toEqual(
      FEEDS.map(([f]) => [f, 0, 0, 0, CLEAN_LAYOUT])
    )
    expect(streamed.every((r) => r.sources.includes("ws"))).toBe(true)
    await backfill(root)
    exactDay(await check(root, "day"), ["rest"])
  }, 240_000)

  it("backfill, then live: live's older versions never double a key", async () => {
    const root = await tempRoot("seq-backfill-live-")
    await backfill(root)
    exactDay(await check(root, "day"), ["rest"])
    const sim = await startSimulate(spawn, { seed: SEED, start: START, speed: SPEED, apiKey: KEY })
    await liveUntil(sim, root, "stop")
    exactDay(await check(root, "day"), ["rest"])
  }, 240_000)

  it("live killed with SIGKILL, then backfill, then live restarted: the same day", async () => {
    const root = await tempRoot("seq-kill-backfill-")
    const sim = await startSimulate(spawn, { seed: SEED, start: START, speed: SPEED, apiKey: KEY })
    await liveUntil(sim, root, "kill")
    await backfill(root)
    exactDay(await check(root, "day"), ["rest"])
    // The restart replays the journal tail the kill left into the same files, then streams on.
    await restartAndStop(sim, root)
    exactDay(await check(root, "day"), ["rest"])
  }, 240_000)

  it("live, backfill --overwrite, live again: the partition is REST's, then stays one row per key", async () => {
    const root = await tempRoot("seq-overwrite-")
    const sim = await startSimulate(spawn, { seed: SEED, start: START, speed: SPEED, apiKey: KEY })
    await liveUntil(sim, root, "stop")
    await backfill(root, true)
    exactDay(await check(root, "day"), ["rest"])
    await restartAndStop(sim, root)
    exactDay(await check(root, "day"), ["rest"])
  }, 240_000)
})
