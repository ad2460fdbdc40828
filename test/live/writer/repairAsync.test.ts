/**
 * Gap repairs never hold a commit back: while the REST fetch of a range hangs, the streamed rows
 * are committed (the range stays in the checkpoint's `due`, so a crash repeats it); when it
 * completes, a later commit merges its rows, except a bar streamed inside the range meanwhile
 * (a correction), which wins. One row per key in the end.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import * as fs from "node:fs"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import * as Journal from "../../../src/live/journal/Journal.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import * as LiveWriter from "../../../src/live/writer/LiveWriter.js"
import { recorder } from "../../../src/live/telemetry.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { PolygonRest, type PolygonRestService, type RawItem } from "../../../src/services/polygon/PolygonRest.js"
import * as SchemaDrift from "../../../src/services/SchemaDrift.js"
import { tempRoot } from "../../helpers/settings.js"
import { readLake, realWait } from "../fixtures/harness.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const bar = (s: number, v: number) => ({
  ev: "A",
  sym: "SPY",
  v,
  av: v,
  op: 580,
  vw: 580.5,
  o: 580,
  c: 581,
  h: 582,
  l: 579,
  a: 580.4,
  z: 1,
  s,
  e: s + 1000
})
const restBar = (t: number, v: number): RawItem =>
  ({ t, o: 580, h: 582, l: 579, c: 581, v, vw: 580.5, n: 3 }) as unknown as RawItem

describe("live: asynchronous gap repair", () => {
  it.live(
    "streamed rows are committed while a repair hangs; its rows come later; a bar streamed inside the range wins",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-repair-"))
        const gate = yield* Deferred.make<void>()
        const calls: Array<{ from: number; to: number }> = []
        const rest = {
          aggs: (r: { from: string | number; to: string | number }) =>
            Effect.gen(function* () {
              calls.push({ from: Number(r.from), to: Number(r.to) })
              yield* Deferred.await(gate)
              return [1000, 2000, 3000, 4000].map((d) => restBar(OPEN + d, 100 + d))
            })
        } as unknown as PolygonRestService
        const rec = recorder()
        const layer = Layer.mergeAll(
          Layer.succeed(PolygonRest, rest),
          ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer())),
          SchemaDrift.layer(root),
          rec.layer
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            const journal = yield* Journal.open(root, "spy", DATE)
            const writer = yield* LiveWriter.start({
              root,
              feed: "spy",
              date: DATE,
              openMs: OPEN,
              closeMs: nyTimeMs(DATE, 16),
              journal,
              ev: "A",
              timespan: "second",
              flushIntervalMs: 50,
              maxRows: 50_000,
              graceSeconds: 0
            })
            journal.append(JSON.stringify([bar(OPEN, 1)]), OPEN + 1000)
            journal.marker({ conn: "spy-0", epoch: 2, tickers: ["SPY"] }, OPEN + 1500)
            journal.append(JSON.stringify([bar(OPEN + 5000, 5), bar(OPEN + 2000, 222)]), OPEN + 6000)
            yield* realWait(() => rec.totals.rows >= 3)
            const cp = JSON.parse(fs.readFileSync(checkpointFile(root, "spy", DATE), "utf8")) as LiveCheckpoint
            assert.deepStrictEqual(cp.due, [{ ticker: "SPY", after: OPEN, before: OPEN + 5000 }])
            assert.strictEqual(cp.offset, journal.size())
            assert.deepStrictEqual(calls, [{ from: OPEN + 1, to: OPEN + 4999 }])
            yield* Deferred.succeed(gate, undefined)
            yield* realWait(() => rec.totals.rows >= 6)
            const after = JSON.parse(fs.readFileSync(checkpointFile(root, "spy", DATE), "utf8")) as LiveCheckpoint
            assert.deepStrictEqual(after.due, [])
            yield* writer.finish()
          })
        ).pipe(Effect.provide(layer))
        const rows = (yield* readLake(root, "spy", DATE)).sort((a, b) => a.s - b.s)
        assert.deepStrictEqual(
          rows.map((r) => [r.s - OPEN, r.v, r.source]),
          [
            [0, 1, "ws"],
            [1000, 1100, "repair"],
            [2000, 222, "ws"],
            [3000, 3100, "repair"],
            [4000, 4100, "repair"],
            [5000, 5, "ws"]
          ]
        )
      }),
    { timeout: 60_000 }
  )
})
