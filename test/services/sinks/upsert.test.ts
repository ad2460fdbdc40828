/**
 * Upsert semantics in DuckDB, PostgreSQL and MariaDB/MySQL: a day loaded twice, a corrected bar
 * (newer received_at_ms) wins, an older version arriving later does not, overwrite replaces the
 * date, and a failing overwrite leaves the date exactly as it was (delete + insert in one transaction).
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { Row } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { makeDay } from "./fixtures.js"
import {
  dedupe,
  optionBarsPerEngine,
  prepareMysql,
  preparePg,
  queryDuck,
  tempRoot,
  withRouter,
  writeLake
} from "./support.js"

const pg = await preparePg("t_upsert")
const mysql = await prepareMysql("upsert")
const root = await tempRoot()
const date = "2025-10-28"
const day = makeDay(date, 0)
const backfill = day.files.options[0]![1]
const sinks = { root, pg, mysql }

const key = (r: Record<string, unknown>) => `${r["ticker"]}|${Number(r["window_start_ms"])}`
const shape = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows
    .map(
      (r) =>
        [
          key(r),
          Number(r["close"]),
          r["vwap"] === null ? null : Number(r["vwap"]),
          Number(r["received_at_ms"]),
          String(r["source"])
        ] as const
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
const expected = (rows: ReadonlyArray<Row>) => shape([...dedupe("options", rows).values()])
const everyEngine = () =>
  optionBarsPerEngine(sinks, date, "ticker, window_start_ms, close, vwap, received_at_ms, source", shape)
const expectEvery = async (rows: ReadonlyArray<Row>) => {
  const want = expected(rows)
  for (const [engine, got] of Object.entries(await everyEngine()))
    expect([engine, got.length, got]).toEqual([engine, want.length, want])
}
const load = (overwrite = false) => withRouter(sinks, (r) => r.loadPartition("options", date, { overwrite }))
const partition = lakePaths(root).partitionDir("options", date)

afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe("sinks: upsert, corrections, overwrite", () => {
  it("loads a day twice with one row per key; a newer correction wins, an older late version does not", async () => {
    await writeLake(root, "options", date, "backfill.parquet", backfill)
    await load()
    await load()
    await expectEvery(backfill)

    const corrected = {
      ...backfill[7]!,
      close: 42.5,
      vwap: 41.25,
      source: "ws",
      received_at_ms: Number(backfill[7]!["received_at_ms"]) + 10
    }
    await writeLake(root, "options", date, "live-0002.parquet", [corrected])
    await load()
    await expectEvery([...backfill, corrected])

    // the lake now presents only an OLDER version of that key (e.g. a stale copy): the sinks keep the newer one
    await fs.rm(path.join(partition, "live-0002.parquet"))
    const stale = {
      ...backfill[7]!,
      close: 1.0,
      source: "repair",
      received_at_ms: Number(backfill[7]!["received_at_ms"]) - 10
    }
    await writeLake(root, "options", date, "live-0003.parquet", [stale])
    await load()
    const state = await everyEngine()
    for (const [engine, rows] of Object.entries(state)) {
      expect([engine, rows.find((r) => r[0] === key(corrected))]).toEqual([
        engine,
        [key(corrected), 42.5, 41.25, corrected.received_at_ms, "ws"]
      ])
      expect([engine, rows.length]).toEqual([engine, dedupe("options", backfill).size])
    }
  })

  it("overwrite replaces the date; a failing overwrite changes nothing", async () => {
    for (const f of await fs.readdir(partition)) await fs.rm(path.join(partition, f))
    const subset = backfill.filter((_, i) => i % 2 === 0).map((r) => ({ ...r, close: Number(r["close"]) + 100 }))
    await writeLake(root, "options", date, "backfill.parquet", subset)
    await load(true)
    await expectEvery(subset)
    const cps = await queryDuck<{ rows: number }>(
      root,
      `SELECT "rows"::DOUBLE AS "rows" FROM sink_checkpoints WHERE feed = 'options'`
    )
    expect(cps).toEqual([{ rows: subset.length }])

    // a row PostgreSQL (NUL in text) and MySQL (key longer than VARCHAR(255)) reject, after many good rows
    const bad = { ...subset[0]!, ticker: `O:${"Z".repeat(300)}\u0000`, received_at_ms: 1 }
    await writeLake(root, "options", date, "backfill.parquet", [...backfill, bad])
    const result = await withRouter(sinks, (r) => Effect.either(r.loadPartition("options", date, { overwrite: true })))
    if (pg || mysql) expect(Either.isLeft(result)).toBe(true)
    const state = await everyEngine()
    const want = expected(subset)
    if (pg) expect(state["postgres"]).toEqual(want)
    if (mysql) expect(state["mysql"]).toEqual(want)
    expect(state["duckdb"]!.length).toBe(dedupe("options", backfill).size + 1)
  })
})
