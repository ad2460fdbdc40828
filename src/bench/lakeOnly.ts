/**
 * The secondary backfill figures: the lake alone (the backfill program in this process, no sinks)
 * and the naive pipeline (official client + parquetjs-lite) over the same days, against the same
 * simulator. After one untimed pass that warms the simulator, the lake-only path is timed over
 * `runs` passes, each into a fresh lake; the median pass is the figure. Both lakes are compared
 * bar by bar; the lake keeps every bar the API sends (`session.hours: extended`), as the naive one does.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { loadSettings } from "../config/load.js"
import { BackfillLayer } from "../layers/Backfill.js"
import { backfillProgram } from "../programs/backfill.js"
import { AppSettings } from "../services/AppSettings.js"
import { naiveBackfill } from "./naiveBackfill.js"
import { loadAverage } from "./measure.js"

const load = () => loadAverage()

/** Both pipelines' bars are the same multiset (exact values); returns how many, or throws. */
const sameBars = async (lake: string, naiveDir: string): Promise<number> => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    const feed = (f: string, volume: string) =>
      `SELECT ticker, window_start_ms AS t, open AS o, high AS h, low AS l, close AS c, ${volume} AS v FROM read_parquet('${lake}/raw/${f}/date=*/*.parquet')`
    const ours = `${feed("spy", "volume")} UNION ALL ${feed("options", "volume")} UNION ALL ${feed("vix", "NULL::DOUBLE")}`
    const naive = `SELECT ticker, t::BIGINT AS t, o, h, l, c, v FROM read_parquet('${naiveDir}/**/*.parquet')`
    const r = await c.runAndReadAll(
      `SELECT (SELECT count(*) FROM (${ours})), (SELECT count(*) FROM ((${ours}) EXCEPT ALL (${naive}))), (SELECT count(*) FROM ((${naive}) EXCEPT ALL (${ours})))`
    )
    const [n, onlyOurs, onlyNaive] = r.getRowsJS()[0]!.map(Number)
    if (onlyOurs !== 0 || onlyNaive !== 0)
      throw new Error(`the lakes differ: ${onlyOurs} bars only in ours, ${onlyNaive} only in the naive one`)
    return n!
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

/** Prints its lines; `skipNaive` leaves the naive pipeline out. */
export const lakeOnlyBench = async (simUrl: string, dates: ReadonlyArray<string>, runs: number, skipNaive: boolean) => {
  const sim = { url: simUrl }
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bench-lake-only-"))
  try {
    const settings = await Effect.runPromise(
      loadSettings({
        overrides: {
          polygon: { rest_url: sim.url },
          storage: { root },
          session: { hours: "extended" },
          POLYGON_API_KEY: "bench-key"
        },
        ignoreEnv: true
      }).pipe(Effect.provide(NodeContext.layer))
    )
    const run = (storageRoot: string) =>
      Effect.runPromise(
        backfillProgram({ startDate: dates[0]!, endDate: dates[dates.length - 1]! }).pipe(
          Effect.provide(
            BackfillLayer.pipe(
              Layer.provideMerge(Layer.succeed(AppSettings, { ...settings, storage: { root: storageRoot } }))
            )
          ),
          Logger.withMinimumLogLevel(LogLevel.Warning)
        )
      )
    // A first, untimed pass warms the simulator's caches, so both pipelines are measured against the same warm server.
    const coldStart = performance.now()
    await run(path.join(root, "warm-up"))
    const cold = (performance.now() - coldStart) / 1000
    const loadBefore = load()
    const passes: Array<{ seconds: number; rows: number }> = []
    for (let i = 0; i < runs; i++) {
      const lake = i === 0 ? root : path.join(root, `pass-${i}`)
      const started = performance.now()
      const summary = await run(lake)
      const seconds = (performance.now() - started) / 1000
      passes.push({
        seconds,
        rows: summary.days.reduce(
          (n, d) => n + (d.rows.spy ?? 0) + (d.rows.options ?? 0) + (d.rows.vix ?? 0) + (d.rows.news ?? 0),
          0
        )
      })
      if (i > 0) await fs.rm(lake, { recursive: true, force: true })
    }
    const loadAfter = load()
    const sorted = [...passes].sort((a, b) => a.seconds - b.seconds)
    const median = sorted[Math.floor(sorted.length / 2)]!
    const ours = median.seconds
    const rows = median.rows
    const contracts = new Map<string, ReadonlyArray<string>>()
    for (const d of dates) {
      const set = JSON.parse(
        await fs.readFile(path.join(root, "raw/contracts", `date=${d}`, "contracts.json"), "utf8")
      ) as { contracts: Array<{ ticker: string }> }
      contracts.set(
        d,
        set.contracts.map((c) => c.ticker)
      )
    }
    const naiveStart = performance.now()
    const naiveRows = skipNaive
      ? 0
      : await naiveBackfill(sim.url, dates, path.join(root, "naive"), (d) => contracts.get(d) ?? [])
    const naive = Math.max(0.001, (performance.now() - naiveStart) / 1000)
    const same = skipNaive ? undefined : await sameBars(root, path.join(root, "naive"))
    const ourRate = rows / ours
    const naiveRate = naiveRows / naive
    console.log(
      `lake only (secondary): ${dates.length} simulated day(s) ${dates[0]}..${dates[dates.length - 1]}, the backfill program in the bench process, sinks off`
    )
    console.log(
      `  platform : ${rows.toLocaleString("en-US")} rows in ${ours.toFixed(2)} s = ${Math.round(ourRate).toLocaleString("en-US")} rows/s end to end (REST → validated → Parquet committed), median of ${runs} pass(es)`
    )
    console.log(
      `             passes ${passes.map((p) => `${p.seconds.toFixed(2)} s`).join(", ")}: ${Math.round(rows / sorted[sorted.length - 1]!.seconds).toLocaleString("en-US")}–${Math.round(rows / sorted[0]!.seconds).toLocaleString("en-US")} rows/s; load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after`
    )
    console.log(`  (cold simulator, first pass: ${(rows / cold).toFixed(0)} rows/s)`)
    const rss = `bench process peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB   load average ${load()}`
    if (skipNaive) {
      console.log(`  naive    : skipped (--skip-naive)   ${rss}`)
      return
    }
    console.log(
      `  naive    : ${naiveRows.toLocaleString("en-US")} rows in ${naive.toFixed(2)} s = ${Math.round(naiveRate).toLocaleString("en-US")} rows/s (official client pagination:true + parquetjs-lite)`
    )
    if (same !== undefined)
      console.log(
        `  same rows: ${same.toLocaleString("en-US")} bars identical in both lakes (ticker, t, o, h, l, c, v compared exactly, both ways)`
      )
    console.log(`  speed-up : ${(ourRate / naiveRate).toFixed(1)}x (median pass)   ${rss}`)
  } finally {
    await fs.rm(root, { recursive: true, force: true })
  }
}
