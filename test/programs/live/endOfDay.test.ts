/**
 * The end of a live day, as a real process: `live` on a simulated clock from 15:53:00 ET at 20× (18 real seconds before the stop: enough to stream on a loaded machine, where start-up alone can take 5 s = 100 simulated seconds)
 * with the built-in simulator stops 60 s before the close, then loads the day into the configured
 * sink (DuckDB) and builds options_consolidated by itself: every lake row is in the warehouse
 * (exact key sets) and the view has one row per option bar. The run uses `journal.fsync: batch`
 * and `journal.retain_days: 2`: at its start, the old fully checkpointed journal is deleted, the
 * uncovered one and the recent one are kept.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { runCli } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const DATE = "2025-10-28"

const keys = async (db: string | undefined, sql: string) => {
  const instance = await DuckDBInstance.create(db ?? ":memory:")
  const c = await instance.connect()
  const rows = (await c.runAndReadAll(sql)).getRowObjectsJS().map((r) => `${r["ticker"]}|${r["t"]}`)
  c.closeSync()
  instance.closeSync()
  return rows.sort()
}

describe("live: end of day", () => {
  beforeAll(() => void execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" }), 120_000)

  it("stops before the close, loads the sinks and builds options_consolidated", async () => {
    const root = await tempRoot("eod-")
    const line = '[1,[{"ev":"status"}]]\n'
    const seed = (feed: string, date: string, offset?: number) => {
      fs.mkdirSync(path.join(root, "journal", feed), { recursive: true })
      fs.writeFileSync(path.join(root, "journal", feed, `${date}.ndjson`), line)
      if (offset === undefined) return
      fs.mkdirSync(path.join(root, "state", "live", feed), { recursive: true })
      fs.writeFileSync(
        path.join(root, "state", "live", feed, `${date}.json`),
        JSON.stringify({ version: 1, feed, date, offset, seq: 0 })
      )
    }
    seed("spy", "2025-10-23", line.length) // 3 trading days back, covered: deleted
    seed("vix", "2025-10-23") // no checkpoint: kept
    seed("spy", "2025-10-24", line.length) // 2 back: kept
    const run = await runCli(["live", "--clock-start", `${DATE}T15:53:00-04:00`, "--clock-speed", "20"], {
      STORAGE_ROOT: root,
      OPTIONS_MAX_CONTRACTS: "6",
      FEEDS_NEWS_ENABLED: "false",
      SINKS_ENABLED: "duckdb",
      JOURNAL_FSYNC: "batch",
      JOURNAL_RETAIN_DAYS: "2"
    })
    expect(run.code).toBe(0)
    const journals = ["options", "spy", "vix"].flatMap((f) =>
      fs
        .readdirSync(path.join(root, "journal", f))
        .sort()
        .map((n) => `${f}/${n}`)
    )
    expect(journals).toEqual([
      "options/2025-10-28.ndjson",
      "spy/2025-10-24.ndjson",
      "spy/2025-10-28.ndjson",
      "vix/2025-10-23.ndjson",
      "vix/2025-10-28.ndjson"
    ])
    expect(run.stdout + run.stderr).toContain(`End of day ${DATE}: sinks loaded`)
    // the final heartbeat of each socket source says the stream is closed, not "connected"
    for (const source of ["spy", "vix", "options"]) {
      const beat = JSON.parse(fs.readFileSync(path.join(root, "state", "heartbeat", `${source}.json`), "utf8")) as {
        connection_status: string
      }
      expect(`${source}:${beat.connection_status}`).toBe(`${source}:closed`)
    }
    const lake = (feed: string) =>
      keys(
        undefined,
        `SELECT ticker, window_start_ms::DOUBLE AS t FROM read_parquet('${root}/raw/${feed}/date=${DATE}/*.parquet')`
      )
    const warehouse = path.join(root, "warehouse.duckdb")
    const table = (name: string) =>
      keys(warehouse, `SELECT ticker, window_start_ms::DOUBLE AS t FROM ${name} WHERE "date" = '${DATE}'`)
    const options = await lake("options")
    expect(options.length).toBeGreaterThan(6)
    expect(new Set(options).size).toBe(options.length)
    expect(await table("option_bars")).toEqual(options)
    expect(await table("spy_bars")).toEqual(await lake("spy"))
    expect(await table("vix_values")).toEqual(await lake("vix"))
    expect(await table("options_consolidated")).toEqual(options)
    // the lake is the simulator's whole regular day, exactly, the last minute (15:59, fetched over
    // REST after the close: the sockets stopped 60 s before it) included; the REST side serves
    // extended hours (the default), none of which is stored (session.hours: regular)
    const market = makeSyntheticMarket(42)
    const truth = (tickers: ReadonlyArray<string>) =>
      tickers.flatMap((t) => market.secondBars(t, DATE).map((b) => `${t}|${b.t}`)).sort()
    const chosen = (
      JSON.parse(fs.readFileSync(path.join(root, "raw", "contracts", `date=${DATE}`, "contracts.json"), "utf8")) as {
        contracts: Array<{ ticker: string }>
      }
    ).contracts.map((c) => c.ticker)
    expect(await lake("spy")).toEqual(truth(["SPY"]))
    expect(await lake("vix")).toEqual(truth(["I:VIX"]))
    expect(options).toEqual(truth(chosen))
    const lastMinute = truth(["SPY", "I:VIX", ...chosen]).filter(
      (k) => Number(k.slice(k.lastIndexOf("|") + 1)) >= Date.parse(`${DATE}T15:59:00-04:00`)
    )
    expect(lastMinute.length).toBeGreaterThan(60)
    expect(run.stdout + run.stderr).toContain("Fetching the bars up to the close over REST")
  }, 120_000)
})
