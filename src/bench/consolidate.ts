/**
 * Bench: build options_consolidated for one synthetic day in the DuckDB warehouse.
 * Day: 100 contracts × 23 400 per-second option bars (2.34 M), SPY per second with 1 in 7 seconds
 * missing, VIX per second, 400 news articles. The lake is generated with DuckDB SQL straight into
 * Parquet (lake layout under a temp root), loaded with the DuckDB sink, then consolidated 3 times;
 * prints each run and the median. Run: `npm run bench:consolidate` (node dist/bench/consolidate.js;
 * `-- --keep` keeps the generated lake and warehouse).
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type Feed, SCHEMAS } from "../domain/feeds.js"
import { lakePaths } from "../domain/paths.js"
import * as DuckDb from "../services/DuckDb.js"
import * as DuckDbSink from "../services/sinks/DuckDbSink.js"

const DATE = "2025-10-28"
const OPEN = Date.parse(`${DATE}T13:30:00Z`)
const SECONDS = 23_400

/** `SELECT` producing every lake column of `feed` from the given expressions (others NULL). */
const shape = (feed: Feed, values: Record<string, string>, from: string) =>
  `SELECT ${SCHEMAS[feed].columns
    .map((c) => `CAST(${values[c.name] ?? "NULL"} AS ${c.type}) AS "${c.name}"`)
    .concat(SCHEMAS[feed].timestamps.map(([ms, ts]) => `epoch_ms(CAST(${values[ms]} AS BIGINT))::TIMESTAMPTZ AS "${ts}"`))
    .join(", ")} FROM ${from}`

const bar = (ticker: string, price: string) => ({
  ticker, window_start_ms: `${OPEN} + s * 1000`, open: price, high: `${price} + 0.05`, low: `${price} - 0.05`, close: `${price} + 0.01`,
  volume: "10 + s % 17", vwap: price, transactions: "1 + s % 5", source: "'rest'", received_at_ms: "1761000000000"
})

const generate = (root: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.make()
    const paths = lakePaths(root)
    const write = (feed: Feed, select: string) =>
      Effect.gen(function* () {
        const file = paths.backfillFile(feed, DATE)
        yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
        yield* db.run(`COPY (${select}) TO ${DuckDb.sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`)
      })
    const seconds = `range(0, ${SECONDS}) t(s)`
    const ticker = `'O:SPY251028' || CASE WHEN k % 2 = 0 THEN 'C' ELSE 'P' END || lpad(CAST((530 + k // 2) * 1000 AS VARCHAR), 8, '0')`
    yield* write("spy", shape("spy", bar("'SPY'", "580 + s / 10000.0"), `${seconds} WHERE s % 7 <> 3`))
    yield* write("vix", shape("vix", bar("'I:VIX'", "17 + s / 100000.0"), seconds))
    yield* write("options", shape("options", bar(ticker, "1 + k / 10.0 + s / 100000.0"), `${seconds}, range(0, 100) c(k)`))
    yield* write("news", shape("news", {
      id: "'n' || s", published_utc_ms: `${OPEN} - 3600000 + s * 60000 + s % 13`, title: "'headline ' || s", author: "'a'", article_url: "'u'",
      publisher_name: "'p'", tickers: `'["SPY"]'`, spy_sentiment: "'neutral'", source: "'rest'", received_at_ms: "1761000000000"
    }, "range(0, 400) t(s)"))
    yield* write("contracts", shape("contracts", {
      as_of: `'${DATE}'`, ticker, underlying_ticker: "'SPY'", contract_type: "CASE WHEN k % 2 = 0 THEN 'call' ELSE 'put' END",
      expiration_date: `'${DATE}'`, strike_price: "530 + k // 2", open_price: "580", moneyness_rank: "k", source: "'rest'", received_at_ms: "1761000000000"
    }, "range(0, 100) c(k)"))
  }).pipe(Effect.scoped)

const program = Effect.gen(function* () {
  const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "bench-consolidate-")))
  const t0 = performance.now()
  yield* generate(root)
  const t1 = performance.now()
  const sink = yield* DuckDbSink.make({ root, newsWindowMinutes: 15, commitSlaS: 300 })
  for (const feed of ["spy", "vix", "news", "contracts", "options"] as const) yield* sink.loadPartition(feed, DATE)
  const t2 = performance.now()
  const runs: Array<number> = []
  let rows = 0
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    rows = (yield* sink.consolidate!(DATE)).rows
    runs.push((performance.now() - start) / 1000)
    console.log(`run ${i + 1}: ${runs[i]!.toFixed(3)} s (${rows} rows)`)
  }
  const median = [...runs].sort((a, b) => a - b)[1]!
  console.log(`generate lake: ${((t1 - t0) / 1000).toFixed(2)} s; load warehouse: ${((t2 - t1) / 1000).toFixed(2)} s`)
  console.log(`consolidate ${DATE}: ${rows} rows, median of 3 = ${median.toFixed(3)} s (target < 2 s) ${median < 2 ? "OK" : "SLOW"}`)
  if (process.argv.includes("--keep")) console.log(`kept ${root}`); else yield* Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
}).pipe(Effect.scoped)

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
