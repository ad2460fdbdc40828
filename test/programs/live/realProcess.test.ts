/**
 * Real processes on loopback: `simulate` (child, 120× real time from 09:29:50 ET, every
 * WebSocket connection dropped every two simulated minutes) and `live` (child, same simulated
 * clock start and speed) pointed at it for a simulated hour, then `stop` (SIGTERM): `live` exits
 * 0 within 10 s, and the lake equals the simulator's ground truth exactly (SPY, I:VIX and the
 * day's 10 option contracts: same (ticker, window start) set, same o/h/l/c/v/vw, no duplicates,
 * one compacted file per partition). The same again with a SIGKILL of `live` half-way and a
 * restart with the same arguments.
 *
 * The window compared, per feed, is derived from the run and justified:
 * - start: the session open. `live` subscribes before or just after the open; the first bar after
 *   its subscription marker closes the gap from the open (GapRepair: pending = open − 1), so
 *   everything since 09:30:00 must be there (the lake's first SPY/VIX window is asserted to be the
 *   open).
 * - end: E = the feed's last window start in the lake, asserted to be at least the simulated
 *   time at which the test decided to stop and at most the simulator's time after `live` exited.
 *   Every bar of the feed's tickers with t ≤ E must be present — except for a ticker whose
 *   connection was re-opened by a drop and that had no bar since when `live` stopped: its gap is
 *   still open (the checkpoint's `pending`, carried over to the next run), so its window ends at
 *   `pending[ticker]`, and the lake must hold nothing of it after that. No holes anywhere inside.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { holidayIndex, nextTradingDay, nyTimeMs } from "../../../src/domain/calendar.js"
import { selectContracts } from "../../../src/domain/contractSelection.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import type { RecenterEntry } from "../../../src/domain/recenter.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import { latestBar } from "../../../src/live/contracts/spyPrice.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { childPool, runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"
import { CLEAN_LAYOUT } from "../../helpers/lakeLayout.js"
import { compareFeed as compareLive, fmt } from "../../helpers/liveLake.js"
import { startSimulate as startSimulateChild } from "../../helpers/simulate.js"
import { buildIfStale } from "../../helpers/build.js"

const SEED = 7
const DATE = "2025-10-28"
const START = "2025-10-28T09:29:50-04:00"
const SPEED = 120
const KEY = "real-process-key-0001"
const MAX_CONTRACTS = 10
const DROP_EVERY_S = 120
const OPEN = nyTimeMs(DATE, 9, 30)
/** An hour after the open, on an odd minute: half-way between two drops (epoch-aligned even minutes). */
const STOP_AT = nyTimeMs(DATE, 10, 31)
const KILL_AT = nyTimeMs(DATE, 10, 1)
const market = makeSyntheticMarket(SEED)

type Child = ReturnType<typeof startCli>
const { spawn, killAll } = childPool()
afterEach(killAll)

/** `simulate` as a child on a free port, with the drop fault set through the admin route. */
const startSimulate = () =>
  startSimulateChild(spawn, {
    seed: SEED,
    start: START,
    speed: SPEED,
    apiKey: KEY,
    wsFaults: { dropEverySimSeconds: DROP_EVERY_S }
  })

const liveEnv = (url: string, root: string): Record<string, string> => ({
  POLYGON_REST_URL: url,
  POLYGON_WS_URL: url.replace(/^http/, "ws"),
  POLYGON_API_KEY: KEY,
  STORAGE_ROOT: root,
  OPTIONS_MAX_CONTRACTS: String(MAX_CONTRACTS),
  // 60 simulated seconds = 0.5 s real at 120×; the idle watchdog likewise (30 s would be 0.25 s real).
  FLUSH_INTERVAL_S: "60",
  LIVE_IDLE_TIMEOUT_S: "60",
  FEEDS_NEWS_ENABLED: "false"
})
const liveArgs = ["live", "--clock-start", START, "--clock-speed", String(SPEED)]

const compareFeed = (root: string, feed: "spy" | "vix" | "options", tickers: ReadonlyArray<string>) =>
  compareLive({ root, date: DATE, openMs: OPEN, market }, feed, tickers)

