/**
 * The end of a live day, as a real process: `live` on a simulated clock from 15:53:00 ET at 20× (18 real seconds before the stop: enough to stream on a loaded machine, where start-up alone can take 5 s = 100 simulated seconds)
 * with the built-in simulator stops 60 s before the close, then loads the day into the configured
 * sink (DuckDB) and builds options_consolidated by itself: every lake row is in the warehouse
 * (exact key sets) and the view has one row per option bar.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { runCli } from "../helpers/cli.js"
import { tempRoot } from "../helpers/settings.js"

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
    const run = await runCli(["live", "--clock-start", `${DATE}T15:53:00-04:00`, "--clock-speed", "20"], {
      STORAGE_ROOT: root, OPTIONS_MAX_CONTRACTS: "6", FEEDS_NEWS_ENABLED: "false", SINKS_ENABLED: "duckdb"
    })
    expect(run.code).toBe(0)
    expect(run.stdout + run.stderr).toContain(`End of day ${DATE}: sinks loaded`)
    // the final heartbeat of each socket source says the stream is closed, not "connected"
    for (const source of ["spy", "vix", "options"]) {
      const beat = JSON.parse(fs.readFileSync(path.join(root, "state", "heartbeat", `${source}.json`), "utf8")) as { connection_status: string }
      expect(`${source}:${beat.connection_status}`).toBe(`${source}:closed`)
    }
    const lake = (feed: string) =>
      keys(undefined, `SELECT ticker, window_start_ms::DOUBLE AS t FROM read_parquet('${root}/raw/${feed}/date=${DATE}/*.parquet')`)
    const warehouse = path.join(root, "warehouse.duckdb")
    const table = (name: string) => keys(warehouse, `SELECT ticker, window_start_ms::DOUBLE AS t FROM ${name} WHERE "date" = '${DATE}'`)
    const options = await lake("options")
    expect(options.length).toBeGreaterThan(6)
    expect(new Set(options).size).toBe(options.length)
    expect(await table("option_bars")).toEqual(options)
    expect(await table("spy_bars")).toEqual(await lake("spy"))
    expect(await table("vix_values")).toEqual(await lake("vix"))
    expect(await table("options_consolidated")).toEqual(options)
  }, 120_000)
})
