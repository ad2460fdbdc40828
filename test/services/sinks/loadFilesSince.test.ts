/**
 * `loadFiles` with `since` (the live day's rounds after a window's file was rewritten): only the
 * rows not in the version a sink already loaded are read and sent. Checked exactly: the staged rows
 * are exactly the new keys and the changed row; in PostgreSQL and MariaDB/MySQL a row that the
 * rewrite left unchanged is not sent again (a value planted in the sink survives the load), while
 * every new and changed row lands; a load without `since` sends everything. A version that is gone
 * makes the file load whole; a `since` outside the lake's pinned versions is refused.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { Row } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { openLoadedVersions } from "../../../src/live/sinks/loadedVersions.js"
import * as LakeReader from "../../../src/services/sinks/LakeReader.js"
import { makeDay } from "./fixtures.js"
import {
  dedupe,
  optionBarsPerEngine,
  prepareMysql,
  preparePg,
  queryMysql,
  queryPg,
  tempRoot,
  withRouter,
  writeLake
} from "./support.js"

const pg = await preparePg("t_since")
const mysql = await prepareMysql("since")
const root = await tempRoot()
const date = "2025-10-28"
const NAME = "bars-0930.parquet"
const file = path.join(lakePaths(root).partitionDir("options", date), NAME)
const bars = makeDay(date, 0).files.options[0]![1].slice(0, 60)

const v1 = bars.slice(0, 40)
const corrected: Row = { ...v1[5]!, close: 42.5, source: "ws", received_at_ms: Number(v1[5]!["received_at_ms"]) + 10 }
const added = bars.slice(40)
const v2 = [...v1.filter((_, i) => i !== 5), corrected, ...added]
const changed = [corrected, ...added]

const key = (r: Record<string, unknown>) => `${r["ticker"]}|${Number(r["window_start_ms"])}`
const shape = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows
    .map((r) => [key(r), Number(r["close"]), Number(r["received_at_ms"]), String(r["source"])] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))

/** The rows `openFiles` stages (every page), shaped. */
const staged = (since?: LakeReader.SinceVersions) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const reader = yield* LakeReader.make(root)
      const partition = yield* reader.openFiles("options", date, [file], since)
      return shape(yield* partition.page(0, partition.total + 1))
    }).pipe(Effect.scoped)
  )

const sinks = { root, pg, mysql, batchRows: 7 }
const versions = openLoadedVersions(root)
/** One live round's steps for `sink` (LiveSinkLoader): since → pin → load → keep. */
const round = (sink: "duckdb" | "postgres" | "mysql") =>
  withRouter(sinks, (r) =>
    Effect.gen(function* () {
      const since = versions.since(sink, "options", date, [file])
      yield* Effect.promise(() => versions.pin(sink, "options", date, [file]))
      yield* r.loadFiles("options", date, [file], { sink, since })
      yield* Effect.promise(() => versions.keep(sink, "options", date, [file]))
      return since
    })
  )

afterAll(async () => {
  await versions.release()
  await fs.rm(root, { recursive: true, force: true })
})

describe("sinks: loadFiles with the version already loaded (since)", () => {
  it("stages exactly the new and changed rows; a gone version loads the file whole; a foreign path is refused", async () => {
    await writeLake(root, "options", date, NAME, v1)
    await versions.pin("postgres", "options", date, [file])
    await versions.keep("postgres", "options", date, [file])
    const since = versions.since("postgres", "options", date, [file])
    expect(Object.keys(since)).toEqual([NAME])
    await writeLake(root, "options", date, NAME, v2)

    expect(await staged(since)).toEqual(shape(changed))
    expect(await staged()).toEqual(shape(v2))
    expect(await staged({ [NAME]: path.join(path.dirname(since[NAME]!), "gone.parquet") })).toEqual(shape(v2))
    const foreign = await Effect.runPromise(
      Effect.either(
        Effect.scoped(
          Effect.flatMap(LakeReader.make(root), (r) => r.openFiles("options", date, [file], { [NAME]: file }))
        )
      )
    )
    expect(Either.isLeft(foreign) && foreign.left.message).toContain("not a pinned lake version")
    await versions.release()
  })

  it("PostgreSQL and MySQL receive only the rows not in the loaded version; DuckDB ends exact too", async () => {
    await writeLake(root, "options", date, NAME, v1)
    const engines = ["duckdb", ...(pg ? ["postgres" as const] : []), ...(mysql ? ["mysql" as const] : [])] as const
    for (const sink of engines) expect([sink, await round(sink)]).toEqual([sink, {}])

    // A value planted in the sink on a row the rewrite leaves unchanged: resent, it would be overwritten.
    const planted = v1[0]!
    const where = [planted["ticker"], Number(planted["window_start_ms"])]
    if (pg) await queryPg(pg, `UPDATE option_bars SET close = -1 WHERE ticker = $1 AND window_start_ms = $2`, where)
    if (mysql)
      await queryMysql(mysql, `UPDATE option_bars SET close = -1 WHERE ticker = ? AND window_start_ms = ?`, where)

    await writeLake(root, "options", date, NAME, v2)
    for (const sink of engines) expect([sink, Object.keys(await round(sink))]).toEqual([sink, [NAME]])

    const truth = shape([...dedupe("options", v2).values()])
    const withPlant = truth.map((r) => (r[0] === key(planted) ? ([r[0], -1, r[2], r[3]] as const) : r))
    const got = await optionBarsPerEngine(sinks, date, "ticker, window_start_ms, close, received_at_ms, source", shape)
    expect(got).toEqual({
      duckdb: truth,
      ...(pg ? { postgres: withPlant } : {}),
      ...(mysql ? { mysql: withPlant } : {})
    })

    // Without `since` the whole file is sent again: the planted value is overwritten.
    await withRouter(sinks, (r) => r.loadFiles("options", date, [file]))
    expect(
      await optionBarsPerEngine(sinks, date, "ticker, window_start_ms, close, received_at_ms, source", shape)
    ).toEqual({ duckdb: truth, ...(pg ? { postgres: truth } : {}), ...(mysql ? { mysql: truth } : {}) })
  })
})
