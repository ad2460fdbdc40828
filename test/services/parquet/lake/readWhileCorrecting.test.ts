/**
 * A researcher reads a partition while a live day publishes corrections (README "The lake
 * contract"): the simulator (in this process, so its broadcast corrections are known) re-sends
 * every 3rd per-second bar 90 simulated seconds later with new values; `live` (a real process)
 * commits every 10 simulated seconds, so a correction lands in a later commit than its original
 * and rewrites the file that holds it. Meanwhile this process globs the SPY and options partitions
 * over and over through pinned files (lakeSnapshot.ts): no read fails or sees a key twice, and at rest the lake is exactly the
 * simulator's truth of the regular session with the corrections applied.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { Effect } from "effect"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import { nyTimeMs } from "../../../../src/domain/calendar.js"
import { lakePaths } from "../../../../src/domain/paths.js"
import { withSnapshot } from "../../../../src/services/parquet/lakeSnapshot.js"
import { checkpointFile, type LiveCheckpoint } from "../../../../src/live/writer/liveFiles.js"
import { makeSimClock } from "../../../../src/simulator/SimClock.js"
import { makeSyntheticMarket } from "../../../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../../../src/simulator/server.js"
import { buildIfStale } from "../../../helpers/build.js"
import { runCli, startCli, waitFor } from "../../../helpers/cli.js"
import { chosenContracts } from "../../../helpers/groundTruth.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../../helpers/lakeLayout.js"
import { tempRoot } from "../../../helpers/settings.js"
import { readLake } from "../../../live/fixtures/harness.js"

const SEED = 11
const DATE = "2025-10-28"
const START = "2025-10-28T09:29:50-04:00"
const SPEED = 60
const KEY = "read-while-correcting-0001"
const MAX_CONTRACTS = 6
const OPEN = nyTimeMs(DATE, 9, 30)
const REPLAY_UNTIL = nyTimeMs(DATE, 9, 48)
const FEEDS = ["spy", "options"] as const

let sim: RunningSimulator | undefined
let live: ReturnType<typeof startCli> | undefined
afterEach(async () => {
  if (live && live.child.exitCode === null && live.child.signalCode === null) live.child.kill("SIGKILL")
  await sim?.close()
})

/** Glob each partition until `done()`: every read's rows against its distinct keys. */
const readLoop = async (root: string, done: () => boolean) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  // As the README advises a reader of a lake being written: DuckDB's in-memory cache of external
  // files is keyed by path and could serve a replaced file's old blocks.
  await c.run("SET enable_external_file_cache = false")
  const stats = { reads: 0, doubled: [] as Array<string>, errors: [] as Array<string>, sizes: new Set<number>() }
  try {
    while (!done()) {
      for (const feed of FEEDS) {
        const dir = lakePaths(root).partitionDir(feed, DATE)
        if (!fs.existsSync(dir) || !fs.readdirSync(dir).some((n) => n.endsWith(".parquet"))) continue
        try {
          // Through pinned files, as the README advises a reader of a lake being written (lakeSnapshot.ts).
          // Nothing pinned (the partition emptied between the listing above and the pin): no read.
          const r = await withSnapshot(root, async (snap) => {
            const pinned = await snap.pinPartition(feed, DATE)
            if (pinned.length === 0) return undefined
            const files = pinned.map((f) => `'${f}'`).join(", ")
            return c.runAndReadAll(
              `SELECT count(*)::DOUBLE, count(DISTINCT (ticker, window_start_ms))::DOUBLE FROM read_parquet([${files}])`
            )
          })
          if (r === undefined) continue
          const [n, d] = r.getRowsJS()[0]! as [number, number]
          stats.reads++
          stats.sizes.add(n)
          if (n !== d) stats.doubled.push(`${feed}: ${n} rows, ${d} keys`)
        } catch (e) {
          stats.errors.push(`${feed}: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  } finally {
    c.closeSync()
    db.closeSync()
  }
  return stats
}

const committedAll = (root: string) =>
  FEEDS.every((feed) => {
    const file = checkpointFile(root, feed, DATE)
    if (!fs.existsSync(file)) return false
    const cp = JSON.parse(fs.readFileSync(file, "utf8")) as LiveCheckpoint
    return cp.offset === fs.statSync(lakePaths(root).journalDir + `/${feed}/${DATE}.ndjson`).size
  })

describe("reading the lake while a live day publishes corrections (real process)", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("no read sees a key twice; at rest the lake is the truth with every correction applied", async () => {
    const root = await tempRoot("read-correcting-")
    sim = await startSimulator({
      port: 0,
      seed: SEED,
      apiKey: KEY,
      clock: makeSimClock({ startMs: Date.parse(START), speed: SPEED }),
      faults: { ws: { correctionEvery: 3, correctionDelaySimMs: 90_000, replayUntilMs: REPLAY_UNTIL } }
    })
    live = startCli(["live", "--clock-start", START, "--clock-speed", String(SPEED)], {
      STORAGE_ROOT: root,
      POLYGON_REST_URL: sim.url,
      POLYGON_WS_URL: sim.wsUrl,
      POLYGON_API_KEY: KEY,
      OPTIONS_MAX_CONTRACTS: String(MAX_CONTRACTS),
      FEEDS_NEWS_ENABLED: "false",
      FEEDS_VIX_ENABLED: "false",
      SINKS_ENABLED: "duckdb",
      FLUSH_INTERVAL_S: "10",
      LIVE_IDLE_TIMEOUT_S: "600"
    })
    let atRest = false
    const reading = readLoop(root, () => atRest)
    // The replay ends at REPLAY_UNTIL; the lake is at rest once every feed's checkpoint covers its whole journal.
    await waitFor(() => sim!.ws.nowMs() >= REPLAY_UNTIL, 120_000, 100)
    await waitFor(() => committedAll(root), 60_000, 100)
    await new Promise((r) => setTimeout(r, 1000))
    await waitFor(() => committedAll(root), 60_000, 100)
    atRest = true
    const stats = await reading
    const corrections = sim.ws.corrections()

    // The contract: no read ever sees a key twice, and no read through pinned files fails.
    expect(stats.errors.slice(0, 5)).toEqual([])
    expect(stats.doubled).toEqual([])
    // The reads saw the lake grow through many commits (not one read of a finished lake).
    expect(stats.reads).toBeGreaterThan(100)
    expect(stats.sizes.size).toBeGreaterThan(20)

    const tickers = {
      spy: ["SPY"],
      options: chosenContracts(makeSyntheticMarket(SEED), DATE, 0.01, MAX_CONTRACTS).map((c) => c.ticker)
    }
    let corrected = 0
    for (const feed of FEEDS) {
      const rows = await Effect.runPromise(readLake(root, feed, DATE))
      const last = Math.max(...rows.map((r) => r.s))
      const truth = new Map<string, string>()
      for (const t of tickers[feed])
        for (const b of sim.ws.groundTruth(t, DATE))
          if (b.t >= OPEN && b.t <= last) truth.set(`${t}|${b.t}`, `${b.o}|${b.h}|${b.l}|${b.c}|${b.v}`)
      const lake = new Map(rows.map((r) => [`${r.ticker}|${r.s}`, `${r.o}|${r.h}|${r.l}|${r.c}|${r.v}`]))
      const wrong = [...truth].filter(([k, v]) => lake.get(k) !== v).slice(0, 5)
      expect({ feed, rows: rows.length, keys: lake.size, wrong, layout: await lakeLayout(root, feed, DATE) }).toEqual({
        feed,
        rows: truth.size,
        keys: truth.size,
        wrong: [],
        layout: CLEAN_LAYOUT
      })
      corrected += [...corrections.values()].filter((c) => lake.has(`${c.sym}|${c.s}`)).length
    }
    // Corrections were published during the day, each in a later commit than its original.
    expect(corrected).toBeGreaterThan(100)
    console.log(
      `${stats.reads} reads of the partitions during the day, ${stats.sizes.size} distinct sizes seen, ${corrected} corrections in the lake`
    )

    const stop = await runCli(["stop"], { STORAGE_ROOT: root })
    expect([stop.code, (await live.finished).code]).toEqual([0, 0])
  }, 240_000)
})
