/**
 * `loadFiles` (the live day's incremental loads) in DuckDB, PostgreSQL and MariaDB/MySQL: only the
 * named files are read; a corrected bar in a later file wins over the row already in the sink, an
 * older version arriving later does not; batches of `batch_rows` (7 here: several transactions per
 * file); no sink checkpoint is written, so the end-of-day `loadPartition` still loads (and records)
 * the whole partition; a file outside the partition is refused.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { SinkName } from "../../../src/config/Settings.js"
import type { Row } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { makeDay } from "./fixtures.js"
import {
  dedupe,
  optionBarsPerEngine,
  prepareMysql,
  preparePg,
  queryDuck,
  queryMysql,
  queryPg,
  tempRoot,
  withRouter,
  writeLake
} from "./support.js"

const pg = await preparePg("t_loadfiles")
const mysql = await prepareMysql("loadfiles")
const root = await tempRoot()
const date = "2025-10-28"
const bars = makeDay(date, 0).files.options[0]![1].slice(0, 60)
const sinks = { root, pg, mysql, batchRows: 7 }
const partition = lakePaths(root).partitionDir("options", date)
const file = (name: string) => path.join(partition, name)

const key = (r: Record<string, unknown>) => `${r["ticker"]}|${Number(r["window_start_ms"])}`
const shape = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows
    .map((r) => [key(r), Number(r["close"]), Number(r["received_at_ms"]), String(r["source"])] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
const everyEngine = () =>
  optionBarsPerEngine(sinks, date, "ticker, window_start_ms, close, received_at_ms, source", shape)
const expectEvery = async (rows: ReadonlyArray<Row>) => {
  const want = shape([...dedupe("options", rows).values()])
  const engines = await everyEngine()
  expect(Object.keys(engines)).toEqual(["duckdb", ...(pg ? ["postgres"] : []), ...(mysql ? ["mysql"] : [])])
  for (const [engine, got] of Object.entries(engines))
    expect([engine, got.length, got]).toEqual([engine, want.length, want])
}
const checkpoints = async () => {
  const out: Record<string, number> = { duckdb: (await queryDuck(root, `SELECT feed FROM sink_checkpoints`)).length }
  if (pg) out["postgres"] = (await queryPg(pg, `SELECT feed FROM sink_checkpoints`)).length
  if (mysql) out["mysql"] = (await queryMysql(mysql, `SELECT feed FROM sink_checkpoints`)).length
  return out
}
const loadFiles = (names: ReadonlyArray<string>) =>
  withRouter(sinks, (r) => r.loadFiles("options", date, names.map(file)))

afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe("sinks: loadFiles (incremental)", () => {
  it("loads only the named files; a correction in a later file wins, an older late version does not; no checkpoint", async () => {
    const first = bars.slice(0, 40)
    const rcv = Number(first[5]!["received_at_ms"])
    const corrected = { ...first[5]!, close: 42.5, source: "ws", received_at_ms: rcv + 10 }
    const second = [corrected, ...bars.slice(40)]
    await writeLake(root, "options", date, "live-000001.parquet", first)
    await writeLake(root, "options", date, "live-000002.parquet", second)

    await loadFiles(["live-000001.parquet"])
    await expectEvery(first) // live-000002 exists but was not named: not loaded

    await loadFiles(["live-000002.parquet"]) // only the new file: the correction wins over the stored row
    await expectEvery([...first, ...second])
    for (const [engine, rows] of Object.entries(await everyEngine()))
      expect([engine, rows.find((r) => r[0] === key(corrected))]).toEqual([
        engine,
        [key(corrected), 42.5, rcv + 10, "ws"]
      ])

    const stale = { ...first[5]!, close: 1, source: "repair", received_at_ms: rcv - 10 }
    await writeLake(root, "options", date, "live-000003.parquet", [stale])
    await loadFiles(["live-000003.parquet"])
    await loadFiles(["live-000002.parquet"]) // loading a file again changes nothing
    await expectEvery([...first, ...second, stale])

    expect(await checkpoints()).toEqual({ duckdb: 0, ...(pg ? { postgres: 0 } : {}), ...(mysql ? { mysql: 0 } : {}) })
  })

  it("the end-of-day loadPartition still loads the whole partition and records its checkpoint", async () => {
    const extra = bars
      .slice(0, 3)
      .map((r, i) => ({ ...r, window_start_ms: Number(r["window_start_ms"]) + 500 + i, close: 3.25 }))
    await writeLake(root, "options", date, "backfill.parquet", extra) // never loaded by loadFiles
    await withRouter(sinks, (r) => r.loadPartition("options", date))
    const all = [
      ...bars,
      ...extra,
      { ...bars[5]!, close: 42.5, source: "ws", received_at_ms: Number(bars[5]!["received_at_ms"]) + 10 }
    ]
    await expectEvery(all)
    expect(await checkpoints()).toEqual({ duckdb: 1, ...(pg ? { postgres: 1 } : {}), ...(mysql ? { mysql: 1 } : {}) })
  })

  it("refuses a file outside the partition (every sink)", async () => {
    const outside = path.join(lakePaths(root).partitionDir("spy", date), "live-000001.parquet")
    const engines: Array<SinkName> = [
      "duckdb",
      ...(pg ? ["postgres" as const] : []),
      ...(mysql ? ["mysql" as const] : [])
    ]
    for (const sink of engines) {
      const result = await withRouter(sinks, (r) =>
        Effect.either(r.loadFiles("options", date, [outside, "/etc/passwd"], { sink }))
      )
      expect([
        sink,
        Either.isLeft(result) && result.left.message.includes("not a Parquet file of the options 2025-10-28 partition")
      ]).toEqual([sink, true])
    }
  })
})