/** Subscription markers (one per (re)connection) in a feed's journal. */
const markers = (root: string, feed: string) =>
  fs
    .readFileSync(path.join(root, "journal", feed, `${DATE}.ndjson`), "utf8")
    .split("\n")
    .filter((l) => l.startsWith('["M",')).length

const untilSim = (now: () => Promise<number>, at: number) => waitFor(async () => (await now()) >= at, 120_000, 100)

/**
 * Stop `live` with `node dist/main.js stop`; it must exit 0 within 10 s of the SIGTERM (`stop`
 * reports how long it waited after signalling; the `stop` process's own start-up, ~2 s on this
 * machine and more under load, comes before the signal and is only reported).
 */
const stopLive = async (live: Child, root: string) => {
  const t0 = Date.now()
  const stop = await runCli(["stop"], { STORAGE_ROOT: root })
  const exit = await live.finished
  const totalMs = Date.now() - t0
  expect(stop.code).toBe(0)
  const waited = /live process \d+ stopped after (\d+(?:\.\d)?) s/.exec(stop.stdout)
  expect(waited).not.toBeNull()
  const afterSigtermS = Number(waited![1])
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null })
  expect(afterSigtermS).toBeLessThan(10)
  return `SIGTERM to exit ${afterSigtermS} s (stop command included: ${totalMs} ms)`
}

/** Every assertion on the lake after the final stop. */
const verifyLake = async (root: string, stopDecidedSimMs: number, simAfterExitMs: number) => {
  const contracts = JSON.parse(
    fs.readFileSync(path.join(root, `raw/contracts/date=${DATE}/contracts.json`), "utf8")
  ) as { contracts: Array<{ ticker: string }> }
  const options = contracts.contracts.map((c) => c.ticker)
  expect(options).toEqual(chosenContracts(market, DATE, 0.01, MAX_CONTRACTS).map((c) => c.ticker))
  expect(options.length).toBe(MAX_CONTRACTS)
  const results = []
  for (const [feed, tickers] of [
    ["spy", ["SPY"]],
    ["vix", ["I:VIX"]],
    ["options", options]
  ] as const) {
    const r = await compareFeed(root, feed, tickers)
    results.push(r)
    expect({ feed, diff: r.diff, due: r.due, layout: r.layout }).toEqual({
      feed,
      diff: { missing: [], missingN: 0, wrong: [], spurious: [], duplicates: [] },
      due: 0,
      layout: CLEAN_LAYOUT
    })
    expect(r.rows).toBe(r.expected)
    // The window: from the open to (at least) the moment the test decided to stop, no later than the simulator's clock at exit.
    if (feed !== "options") expect(r.start).toBe(OPEN)
    expect(r.end).toBeGreaterThanOrEqual(stopDecidedSimMs - 2000)
    expect(r.end).toBeLessThan(simAfterExitMs)
    // Drops happened and were repaired over REST (anti-vacuity; ~30 reconnects in a simulated hour, fewer when a loaded machine lags the simulator).
    expect(r.repaired).toBeGreaterThan(0)
    expect(markers(root, feed)).toBeGreaterThanOrEqual(10)
  }
  console.log(
    results
      .map(
        (r) =>
          `${r.feed}: ${r.rows} rows ${new Date(r.start).toISOString()}..${new Date(r.end).toISOString()}, ${r.repaired} repaired, pending at stop: [${r.pending.join(",")}], reconnects ${markers(root, r.feed)}`
      )
      .join("\n")
  )
}

