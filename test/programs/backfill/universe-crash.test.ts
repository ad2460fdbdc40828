/**
 * Crash safety of a backfill of several underlyings and indices (child processes, lake only): the
 * child is SIGKILLed while QQQ's contracts are being fetched, a bare `--resume` finishes, and every
 * feed equals the simulator's truth per ticker exactly (no key twice, no staging left behind).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { holidayIndex, nextTradingDay, nyDateOf } from "../../../src/domain/calendar.js"
import { selectContracts } from "../../../src/domain/contractSelection.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { type RunningSimulator, startSimulator } from "../../../src/simulator/server.js"
import { runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const SEED = 5
const DAYS = ["2025-10-29", "2025-10-30"]
const KEY = "crash-test-key-0002"
const CAP = 8
const UNDERLYINGS = ["SPY", "QQQ"] as const
const CONFIG = `underlyings: [{ ticker: SPY, max_contracts: ${CAP} }, { ticker: QQQ, max_contracts: ${CAP} }]
indices: ["I:VIX", "I:SPX"]
sinks: { enabled: [] }
`

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
const bars = (tickers: (d: string) => ReadonlyArray<string>) =>
  DAYS.flatMap((d) => tickers(d).flatMap((t) => market.secondBars(t, d).map((b) => `${d}|${t}|${b.t}|${b.c}`))).sort()
const contracts = (d: string) =>
  UNDERLYINGS.flatMap((u) =>
    selectContracts(market.contracts(d, u), market.officialOpen(d, u), nextTradingDay(d, holidays), {
      bandPct: 0.01,
      maxContracts: CAP
    }).map((c) => c.ticker)
  )

describe("crash and resume of a backfill of several underlyings (child processes)", () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" })
    sim = await startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { latencyMs: 15 } })
  })
  afterAll(() => sim.close())

  it("SIGKILL while QQQ's contracts are fetched, then --resume: every feed equals the truth per ticker", async () => {
    const root = await tempRoot("universe-crash-")
    const config = path.join(root, "settings.yaml")
    await fs.writeFile(config, CONFIG)
    const env = { POLYGON_REST_URL: sim.url, POLYGON_API_KEY: KEY, STORAGE_ROOT: root, POLYGON_MAX_CONCURRENCY: "2" }
    const run = startCli(["backfill", "--config", config, "--start-date", DAYS[0]!, "--end-date", DAYS[1]!], env)
    const unitDir = path.join(root, "state/checkpoints/options", DAYS[0]!)
    await waitFor(
      async () => (await fs.readdir(unitDir).catch(() => [])).filter((n) => n.startsWith("O_QQQ")).length >= 2,
      60_000,
      10
    )
    run.child.kill("SIGKILL")
    expect((await run.finished).signal).toBe("SIGKILL")
    const resumed = await runCli(["backfill", "--config", config, "--resume"], env)
    expect({ code: resumed.code, output: resumed.code === 0 ? "" : resumed.stdout + resumed.stderr }).toEqual({
      code: 0,
      output: ""
    })
    const line = (r: Record<string, unknown>) => `${r["d"]}|${r["ticker"]}|${r["t"]}|${r["close"]}`
    const expected = {
      spy: bars(() => UNDERLYINGS),
      vix: bars(() => ["I:VIX", "I:SPX"]),
      options: bars(contracts)
    }
    for (const feed of ["spy", "vix", "options"] as const) {
      const got = (await lake(root, feed, "ticker, window_start_ms::DOUBLE AS t, close")).map(line).sort()
      expect(new Set(got).size).toBe(got.length)
      expect(got.length).toBe(expected[feed].length)
      expect(got).toEqual(expected[feed])
    }
    const news = (await lake(root, "news", "id")).map((r) => `${r["d"]}|${r["id"]}`).sort()
    expect(news).toEqual(
      DAYS.flatMap((d) =>
        market
          .news(d)
          .filter((a) => UNDERLYINGS.some((u) => a.tickers.includes(u)) && nyDateOf(Date.parse(a.published_utc)) === d)
          .map((a) => `${d}|${a.id}`)
      ).sort()
    )
    const sets = await lake(root, "contracts", "underlying_ticker AS u, ticker")
    expect(sets.map((r) => `${r["d"]}|${r["ticker"]}`).sort()).toEqual(
      DAYS.flatMap((d) => contracts(d).map((t) => `${d}|${t}`)).sort()
    )
    for (const d of DAYS)
      expect(await fs.readdir(path.join(root, "raw/contracts", `date=${d}`)).then((n) => n.sort())).toEqual([
        "contracts-QQQ.json",
        "contracts.json",
        "day.parquet"
      ])
    expect(await fs.readdir(path.join(root, "staging/options")).catch(() => [])).toEqual([])
  }, 240_000)
})
