/**
 * A whole live day on a 15-minute delayed feed, as a real process: `live` with `polygon.feed:
 * delayed` (feed_delay_s 900) and the built-in simulator (started with the same delay: WebSocket
 * windows 900 s after they end, today's REST bars cut at now − 900 s), on a simulated clock from
 * 09:44:00 ET on the wall (09:29:00 on the feed clock) at 400×. It must connect (the feed is a
 * minute before its open), pick the contracts from SPY's official open once the delayed open bar
 * exists, stream until 15:59:00 feed time (16:14:00 wall), fetch the tail at 16:00:15 feed time,
 * and the lake must equal the simulator's REST truth restricted to the regular session, exactly
 * (rows = distinct keys = truth, read with DuckDB from the Parquet files), the last 15 minutes
 * and the last minute included. The heartbeat files say the delay and count the bars outside the
 * session exactly as the journal holds them; `status` prints both.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { buildIfStale } from "../../helpers/build.js"
import { chosenContracts } from "../../helpers/groundTruth.js"
import { runCli } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const DATE = "2025-10-28"
const SEED = 42
const OPEN = nyTimeMs(DATE, 9, 30),
  CLOSE = nyTimeMs(DATE, 16)
const MAX_CONTRACTS = 6
const market = makeSyntheticMarket(SEED)

const query = async (sql: string) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS()
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

/** The regular-session truth of some tickers as sorted `ticker|t` keys, optionally only t in [lo, hi). */
const truth = (tickers: ReadonlyArray<string>, lo = OPEN, hi = CLOSE) =>
  tickers
    .flatMap((t) =>
      market
        .secondBars(t, DATE)
        .filter((b) => b.t >= lo && b.t < hi)
        .map((b) => `${t}|${b.t}`)
    )
    .sort()

/** Bars outside the regular session in a feed's journal (what the live writer counted). */
const outsideInJournal = (root: string, feed: string) => {
  let n = 0
  for (const line of fs.readFileSync(path.join(root, "journal", feed, `${DATE}.ndjson`), "utf8").split("\n")) {
    if (!line.startsWith("[") || line.startsWith('["M",')) continue
    const [, frame] = JSON.parse(line) as [number, Array<{ ev?: string; s?: number }>]
    for (const e of frame) if (e.ev === "A" && typeof e.s === "number" && (e.s < OPEN || e.s >= CLOSE)) n++
  }
  return n
}

describe("live on a delayed feed", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("streams the delayed day and stores exactly the regular session, close included", async () => {
    const root = await tempRoot("delayed-")
    const run = await runCli(["live", "--clock-start", `${DATE}T09:44:00-04:00`, "--clock-speed", "400"], {
      STORAGE_ROOT: root,
      POLYGON_FEED: "delayed",
      POLYGON_FEED_DELAY_S: "900",
      OPTIONS_MAX_CONTRACTS: String(MAX_CONTRACTS),
      FEEDS_NEWS_ENABLED: "false",
      SINKS_ENABLED: "duckdb",
      SINKS_LIVE_LOAD_INTERVAL_S: "0",
      HTTP_PORT: "0",
      // 600 simulated seconds = 1.5 s real at 400×; the socket watchdogs have a real-time floor of their own
      FLUSH_INTERVAL_S: "600",
      LIVE_IDLE_TIMEOUT_S: "600"
    })
    const log = run.stdout + run.stderr
    expect(run.code, log.slice(-3000)).toBe(0)
    expect(log).toContain(
      `Streaming spy, vix, options for ${DATE} until ${DATE} 15:59:00 America/New_York (feed time; ${DATE} 16:14:00 America/New_York on the wall clock, 900 s delay)`
    )
    expect(log).toContain(
      `Fetching the bars up to the close over REST at ${DATE} 16:00:15 America/New_York (feed time; ${DATE} 16:15:15 America/New_York on the wall clock, 900 s delay)`
    )

    // the contracts come from SPY's official open (its first bar at 09:30:00), read over the delayed REST
    const chosen = (
      JSON.parse(fs.readFileSync(path.join(root, "raw", "contracts", `date=${DATE}`, "contracts.json"), "utf8")) as {
        contracts: Array<{ ticker: string }>
      }
    ).contracts.map((c) => c.ticker)
    expect(chosen).toEqual(chosenContracts(market, DATE, 0.01, MAX_CONTRACTS).map((c) => c.ticker))

    for (const [feed, tickers] of [
      ["spy", ["SPY"]],
      ["vix", ["I:VIX"]],
      ["options", chosen]
    ] as const) {
      const files = `${root}/raw/${feed}/date=${DATE}/*.parquet`
      const [counts] = await query(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT (ticker, window_start_ms))::INTEGER AS k FROM read_parquet('${files}')`
      )
      const keys = (
        await query(
          `SELECT DISTINCT ticker || '|' || window_start_ms::BIGINT AS k FROM read_parquet('${files}') ORDER BY k`
        )
      ).map((r) => String(r["k"]))
      const expected = truth(tickers)
      expect({ feed, rows: counts!["n"], keys: counts!["k"] }).toEqual({
        feed,
        rows: expected.length,
        keys: expected.length
      })
      expect(keys.sort()).toEqual(expected)
      // the last 15 minutes (streamed after 16:00 on the wall clock) and the last minute (the REST tail after the close)
      const inRange = (lo: number) => keys.filter((k) => Number(k.slice(k.lastIndexOf("|") + 1)) >= lo).sort()
      expect(inRange(nyTimeMs(DATE, 15, 45))).toEqual(truth(tickers, nyTimeMs(DATE, 15, 45)))
      expect(inRange(nyTimeMs(DATE, 15, 59))).toEqual(truth(tickers, nyTimeMs(DATE, 15, 59)))
      // the socket stopped at 15:59:00 feed time: every bar of the last minute is a tail repair, none streamed
      const lastMinute = await query(
        `SELECT DISTINCT source FROM read_parquet('${files}') WHERE window_start_ms >= ${nyTimeMs(DATE, 15, 59)}`
      )
      expect(lastMinute.map((r) => r["source"])).toEqual(["repair"])
    }

    for (const source of ["spy", "vix", "options"]) {
      const beat = JSON.parse(
        fs.readFileSync(path.join(root, "state", "heartbeat", `${source}.json`), "utf8")
      ) as Record<string, unknown>
      expect({
        source,
        feed: beat["feed"],
        delay: beat["feed_delay_s"],
        outside: beat["outside_session_today"]
      }).toEqual({
        source,
        feed: "delayed",
        delay: 900,
        outside: outsideInJournal(root, source)
      })
    }
    const status = await runCli(["status"], { STORAGE_ROOT: root })
    expect(status.code).toBe(0)
    expect(status.stdout).toContain(
      "feed: delayed by 900 s (bars arrive 15m 00s after they end; the session is judged on the feed clock, wall clock - 900 s)"
    )
    const spyLine = status.stdout.split("\n").find((l) => l.startsWith("spy "))!
    expect(status.stdout).toContain("OUTSIDE SESSION")
    expect(spyLine.split(/\s{2,}/)[5]).toBe(String(outsideInJournal(root, "spy")))
  }, 300_000)
})
