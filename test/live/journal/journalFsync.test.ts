/**
 * `journal.fsync: batch`: the socket's path only writes; fdatasync runs one at a time and groups
 * what was written meanwhile; the writer sees only fsynced bytes (size() and read() stop at the
 * durable end), so a checkpoint never covers bytes a power cut could take back. `sync` waits for
 * everything appended; a failed fdatasync freezes the readable end and `sync` still returns.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import * as Journal from "../../../src/live/journal/Journal.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import * as LiveWriter from "../../../src/live/writer/LiveWriter.js"
import { type SyncFn } from "../../../src/live/journal/journalSync.js"
import { recorder } from "../../../src/live/telemetry.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { PolygonRest, type PolygonRestService } from "../../../src/services/polygon/PolygonRest.js"
import * as SchemaDrift from "../../../src/services/SchemaDrift.js"
import { tempRoot } from "../../helpers/settings.js"
import { readLake, realWait } from "../fixtures/harness.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const frameText = (i: number) => JSON.stringify([{ ev: "A", sym: "SPY", v: i, s: 1_761_658_200_000 + i * 1000 }])
const tick = Effect.promise(() => new Promise<void>((r) => setImmediate(r)))
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

/** An fdatasync the test completes by hand: `held` are the callbacks waiting, in order. */
const heldSync = () => {
  const held: Array<(err: NodeJS.ErrnoException | null) => void> = []
  const syncFn: SyncFn = (fd, done) => {
    fs.fdatasyncSync(fd)
    held.push(done)
  }
  return { held, syncFn }
}

const lineBytes = (i: number, ms: number) => `[${ms},${frameText(i)}]\n`.length

describe("Journal fsync: batch", () => {
  it.scoped("the readable end is the fsynced end; writes during an fdatasync are grouped into the next one", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-fsync-"))
      const { held, syncFn } = heldSync()
      const j = yield* Journal.open(root, "spy", DATE, { fsync: "batch", syncFn })
      j.append(frameText(1), 1)
      yield* tick
      const first = lineBytes(1, 1)
      assert.strictEqual(fs.statSync(j.file).size, first, "written to the OS at once")
      assert.strictEqual(held.length, 1, "one fdatasync started")
      assert.strictEqual(j.size(), 0, "not readable before it completes")
      assert.deepStrictEqual(j.read(0).entries, [])
      // three more socket reads while the first fdatasync is in flight: no new fdatasync yet
      for (const i of [2, 3, 4]) {
        j.append(frameText(i), i)
        yield* tick
      }
      assert.strictEqual(held.length, 1)
      held[0]!(null)
      assert.strictEqual(j.size(), first, "readable up to what the first fdatasync covered")
      assert.deepStrictEqual(
        j.read(0).entries.map((e) => e.end),
        [first]
      )
      assert.strictEqual(held.length, 2, "one fdatasync for the three writes made meanwhile")
      held[1]!(null)
      const all = first + lineBytes(2, 2) + lineBytes(3, 3) + lineBytes(4, 4)
      assert.strictEqual(j.size(), all)
      assert.strictEqual(j.read(0).entries.length, 4)
      assert.strictEqual(held.length, 2, "nothing left to sync")
    })
  )

  it.scoped("sync waits until everything appended is fsynced (real fdatasync)", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-fsync-"))
      const j = yield* Journal.open(root, "options", DATE, { fsync: "batch" })
      for (let i = 0; i < 1000; i++) j.append(frameText(i), i)
      yield* j.sync
      assert.strictEqual(j.size(), fs.statSync(j.file).size)
      assert.strictEqual(j.read(0, 1 << 30).entries.length, 1000)
    })
  )

  it.scoped("a failed fdatasync freezes the readable end (no retry) and sync still returns", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-fsync-"))
      let calls = 0
      const j = yield* Journal.open(root, "vix", DATE, {
        fsync: "batch",
        syncFn: (_fd, done) => {
          calls++
          setImmediate(() => done(calls === 1 ? null : Object.assign(new Error("EIO"), { code: "EIO" })))
        }
      })
      j.append(frameText(1), 1)
      yield* j.sync
      j.append(frameText(2), 2)
      yield* j.sync
      j.append(frameText(3), 3)
      yield* j.sync
      assert.strictEqual(calls, 2)
      assert.strictEqual(j.size(), lineBytes(1, 1))
      assert.strictEqual(
        fs.statSync(j.file).size,
        lineBytes(1, 1) + lineBytes(2, 2) + lineBytes(3, 3),
        "the bytes stay in the file for a restart"
      )
    })
  )

  it.live(
    "the writer commits only fsynced bytes: nothing while the fdatasync is held, all of it after",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("journal-fsync-writer-"))
        const { held, syncFn } = heldSync()
        const rec = recorder()
        const rest = { aggs: () => Effect.succeed([]) } as unknown as PolygonRestService
        const layer = Layer.mergeAll(
          Layer.succeed(PolygonRest, rest),
          ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer())),
          SchemaDrift.layer(root),
          rec.layer
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            const journal = yield* Journal.open(root, "spy", DATE, { fsync: "batch", syncFn })
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
            journal.append(JSON.stringify([bar(OPEN, 1), bar(OPEN + 1000, 2)]), OPEN + 1500)
            yield* Effect.sleep("300 millis")
            assert.strictEqual(held.length, 1)
            assert.strictEqual(rec.totals.rows, 0, "not processed before it is durable")
            assert.strictEqual(writer.processedOffset(), 0)
            held[0]!(null)
            yield* realWait(() => rec.totals.rows >= 2)
            const cp = JSON.parse(fs.readFileSync(checkpointFile(root, "spy", DATE), "utf8")) as LiveCheckpoint
            assert.strictEqual(cp.offset, fs.statSync(journal.file).size)
            // appended just before the stop: finish waits for its fdatasync, then commits it
            journal.append(JSON.stringify([bar(OPEN + 2000, 3)]), OPEN + 2500)
            const finishing = yield* Effect.fork(writer.finish())
            yield* realWait(() => held.length === 2)
            held[1]!(null)
            yield* finishing.await
          })
        ).pipe(Effect.provide(layer))
        const rows = (yield* readLake(root, "spy", DATE)).sort((a, b) => a.s - b.s)
        assert.deepStrictEqual(
          rows.map((r) => [r.s - OPEN, r.v]),
          [
            [0, 1],
            [1000, 2],
            [2000, 3]
          ]
        )
      }),
    { timeout: 60_000 }
  )
})
