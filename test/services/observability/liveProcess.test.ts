/**
 * `node dist/main.js live` as a real process against its built-in simulator, on a simulated clock
 * (2× real time from 09:29:50 ET), with its status endpoints on a free port:
 * - while data flows, `/healthz` is 200 and the counts on `/status.json` rise;
 * - a stall of the whole feed planted in the simulator (`stallFromSimMs`: every connection, open or
 *   new, silent from that instant) turns `/healthz` 503 with the reason (each feed's connection
 *   state, as it turns), for every feed within one watchdog period (`live.idle_timeout_s`, raised
 *   to its real-time floor) of the stall;
 * - during the stall `/status.json` and `/metrics` equal the heartbeat files read at the same moment
 *   (messages, events, rows committed, reconnects, last commit), the queue gauges read 0 once all
 *   of it is committed, and the status page shows each contract's last bar as the lake has it.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { withRealFloor } from "../../../src/live/socket/socketWatch.js"
import { buildIfStale } from "../../helpers/build.js"
import { runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const DATE = "2025-10-28"
const START = "2025-10-28T09:29:50-04:00"
const SPEED = 2
const IDLE_S = 30
const KEY = "builtin-simulator"
const FEEDS = ["spy", "vix", "options"] as const
/** The watchdog's period on this clock: idle_timeout_s, at least MIN_REAL_TIMEOUT_MS of real time. */
const PERIOD_MS = withRealFloor(IDLE_S * 1000, SPEED)

const children: Array<ReturnType<typeof startCli>> = []
afterEach(() => {
  for (const c of children.splice(0))
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL")
})

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

type Source = {
  source: string
  connectionStatus: string
  connectionSinceMs: number | null
  lastMessageAtMs: number | null
  lastCommitAtMs: number | null
  totalMessagesToday: number
  totalEventsToday: number
  rowsCommittedToday: number
  reconnectsToday: number
}
type Status = { nowMs: number; sources: Array<Source>; problems: Array<string> }
type Beat = {
  last_heartbeat: string
  total_messages_today: number
  total_events_today: number
  rows_committed_today: number
  reconnects_today: number
  last_commit_at: string | null
}

