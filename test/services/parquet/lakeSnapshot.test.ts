/**
 * Reading a partition while the writer replaces its files (services/parquet/lakeSnapshot.ts).
 * DuckDB opens a file by path more than once per query, so a rename between those opens makes a
 * read fail; the platform's readers read through hard links, which a rename cannot change.
 * - pinned files keep the version they were pinned at, whatever the writer does after;
 * - a name replaced by rename over and over is always pinned: link(2) can fail with ENOENT while
 *   the rename lands, and that must not read as "the file is gone";
 * - a release removes the pins; a dead process's pins are removed by the next snapshot;
 * - LakeReader.open, racing a writer that upserts the partition over and over, never fails and
 *   always stages one whole version (its row count is one the writer wrote).
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { OPTIONS_SCHEMA, type Row } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { openSnapshot } from "../../../src/services/parquet/lakeSnapshot.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import * as LakeReader from "../../../src/services/sinks/LakeReader.js"
import { barRow } from "../../helpers/barRows.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)

const bars = (seconds: number, received: number, ticker = "O:SPY251028C00580000"): Array<Row> =>
  Array.from({ length: seconds }, (_, s) => barRow(DATE, ticker, s, received, received))

const count = async (files: ReadonlyArray<string>) => {
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    const r = await c.runAndReadAll(
      `SELECT count(*)::DOUBLE, max(close) FROM read_parquet([${files.map(DuckDb.sqlString).join(", ")}])`
    )
    return r.getRowsJS()[0] as [number, number]
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

const WriterLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))

describe("lake snapshots (reads while files are replaced)", () => {
  it.scoped("pinned files keep their version; release removes them; a dead process's pins are swept", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "snapshot-")))
      const writer = yield* ParquetWriter.ParquetWriter
      yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: bars(120, 1) })
      const snap = yield* Effect.promise(() => openSnapshot(root))
      const pinned = yield* Effect.promise(() => snap.pinPartition("options", DATE))
      assert.deepStrictEqual(
        pinned.map((f) => path.basename(f)),
        ["bars-0930.parquet"]
      )
      // A correction of every bar and 60 more: the partition's file is replaced.
      yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: bars(180, 2) })
      assert.deepStrictEqual(yield* Effect.promise(() => count(pinned)), [120, 1])
      const now = path.join(lakePaths(root).partitionDir("options", DATE), "bars-0930.parquet")
      assert.deepStrictEqual(yield* Effect.promise(() => count([now])), [180, 2])
      // A file gone since it was listed is left out; a file pinned before keeps its first version.
      const again = yield* Effect.promise(() => snap.pin([`${now}.gone.parquet`, now]))
      assert.deepStrictEqual(again, pinned)
      assert.deepStrictEqual(yield* Effect.promise(() => count(again)), [120, 1])
      yield* Effect.promise(() => snap.release())
      const base = path.join(lakePaths(root).stateDir, "snapshots")
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(base)), [])
      // Pins left by a process that died (pid 2^22 + 1 is above Linux's pid_max): swept by the next snapshot.
      yield* Effect.promise(() => fs.mkdir(path.join(base, "4194305-1", "0"), { recursive: true }))
      const next = yield* Effect.promise(() => openSnapshot(root))
      const left = yield* Effect.promise(() => fs.readdir(base))
      assert.strictEqual(left.length, 1)
      assert.match(left[0]!, new RegExp(`^${process.pid}-\\w{6}$`))
      yield* Effect.promise(() => next.release())
    }).pipe(Effect.provide(WriterLayer))
  )

  it.live("a file replaced by rename over and over is always pinned (link's ENOENT while a rename lands)", () =>
    Effect.promise(async () => {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), "snapshot-rename-"))
      const dir = lakePaths(root).partitionDir("options", DATE)
      await fs.mkdir(dir, { recursive: true })
      const file = path.join(dir, "bars-0930.parquet")
      await fs.writeFile(file, "v0")
      let stop = false
      let renames = 0
      const replacing = (async () => {
        while (!stop) {
          await fs.writeFile(`${file}.tmp`, `v${++renames}`)
          await fs.rename(`${file}.tmp`, file)
        }
      })()
      const missed: Array<number> = []
      try {
        for (let i = 0; i < 3000; i++) {
          const snap = await openSnapshot(root)
          if ((await snap.pin([file])).length !== 1) missed.push(i)
          await snap.release()
        }
      } finally {
        stop = true
        await replacing
      }
      assert.deepStrictEqual(missed, [], `pins that left the file out while it existed (${renames} renames)`)
      assert.isAbove(renames, 100) // anti-vacuity: the name was replaced throughout
    })
  )

  it.scoped(
    "LakeReader.open racing a writer that replaces the partition's files: no read fails, each stages one whole version",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "snapshot-race-")))
        const writer = yield* ParquetWriter.ParquetWriter
        const reader = yield* LakeReader.make(root)
        // Version v: eight contracts, each with every 2nd second of the first hour plus each second of
        // its first v minutes, all received at v; each upsert corrects every bar, so it replaces each of the six files.
        const tickers = Array.from({ length: 8 }, (_, i) => `O:SPY251028C00${570 + i}000`)
        const version = (v: number) =>
          tickers.flatMap((t) => bars(3600, v, t).filter((_, s) => s % 2 === 0 || s < 60 * v))
        const sizes = new Set(Array.from({ length: 50 }, (_, i) => version(i + 1).length))
        yield* writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: version(1) })
        const next = yield* Ref.make(1)
        const writing = yield* Effect.fork(
          Effect.forever(
            Effect.flatMap(
              Ref.updateAndGet(next, (v) => (v % 50) + 1),
              (v) => writer.upsert(OPTIONS_SCHEMA, root, DATE, { rows: version(v) })
            )
          )
        )
        const seen: Array<number> = []
        for (let i = 0; i < 60; i++)
          seen.push(yield* Effect.scoped(Effect.map(reader.open("options", DATE), (p) => p.total)))
        yield* Fiber.interrupt(writing)
        assert.isTrue(
          seen.every((n) => sizes.has(n)),
          `staged totals ${[...new Set(seen)].join(",")}`
        )
        // Anti-vacuity: the reads saw the partition change under them.
        assert.isAbove(new Set(seen).size, 5)
      }).pipe(Effect.provide(WriterLayer))
  )
})