describe("live against simulate, real processes on loopback", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("a simulated hour with a drop every two minutes, then stop: exits 0 in < 10 s, lake = ground truth", async () => {
    const root = await tempRoot("live-real-")
    const { url, now } = await startSimulate()
    const live = spawn(liveArgs, liveEnv(url, root))
    await untilSim(now, STOP_AT)
    const decided = await now()
    const stopped = await stopLive(live, root)
    const after = await now()
    console.log(stopped)
    await verifyLake(root, decided, after)
    fs.rmSync(root, { recursive: true, force: true })
  }, 180_000)

  it("the same with a SIGKILL of live half-way and a restart with the same arguments: exact, no duplicates", async () => {
    const root = await tempRoot("live-real-kill-")
    const { url, now } = await startSimulate()
    const first = spawn(liveArgs, liveEnv(url, root))
    await untilSim(now, KILL_AT)
    // On a loaded machine the first commit can come after KILL_AT: kill only once every feed has one.
    await waitFor(
      async () => (["spy", "vix", "options"] as const).every((feed) => fs.existsSync(checkpointFile(root, feed, DATE))),
      60_000,
      100
    )
    first.child.kill("SIGKILL")
    expect((await first.finished).signal).toBe("SIGKILL")
    // Something received but not yet committed was left in a journal (a tail to replay: anti-vacuity).
    const tails = (["spy", "vix", "options"] as const).map((feed) => {
      const cp = JSON.parse(fs.readFileSync(checkpointFile(root, feed, DATE), "utf8")) as LiveCheckpoint
      return fs.statSync(path.join(root, "journal", feed, `${DATE}.ndjson`)).size - cp.offset
    })
    expect(Math.max(...tails)).toBeGreaterThan(0)
    expect(fs.existsSync(path.join(root, "state/live.pid"))).toBe(true)

    const second = spawn(liveArgs, liveEnv(url, root))
    await untilSim(now, STOP_AT)
    const decided = await now()
    // The restart resumed the first run's clock anchor (clockAnchor.ts): its clock continues the first run's wall →
    // simulated mapping (as the simulator's does), not --clock-start again (~30 simulated minutes behind here).
    // Heartbeats are stamped by that clock, one every 5 simulated minutes (2.5 s real).
    expect(second.output().stderr).toContain("Simulated clock resumed")
    const anchor = JSON.parse(fs.readFileSync(path.join(root, "state/clock-anchor.json"), "utf8")) as {
      clockStartMs: number
      speed: number
      wallStartMs: number
    }
    expect(anchor.wallStartMs).toBeLessThan(Date.now() - (KILL_AT - OPEN) / SPEED) // the first run's, kept
    const beat = JSON.parse(fs.readFileSync(path.join(root, "state/heartbeat/spy.json"), "utf8")) as {
      last_heartbeat: string
    }
    const resumedNow = Date.parse(START) + (Date.now() - anchor.wallStartMs) * SPEED
    expect(Date.parse(beat.last_heartbeat)).toBeGreaterThan(resumedNow - 6 * 60_000)
    expect(Date.parse(beat.last_heartbeat)).toBeLessThanOrEqual(resumedNow)
    const stopped = await stopLive(second, root)
    const after = await now()
    console.log(`journal tails at the kill: ${tails.join(", ")} bytes; ${stopped}`)
    await verifyLake(root, decided, after)
    fs.rmSync(root, { recursive: true, force: true })
  }, 180_000)
})

/*
 * Intraday re-centring (`options.recenter`) with real processes. Kept in this file so that the
 * real-process runs never compete for this 2-core machine with each other.
 *
 * `simulate` (child, 120× from 09:29:50 ET, every
 * WebSocket connection dropped every five simulated minutes) and `live` (child, recenter enabled
 * through the environment). `live` is SIGKILLed a simulated minute after its first change, started
 * again (on the simulator's current time), and stopped with `stop` after two more changes.
 *
 * What a real run can be held to exactly, from its own record and the simulator's market:
 * - every line of recenter.ndjson is the rule applied to the simulator's SPY as `live` received
 *   it (its SPY journal): the price is the close of the frame received at that very time (a bar of
 *   the simulator's SPY), beyond the band from the previous anchor, at least the cooldown after the
 *   previous change; the set is the day's selection around it; and the rule fired at the first
 *   opportunity (no price followed between the end of the cooldown and the change was beyond the
 *   band; the rule follows SPY from its "following" marker in the SPY journal, once the chain is in);
 * - the restarted `live` subscribed the recorded set, not the open's, and every (re)connection
 *   subscribed only tickers of the set current at that point of the journal;
 * - the lake holds every bar of each contract for the periods it was subscribed (from the window
 *   after the SPY bar that added it to the one after the bar that dropped it), values exact, no
 *   duplicates. The only rows beyond a period are bars the server sent before the unsubscribe
 *   reached it: bars of a dropped ticker past its period that came over the WebSocket, counted,
 *   reported, and bounded (the unsubscribe took effect).
 * It also checks that the simulator needs no change: it applies subscribe/unsubscribe mid-stream.
 */
