/**
 * A real-sized day for the sink tests: the built-in simulator's default day (24 contracts, ~100 k
 * option bars, per-second SPY and VIX, the day's news) backfilled into a temp lake with no sink
 * enabled, plus a second options file of corrections (newer versions of some bars) and stale
 * versions (older), so "latest received wins" is exercised at full size. `truth` reads the lake
 * back (every file) and keeps the latest version per key: what every engine's tables must hold.
 * `referenceRows` is the consolidated view computed from `truth` in plain TypeScript by binary
 * search (same rules as test/services/sinks/fixtures.ts `referenceView`, which is too slow for 100 k bars).
 */
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { type Feed, type Row, SCHEMAS } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { parseOptionTicker } from "../../../src/domain/tickers.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { FEEDS } from "../../../src/sql/tables.js"
import { loadTestSettings, testSettingsLayer } from "../../helpers/settings.js"
import { expect } from "vitest"
import { dedupe, norm, tempRoot, writeLake } from "./support.js"

export const SIM_DATE = "2025-10-28"
const KEY = "test-key-1234"

/** Every row of a feed's partition (all files), values as the lake holds them (BIGINT → number). */
const readPartition = (root: string, feed: Feed, date: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const db = yield* DuckDb.DuckDb
      const cols = SCHEMAS[feed].columns
        .map((c) => (c.type === "BIGINT" ? `CAST("${c.name}" AS DOUBLE) AS "${c.name}"` : `"${c.name}"`))
        .join(", ")
      return yield* db.query<Row>(
        `SELECT ${cols} FROM read_parquet('${path.join(lakePaths(root).partitionDir(feed, date), "*.parquet")}')`
      )
    }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)
  )

export interface SimDay {
  readonly root: string
  readonly date: string
  /** Latest version per key, per feed. */
  readonly truth: Readonly<Record<Feed, ReadonlyMap<string, Row>>>
  /** Bars of the corrections file that changed a value (anti-vacuity). */
  readonly corrected: number
}

/** Backfills the simulated day into a fresh lake (no sinks), then adds the corrections file. */
export const simulatedDay = async (seed = 42, date = SIM_DATE): Promise<SimDay> => {
  const sim = await startSimulator({ port: 0, seed, apiKey: KEY })
  const root = await tempRoot()
  try {
    const loaded = await loadTestSettings({ polygon: { rest_url: sim.url }, storage: { root }, POLYGON_API_KEY: KEY })
    // sinks.enabled: [] (an empty list in the overrides reads as unset, i.e. the default [duckdb])
    const settings = { ...loaded, sinks: { ...loaded.sinks, enabled: [] } }
    await Effect.runPromise(
      backfillProgram({ startDate: date, endDate: date }).pipe(
        Effect.provide(BackfillLayer.pipe(Layer.provideMerge(testSettingsLayer(settings))))
      )
    )
  } finally {
    await sim.close()
  }
  const options = await readPartition(root, "options", date)
  const received = Math.max(...options.map((r) => Number(r["received_at_ms"])))
  const newer = options
    .filter((_, i) => i % 97 === 5)
    .map((r, i) => ({
      ...r,
      close: Number(r["close"]) + 0.5 + i / 1000,
      volume: 7,
      source: "ws",
      received_at_ms: received + 1000 + i
    }))
  const older = options
    .filter((_, i) => i % 89 === 3)
    .map((r) => ({ ...r, close: -1, source: "ws", received_at_ms: Number(r["received_at_ms"]) - 60_000 }))
  await writeLake(root, "options", date, "live-0001.parquet", [...newer, ...older])
  const truth = {} as Record<Feed, ReadonlyMap<string, Row>>
  for (const feed of FEEDS) truth[feed] = dedupe(feed, await readPartition(root, feed, date))
  return { root, date, truth, corrected: newer.length }
}