const metric = (text: string, name: string, source: string) =>
  Number(new RegExp(`^${name}\\{source="${source}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN)

const lastBars = async (root: string) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    const r = await c.runAndReadAll(
      `SELECT ticker, max(window_start_ms)::DOUBLE AS t, arg_max(close, window_start_ms) AS close FROM read_parquet('${root}/raw/options/date=${DATE}/*.parquet') GROUP BY ticker`
    )
    return new Map(
      (r.getRowObjectsJS() as Array<{ ticker: string; t: number; close: number }>).map((x) => [x.ticker, x])
    )
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

describe("live as a real process: /healthz, /status.json and /metrics", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("200 while data flows; 503 with the reason within one watchdog period of a planted stall; the counts equal the heartbeat files", async () => {
    const root = await tempRoot("live-health-")
    const port = await freePort()
    const live = startCli(["live", "--clock-start", START, "--clock-speed", String(SPEED)], {
      STORAGE_ROOT: root,
      HTTP_PORT: String(port),
      OPTIONS_MAX_CONTRACTS: "4",
      FEEDS_NEWS_ENABLED: "false",
      FLUSH_INTERVAL_S: "5",
      HEARTBEAT_INTERVAL_S: "10",
      LIVE_IDLE_TIMEOUT_S: String(IDLE_S)
    })
    children.push(live)
    let sim = ""
    await waitFor(() => {
      const m = /built-in Polygon simulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(
        live.output().stdout + live.output().stderr
      )
      if (m) sim = m[1]!
      return m !== null && (live.output().stdout + live.output().stderr).includes(`:${port}/`)
    }, 60_000)
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`)
      return { status: r.status, text: await r.text() }
    }
    const status = async () => JSON.parse((await get("/status.json")).text) as Status
    const simNow = async () =>
      Date.parse(
        ((await (await fetch(`${sim}/v1/marketstatus/now?apiKey=${KEY}`)).json()) as { serverTime: string }).serverTime
      )
    const flowing = async () =>
      (await status()).sources.filter(
        (s) => FEEDS.includes(s.source as never) && s.connectionStatus === "connected" && s.rowsCommittedToday > 0
      ).length === 3

    // Data flows: healthy, and the counts rise.
    await waitFor(flowing, 90_000, 100)
    expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" })
    const before = { json: await status(), metrics: (await get("/metrics")).text }
    await waitFor(async () => (await simNow()) >= before.json.nowMs + 10_000, 30_000, 100)
    const after = { json: await status(), metrics: (await get("/metrics")).text }
    for (const feed of FEEDS) {
      const [a, b] = [before, after].map((x) => x.json.sources.find((y) => y.source === feed)!)
      expect(b!.totalMessagesToday).toBeGreaterThan(a!.totalMessagesToday)
      expect(b!.rowsCommittedToday).toBeGreaterThan(a!.rowsCommittedToday)
      for (const name of ["spy_messages_received_total", "spy_rows_committed_total"])
        expect(metric(after.metrics, name, feed)).toBeGreaterThan(metric(before.metrics, name, feed))
    }
    expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" })

    // The stall, at a simulated instant 0.9 s into a second (the last frame went out at its start): the
    // watchdog, counting from that frame, fires 0.9 simulated s (450 ms real at 2×) before the bound.
    const stallAt = Math.ceil((await simNow()) / 1000) * 1000 + 2900
    const res = await fetch(`${sim}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ ws: { stallFromSimMs: stallAt } })
    })
    expect(res.status).toBe(200)
    // Poll until every feed is named; each source's first sighting is kept (its state changes again a period later).
    const first = new Map<string, { reason: string; since: number; lastMessage: number }>()
    let firstBody = ""
    await waitFor(
      async () => {
        const h = await get("/healthz")
        if (h.status !== 503) return false
        const json = await status()
        firstBody ||= h.text
        for (const reason of h.text.trim().split("\n")) {
          const m = /^(spy|vix|options): (disconnected|reconnecting|connecting)$/.exec(reason)
          expect(m, reason).not.toBeNull()
          const src = json.sources.find((x) => x.source === m![1])!
          if (!first.has(src.source) && src.connectionStatus === m![2])
            first.set(src.source, { reason, since: src.connectionSinceMs!, lastMessage: src.lastMessageAtMs! })
        }
        return first.size === FEEDS.length
      },
      60_000,
      20
    )
    for (const [source, f] of first) {
      // Nothing arrived after the stall; the state changed within one watchdog period of it (plus
      // the reconnect backoff, at most 240 simulated ms, when the read saw `reconnecting`).
      expect(f.lastMessage, source).toBeLessThan(stallAt)
      expect(f.since, source).toBeGreaterThan(stallAt)
      expect(f.since - stallAt, source).toBeLessThanOrEqual(PERIOD_MS + 240)
    }

    // During the stall: /status.json and /metrics equal the heartbeat files of the same moment.
    const beats = () =>
      Object.fromEntries(
        FEEDS.map((f) => [
          f,
          JSON.parse(fs.readFileSync(path.join(root, "state/heartbeat", `${f}.json`), "utf8")) as Beat
        ])
      )
    type Seen = { file: Record<string, Beat>; json: Status; metrics: string }
    const compare = (x: Seen) =>
      FEEDS.map((f) => {
        const b = x.file[f]!
        const s = x.json.sources.find((y) => y.source === f)!
        return {
          f,
          messages: [b.total_messages_today, s.totalMessagesToday, metric(x.metrics, "spy_messages_received_total", f)],
          events: [b.total_events_today, s.totalEventsToday, metric(x.metrics, "spy_events_received_total", f)],
          rows: [b.rows_committed_today, s.rowsCommittedToday, metric(x.metrics, "spy_rows_committed_total", f)],
          reconnects: [b.reconnects_today, s.reconnectsToday, metric(x.metrics, "spy_reconnects_total", f)],
          lastCommit: [b.last_commit_at, s.lastCommitAtMs === null ? null : new Date(s.lastCommitAtMs).toISOString()]
        }
      })
    const same = (rows: ReturnType<typeof compare>) =>
      rows.every((r) =>
        [r.messages, r.events, r.rows, r.reconnects, r.lastCommit].every((v) => v.every((x) => x === v[0]))
      )
    /** Everything received is committed: the queue gauges read 0. */
    const drained = (metrics: string) =>
      FEEDS.every((f) => metric(metrics, "spy_queue_bytes", f) === 0 && metric(metrics, "spy_queue_rows", f) === 0)
    let seen: Seen | undefined
    await waitFor(
      async () => {
        const file = beats()
        // a heartbeat of the stall (written after the last message) …
        if (FEEDS.some((f) => Date.parse(file[f]!.last_heartbeat) <= stallAt)) return false
        const json = await status()
        const metrics = (await get("/metrics")).text
        // … and no beat between the reads (a commit or a reconnect in between: read the pair again)
        if (JSON.stringify(beats()) !== JSON.stringify(file)) return false
        seen = { file, json, metrics }
        return same(compare(seen)) && drained(metrics)
      },
      60_000,
      50
    )
    const rows = compare(seen!)
    expect(
      FEEDS.map((f) => [f, metric(seen!.metrics, "spy_queue_bytes", f), metric(seen!.metrics, "spy_queue_rows", f)])
    ).toEqual(FEEDS.map((f) => [f, 0, 0]))
    console.log(
      `stall at ${new Date(stallAt).toISOString()}; first 503: ${JSON.stringify(firstBody)}; ${[...first].map(([s, f]) => `${f.reason} at +${(f.since - stallAt) / 1000} s`).join(", ")} (period ${PERIOD_MS / 1000} s)\n${JSON.stringify(rows)}\nqueues: ${FEEDS.map((f) => `${f} ${metric(seen!.metrics, "spy_queue_bytes", f)} B ${metric(seen!.metrics, "spy_queue_rows", f)} rows`).join(", ")}`
    )
    expect(
      rows.filter(
        (r) => ![r.messages, r.events, r.rows, r.reconnects, r.lastCommit].every((v) => v.every((x) => x === v[0]))
      )
    ).toEqual([])

    // The page: each contract's last bar as the lake has it (everything received was committed).
    const lake = await lastBars(root)
    const page = (await get("/")).text
    const shown = [
      ...page.matchAll(
        /<tr data-ticker="([^"]+)">.*?data-field="last_window" data-ms="(\d+)">[^<]*<\/td><td data-field="close">([^<]+)<\/td>/g
      )
    ].map((m) => ({ ticker: m[1]!, t: Number(m[2]), close: Number(m[3]) }))
    expect(shown.length).toBe(4)
    for (const s of shown) expect(s).toEqual(lake.get(s.ticker))

    const stop = await runCli(["stop"], { STORAGE_ROOT: root })
    expect(stop.code).toBe(0)
    expect((await live.finished).code).toBe(0)
    fs.rmSync(root, { recursive: true, force: true })
  }, 240_000)
})