describe("re-centring against simulate, real processes", () => {
  beforeAll(() => buildIfStale(), 180_000)

  const SEED = 42
  const DATE = "2025-10-28"
  const START = "2025-10-28T09:29:50-04:00"
  const SPEED = 120
  const KEY = "recenter-process-key-0001"
  const OPEN = nyTimeMs(DATE, 9, 30)
  const STOP_AT = nyTimeMs(DATE, 12, 0)
  const STRIKE_BAND = 0.004
  const MAX_CONTRACTS = 12
  const BAND = 0.002
  const COOLDOWN_S = 600
  const PER_CONNECTION = 4
  const market = makeSyntheticMarket(SEED)
  const EXPIRATION = nextTradingDay(DATE, holidayIndex([...nyseHolidays(2025), ...nyseHolidays(2026)]))
  const select = (price: number) =>
    selectContracts(market.contracts(DATE), price, EXPIRATION, {
      bandPct: STRIKE_BAND,
      maxContracts: MAX_CONTRACTS
    }).map((c) => c.ticker)
  const spyBars = market.secondBars("SPY", DATE)

  const startSimulate = () =>
    startSimulateChild(spawn, {
      seed: SEED,
      start: START,
      speed: SPEED,
      apiKey: KEY,
      wsFaults: { dropEverySimSeconds: 300 }
    })

  const liveEnv = (url: string, root: string): Record<string, string> => ({
    POLYGON_REST_URL: url,
    POLYGON_WS_URL: url.replace(/^http/, "ws"),
    POLYGON_API_KEY: KEY,
    STORAGE_ROOT: root,
    OPTIONS_STRIKE_BAND_PCT: String(STRIKE_BAND),
    OPTIONS_MAX_CONTRACTS: String(MAX_CONTRACTS),
    OPTIONS_RECENTER_ENABLED: "true",
    OPTIONS_RECENTER_BAND_PCT: String(BAND),
    OPTIONS_RECENTER_COOLDOWN_S: String(COOLDOWN_S),
    LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION),
    FLUSH_INTERVAL_S: "60",
    LIVE_IDLE_TIMEOUT_S: "600",
    FEEDS_NEWS_ENABLED: "false"
  })
  const liveArgs = ["live", "--clock-start", START, "--clock-speed", String(SPEED)]
  const untilSim = (now: () => Promise<number>, at: number) => waitFor(async () => (await now()) >= at, 120_000, 100)

  const logFile = (root: string) => path.join(root, `raw/contracts/date=${DATE}/recenter.ndjson`)
  const entries = (root: string): Array<RecenterEntry> =>
    fs.existsSync(logFile(root))
      ? fs
          .readFileSync(logFile(root), "utf8")
          .split("\n")
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as RecenterEntry)
      : []

  type Line = { readonly ms: number; readonly data: Record<string, unknown> }
  const journalMarkers = (root: string): Array<Line> =>
    fs
      .readFileSync(path.join(root, "journal/options", `${DATE}.ndjson`), "utf8")
      .split("\n")
      .filter((l) => l.startsWith('["M",'))
      .map((l) => {
        const [, ms, data] = JSON.parse(l) as [string, number, Record<string, unknown>]
        return { ms, data }
      })

  const readOptions = async (root: string) => {
    const db = await DuckDBInstance.create(":memory:")
    const c = await db.connect()
    try {
      const r = await c.runAndReadAll(
        `SELECT ticker, window_start_ms::DOUBLE AS t, open AS o, high AS h, low AS l, close AS c, volume::DOUBLE AS v, vwap AS vw
         FROM read_parquet('${root}/raw/options/date=${DATE}/*.parquet', union_by_name = true)`
      )
      return r.getRowObjectsJS() as unknown as Array<{
        ticker: string
        t: number
        o: number
        h: number
        l: number
        c: number
        v: number
        vw: number | null
      }>
    } finally {
      c.closeSync()
      db.closeSync()
    }
  }

  it("changes follow the rule on the simulator's SPY; kill -9 and restart resume the recorded set; the lake holds each contract's periods", async () => {
    const root = await tempRoot("live-recenter-real-")
    const { url, now } = await startSimulate()
    const first = spawn(liveArgs, liveEnv(url, root))
    await waitFor(() => entries(root).length >= 1, 120_000, 100)
    await untilSim(now, entries(root)[0]!.window_ms + 60_000) // a simulated minute after the change
    first.child.kill("SIGKILL")
    expect((await first.finished).signal).toBe("SIGKILL")
    const beforeRestart = entries(root)
    const markersBefore = journalMarkers(root).length

    // Restarted on the simulator's current time (with the first run's --clock-start its clock would
    // begin at 09:29:50 again and go back in time; a real restart has the real clock).
    const restartClock = new Date(await now()).toISOString()
    const second = spawn(["live", "--clock-start", restartClock, "--clock-speed", String(SPEED)], liveEnv(url, root))
    // Two more changes after the restart (or the simulator's 12:00 at the latest: a loaded machine starts `live` late).
    await waitFor(
      async () => entries(root).length >= beforeRestart.length + 2 || (await now()) >= STOP_AT,
      200_000,
      200
    )
    const stop = await runCli(["stop"], { STORAGE_ROOT: root })
    expect(stop.code).toBe(0)
    expect((await second.finished).code).toBe(0)

    // 1. The log: the rule on the simulator's SPY, line by line.
    const log = entries(root)
    expect(log.length).toBeGreaterThanOrEqual(beforeRestart.length + 2)
    expect(log.slice(0, beforeRestart.length)).toEqual(beforeRestart)
    // SPY as `live` received it (its journal: receipt time, newest bar of the frame).
    // Each frame carries the index of the latest "recenter following" marker before it: the rule
    // listens from that marker on (after a start or restart, once the chain is loaded).
    let armed = -1
    const spyFrames = fs
      .readFileSync(path.join(root, "journal/spy", `${DATE}.ndjson`), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("["))
      .flatMap((l, i) => {
        if (l.startsWith('["M",')) {
          if (l.includes('"following":"SPY"')) armed = i
          return []
        }
        const comma = l.indexOf(",")
        const bar = latestBar(l.slice(comma + 1, -1), "SPY")
        return bar === undefined ? [] : [{ i, armed, ms: Number(l.slice(1, comma)), s: bar[0], c: bar[1] }]
      })
    expect(new Set(spyFrames.map((f) => f.armed)).size).toBe(3) // before, first run, restart
    let anchor = market.officialOpen(DATE)
    let changedAt = OPEN
    let current = select(anchor)
    for (const e of log) {
      // The price is SPY's close as received at that very time (the frame that decided), a bar of the simulator's SPY.
      const deciding = spyFrames.filter((f) => f.ms === e.at_ms && f.c === e.spy_price && f.s + 1000 === e.window_ms)
      expect(deciding.length).toBeGreaterThan(0)
      expect(spyBars.find((b) => b.t === deciding[0]!.s)?.c).toBe(e.spy_price)
      expect(e.old_anchor).toBe(anchor)
      expect(e.new_anchor).toBe(e.spy_price)
      expect(Math.abs(e.spy_price - anchor)).toBeGreaterThan(anchor * BAND)
      expect(e.at_ms - changedAt).toBeGreaterThanOrEqual(COOLDOWN_S * 1000)
      // The first opportunity: no price followed (same listening run) after the cooldown and before it was beyond the band.
      const d = deciding[0]!
      const missed = spyFrames.filter(
        (f) =>
          f.armed === d.armed &&
          f.i < d.i &&
          f.ms >= changedAt + COOLDOWN_S * 1000 &&
          Math.abs(f.c - anchor) > anchor * BAND
      )
      expect(missed).toEqual([])
      expect(e.contracts).toEqual(select(e.spy_price))
      expect(e.added).toEqual(e.contracts.filter((t) => !current.includes(t)))
      expect(e.dropped).toEqual(current.filter((t) => !e.contracts.includes(t)))
      anchor = e.new_anchor
      changedAt = e.at_ms
      current = [...e.contracts]
    }

    // 2. The journal: every (re)connection subscribed tickers of the set current at that point;
    //    the restart resubscribed the recorded set (its connections' markers after the resume marker).
    const markers = journalMarkers(root)
    // Bars of a dropped ticker past its period that came over the WebSocket: sent before the
    // unsubscribe reached the server (the change is decided on SPY's bar, the unsubscribe goes out
    // once the log line is fsynced: at 120× a millisecond is 0.12 simulated seconds).
    const dropsOf = new Map<string, Array<number>>()
    for (const e of log) for (const t of e.dropped) dropsOf.set(t, [...(dropsOf.get(t) ?? []), e.window_ms])
    const streamed = new Set<string>() // option bars that came over the WebSocket
    for (const l of fs.readFileSync(path.join(root, "journal/options", `${DATE}.ndjson`), "utf8").split("\n")) {
      if (!l.startsWith("[") || l.startsWith('["M",')) continue
      let events: unknown
      try {
        events = JSON.parse(l.slice(l.indexOf(",") + 1, -1))
      } catch {
        continue
      }
      if (Array.isArray(events))
        for (const ev of events as Array<Record<string, unknown>>)
          if (ev["ev"] === "A") streamed.add(`${String(ev["sym"])}|${String(ev["s"])}`)
    }
    /** Simulated ms past the ticker's latest unsubscription before `t`, when the bar came over the WebSocket after it. */
    const pastDrop = (ticker: string, t: number): number | undefined => {
      if (!streamed.has(`${ticker}|${t}`)) return undefined
      const u = (dropsOf.get(ticker) ?? []).filter((x) => x <= t).at(-1)
      return u === undefined ? undefined : t - u
    }
    const set = new Set(select(market.officialOpen(DATE)))
    let reconnects = 0
    for (const m of markers) {
      const subs = m.data["subscriptions"] as
        { added: Record<string, number>; dropped: Record<string, number> } | undefined
      if (subs) {
        for (const t of Object.keys(subs.dropped)) set.delete(t)
        for (const t of Object.keys(subs.added)) set.add(t)
        continue
      }
      const tickers = m.data["tickers"] as ReadonlyArray<string>
      reconnects++
      for (const t of tickers)
        expect(set.has(t), `${String(m.data["conn"])} at ${new Date(m.ms).toISOString()} subscribed ${t}`).toBe(true)
    }
    expect(reconnects).toBeGreaterThan(10) // drops every five minutes, on every shard (anti-vacuity)
    // The restart: its resume marker, then one connection per shard of the recorded set (not the
    // open's), each subscribing its part of it, before any later change.
    const restart = markers.slice(markersBefore)
    const resumeAt = restart.findIndex((m) => m.data["conn"] === "recenter")
    expect(resumeAt).toBeGreaterThanOrEqual(0)
    const recorded = [...beforeRestart.at(-1)!.contracts].sort()
    expect(recorded).not.toEqual([...select(market.officialOpen(DATE))].sort())
    const nextChange = restart.findIndex((m, i) => i > resumeAt && m.data["conn"] === "recenter")
    const initial = restart
      .slice(resumeAt + 1, nextChange < 0 ? undefined : nextChange)
      .filter((m) => m.data["epoch"] === 1)
    const shardsOfRecorded = Math.ceil(recorded.length / PER_CONNECTION)
    if (initial.length === shardsOfRecorded) {
      expect(initial.flatMap((m) => m.data["tickers"] as ReadonlyArray<string>).sort()).toEqual(recorded)
    } else {
      // Only on a starved machine: a change came before every shard had connected; each then subscribed the
      // set current at its own subscription (checked marker by marker above).
      console.log(`restart: ${initial.length} of ${shardsOfRecorded} shards connected before the next change`)
    }

    // 3. The lake: every bar of each contract's periods, exact values, no duplicates.
    const cp = JSON.parse(fs.readFileSync(checkpointFile(root, "options", DATE), "utf8")) as LiveCheckpoint
    const rows = await readOptions(root)
    const end = Math.max(...rows.map((r) => r.t))
    const periods = new Map<string, Array<[number, number]>>()
    const since = new Map<string, number>(select(market.officialOpen(DATE)).map((t) => [t, OPEN]))
    for (const e of log) {
      const f = e.window_ms
      for (const t of e.dropped) (periods.set(t, [...(periods.get(t) ?? []), [since.get(t)!, f]]), since.delete(t))
      for (const t of e.added) since.set(t, f)
    }
    for (const [t, f] of since)
      periods.set(t, [...(periods.get(t) ?? []), [f, Math.min(end, cp.pending[t] ?? Infinity) + 1]])
    const expected = new Map<string, string>()
    for (const [t, ps] of periods)
      for (const b of market.secondBars(t, DATE))
        if (ps.some(([a, z]) => b.t >= a && b.t < z)) expected.set(`${t}|${b.t}`, fmt(b))
    const seen = new Map<string, number>()
    const wrong: Array<string> = []
    const inFlight: Array<number> = []
    const spurious: Array<string> = []
    for (const r of rows) {
      const k = `${r.ticker}|${r.t}`
      seen.set(k, (seen.get(k) ?? 0) + 1)
      const e = expected.get(k)
      if (e !== undefined) {
        if (e !== fmt(r)) wrong.push(k)
        continue
      }
      const late = pastDrop(r.ticker, r.t)
      if (late !== undefined && market.secondBars(r.ticker, DATE).some((b) => b.t === r.t && fmt(b) === fmt(r)))
        inFlight.push(late)
      else spurious.push(k)
    }
    // The stop can fall between the frames of the last second in the lake (`end`): bars of that
    // second the journal never received were not delivered yet, not lost (the next run's gap repair,
    // or the day's tail, fetches them). Only those are excused; a bar the journal holds, or one of an
    // earlier second, must be in the lake.
    const undelivered = [...expected.keys()].filter(
      (k) => !seen.has(k) && !streamed.has(k) && Number(k.slice(k.lastIndexOf("|") + 1)) === end
    )
    if (undelivered.length > 0) console.log(`not yet delivered at the stop (second ${end}): ${undelivered.join(", ")}`)
    const missing = [...expected.keys()].filter((k) => !seen.has(k) && !undelivered.includes(k))
    if (missing.length > 0) {
      // What the next look at a failure needs: was the bar streamed, and what did the log and the checkpoint say.
      console.log(
        `missing ${missing.length}: ${missing
          .slice(0, 5)
          .map((k) => `${k} (${streamed.has(k) ? "streamed" : "not streamed"})`)
          .join(", ")}`
      )
      console.log(
        `changes: ${JSON.stringify(log.map((e) => ({ at: e.at_ms, window: e.window_ms, added: e.added, dropped: e.dropped })))}`
      )
      console.log(
        `kill after change ${beforeRestart.length}; checkpoint: ${JSON.stringify(cp).slice(0, 4000)}; root kept: ${root}`
      )
    }
    const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k)
    console.log(
      `recenter (real processes): ${log.length} changes (${beforeRestart.length} before the kill), ${reconnects} connection markers, ` +
        `${rows.length} option rows, ${expected.size} expected, ${inFlight.length} sent before an unsubscribe took effect`
    )
    expect({
      missing: missing.slice(0, 5),
      wrong: wrong.slice(0, 5),
      spurious: spurious.slice(0, 5),
      duplicates: duplicates.slice(0, 5)
    }).toEqual({
      missing: [],
      wrong: [],
      spurious: [],
      duplicates: []
    })
    expect(expected.size).toBeGreaterThan(5000)
    // The simulator applied every unsubscribe: nothing of a dropped ticker came later than 3 simulated
    // minutes (1.5 s real on this loaded 2-core machine) past the change, out of the hour streamed.
    const lateness = inFlight
    console.log(
      `in-flight bars after an unsubscribe: ${lateness.length}, at most ${Math.max(0, ...lateness) / 1000} simulated s past the change`
    )
    expect(Math.max(0, ...lateness)).toBeLessThan(180_000)
    fs.rmSync(root, { recursive: true, force: true })
  }, 300_000)
})