/** Index of the first element of sorted `xs` whose key is > t (= how many are ≤ t). */
const upper = (xs: ReadonlyArray<number>, t: number) => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid]! <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The consolidated rows of the day from `truth` (any-date news = the lake's news). */
export const referenceRows = (day: SimDay, windowMs: number): Array<Record<string, unknown>> => {
  const byTime = (rows: Iterable<Row>, col: string) => [...rows].sort((a, b) => Number(a[col]) - Number(b[col]))
  const spy = byTime(day.truth.spy.values(), "window_start_ms")
  const vix = byTime(day.truth.vix.values(), "window_start_ms")
  const news = [...day.truth.news.values()]
    .filter((n) => String(n["tickers"]).includes('"SPY"'))
    .sort(
      (a, b) =>
        Number(a["published_utc_ms"]) - Number(b["published_utc_ms"]) ||
        (String(a["id"]) < String(b["id"]) ? -1 : String(a["id"]) > String(b["id"]) ? 1 : 0)
    )
  const spyT = spy.map((r) => Number(r["window_start_ms"]))
  const vixT = vix.map((r) => Number(r["window_start_ms"]))
  const newsT = news.map((r) => Number(r["published_utc_ms"]))
  const listed = new Set(
    [...day.truth.contracts.values()].filter((c) => c["as_of"] === day.date).map((c) => c["ticker"])
  )
  return [...day.truth.options.values()].map((o) => {
    const t = Number(o["window_start_ms"])
    const s = spy[upper(spyT, t) - 1]
    const v = vix[upper(vixT, t) - 1]
    const tEnd = t + 1000 // the row's time: the (per-second) bar's end
    const known = upper(newsT, tEnd)
    const latest = news[known - 1]
    const occ = parseOptionTicker(String(o["ticker"]))
    return {
      date: day.date,
      ticker: o["ticker"],
      underlying: occ?.underlying ?? null,
      expiration: occ?.expiration ?? null,
      strike: occ?.strike ?? null,
      contract_type: occ?.right ?? null,
      in_contract_list: listed.has(o["ticker"]!),
      window_start_ms: t,
      open: o["open"],
      high: o["high"],
      low: o["low"],
      close: o["close"],
      volume: o["volume"],
      vwap: o["vwap"],
      transactions: o["transactions"],
      spy_window_start_ms: s?.["window_start_ms"] ?? null,
      spy_open: s?.["open"] ?? null,
      spy_high: s?.["high"] ?? null,
      spy_low: s?.["low"] ?? null,
      spy_close: s?.["close"] ?? null,
      spy_volume: s?.["volume"] ?? null,
      spy_vwap: s?.["vwap"] ?? null,
      spy_staleness_ms: s ? t - Number(s["window_start_ms"]) : null,
      vix_value: v?.["close"] ?? null,
      vix_window_start_ms: v?.["window_start_ms"] ?? null,
      vix_staleness_ms: v ? t - Number(v["window_start_ms"]) : null,
      news_count_15m: known - upper(newsT, tEnd - windowMs),
      latest_headline: latest?.["title"] ?? null,
      latest_sentiment: latest?.["spy_sentiment"] ?? null,
      latest_news_age_s: latest ? (tEnd - Number(latest["published_utc_ms"])) / 1000 : null
    }
  })
}

/** Rows as sorted lines of normalized values: compared as sets, any difference shown by its lines. */
export const lines = (
  columns: ReadonlyArray<{ name: string; type: string }>,
  rows: ReadonlyArray<Record<string, unknown>>
) => rows.map((r) => JSON.stringify(columns.map((c) => norm(c.type, r[c.name])))).sort()

export const expectSameLines = (actual: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  const want = new Set(expected)
  const got = new Set(actual)
  expect({
    unexpected: actual.filter((l) => !want.has(l)).slice(0, 3),
    missing: expected.filter((l) => !got.has(l)).slice(0, 3)
  }).toEqual({ unexpected: [], missing: [] })
  expect(actual.length).toBe(expected.length)
  expect(got.size).toBe(actual.length) // no row twice
}
