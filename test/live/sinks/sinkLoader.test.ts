/**
 * LiveSinkLoader and durableFiles without a live day: which lake files count as durable (a live
 * file above its checkpoint's seq does not, temp files never), only new files are sent, a sink
 * that fails is alerted and retried next round while the others go on, a round with nothing new
 * opens no sink, the alert is resolved by the next successful load, a restarted loader reloads the
 * durable files once, and the loop runs on the Effect Clock (TestClock). A rewritten file is sent
 * with the version that sink last loaded (`since`), pinned before that load; a failed load keeps the
 * previous version; the loop's scope removes the kept versions.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { SinkName } from "../../../src/config/Settings.js"
import type { Feed } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import { durableFiles } from "../../../src/live/writer/durableFiles.js"
import { checkpointFile } from "../../../src/live/writer/liveFiles.js"
import { ALERT_KIND, effectiveInterval, make } from "../../../src/live/sinks/LiveSinkLoader.js"
import { recorder } from "../../../src/live/telemetry.js"
import { SinkError } from "../../../src/services/sinks/Sink.js"
import type { SinkRouterService } from "../../../src/services/sinks/SinkRouter.js"
import { tempRoot } from "../../helpers/settings.js"

const DATE = "2025-10-28"

const setup = Effect.promise(async () => {
  const root = await tempRoot("sink-loader-")
  const dir = lakePaths(root).partitionDir("spy", DATE)
  await fs.mkdir(dir, { recursive: true })
  // as every lake writer: a new file renamed over the name, never a write in place
  const put = async (name: string, content = "x") => {
    await fs.writeFile(path.join(dir, `${name}.tmp`), content)
    await fs.rename(path.join(dir, `${name}.tmp`), path.join(dir, name))
  }
  const commit = async (feed: Feed, seq: number) => {
    await fs.mkdir(path.dirname(checkpointFile(root, feed, DATE)), { recursive: true })
    await fs.writeFile(checkpointFile(root, feed, DATE), JSON.stringify({ seq }))
  }
  return { root, dir, put, commit }
})

const names = (files: ReadonlyArray<{ path: string }>) => files.map((f) => path.basename(f.path))

describe("live sinks: durable files and the loader", () => {
  it.effect("durableFiles: committed live files, other Parquet files, never temp files; a rewritten file is new", () =>
    Effect.gen(function* () {
      const { root, put, commit } = yield* setup
      yield* Effect.promise(async () => {
        for (const n of [
          "live-000001.parquet",
          "live-000002.parquet",
          "live-000003.parquet",
          "backfill.parquet",
          "live-000004.parquet.tmp-9-1",
          "notes.json"
        ])
          await put(n)
      })
      assert.deepStrictEqual(names(yield* durableFiles(root, "spy", DATE)), ["backfill.parquet"]) // no checkpoint yet: no live file is durable
      yield* Effect.promise(() => commit("spy", 2))
      const before = yield* durableFiles(root, "spy", DATE)
      assert.deepStrictEqual(names(before), ["backfill.parquet", "live-000001.parquet", "live-000002.parquet"])
      yield* Effect.promise(() => put("backfill.parquet", "a longer content"))
      const after = yield* durableFiles(root, "spy", DATE)
      assert.notStrictEqual(after[0]!.id, before[0]!.id)
      assert.deepStrictEqual(
        after.slice(1).map((f) => f.id),
        before.slice(1).map((f) => f.id)
      )
      assert.deepStrictEqual(yield* durableFiles(root, "vix", DATE), []) // no partition
    })
  )

  it("on a fast simulated clock rounds stay at least 5 real seconds apart", () => {
    assert.deepStrictEqual(
      [
        effectiveInterval(60_000),
        effectiveInterval(60_000, 1),
        effectiveInterval(60_000, 30),
        effectiveInterval(60_000, 120),
        effectiveInterval(600_000, 10)
      ],
      [60_000, 60_000, 150_000, 600_000, 600_000]
    )
  })

  it.scoped(
    "only new files per sink; a failing sink is alerted and retried next round; nothing new opens nothing; rounds on the Clock",
    () =>
      Effect.gen(function* () {
        const { root, put, commit } = yield* setup
        const calls: Array<{ sink: SinkName; feed: Feed; files: Array<string> }> = []
        const opened: Array<SinkName> = []
        let pgDown = true
        const router = (sink: SinkName) =>
          ({
            loadFiles: (feed: Feed, _date: string, files: ReadonlyArray<string>) =>
              sink === "postgres" && pgDown
                ? Effect.fail(new SinkError({ sink, operation: "load", message: "connection refused" }))
                : Effect.sync(() => {
                    calls.push({ sink, feed, files: files.map((f) => path.basename(f)) })
                    return 10 * files.length // rows written
                  })
          }) as unknown as SinkRouterService
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: ["duckdb", "postgres"],
          feeds: ["spy", "vix"],
          acquire: (sink) => Effect.sync(() => (opened.push(sink), router(sink)))
        })
        const rec = recorder()
        const round = loader.round(DATE).pipe(Effect.provide(rec.layer))
        yield* Effect.promise(async () => {
          await put("live-000001.parquet")
          await commit("spy", 1)
        })

        const r1 = yield* round
        assert.deepStrictEqual(calls, [{ sink: "duckdb", feed: "spy", files: ["live-000001.parquet"] }])
        assert.deepStrictEqual(
          r1.map((r) => [r.sink, r.rows]),
          [
            ["duckdb", 10],
            ["postgres", 0]
          ]
        )
        assert.deepStrictEqual(
          r1.map((r) => [r.sink, r.error === undefined]),
          [
            ["duckdb", true],
            ["postgres", false]
          ]
        )
        assert.deepStrictEqual(
          rec.alerts.map((a) => [a.kind, a.details["source"]]),
          [[ALERT_KIND, "postgres"]]
        )
        assert.include(rec.alerts[0]!.message, "connection refused")

        calls.length = 0
        pgDown = false
        yield* Effect.promise(async () => {
          await put("live-000002.parquet")
          await put("live-000003.parquet") // published, checkpoint not yet written: not durable
          await commit("spy", 2)
        })
        yield* round
        calls.sort((a, b) => a.sink.localeCompare(b.sink)) // the sinks load concurrently
        assert.deepStrictEqual(calls, [
          { sink: "duckdb", feed: "spy", files: ["live-000002.parquet"] },
          { sink: "postgres", feed: "spy", files: ["live-000001.parquet", "live-000002.parquet"] }
        ])
        assert.deepStrictEqual(rec.resolved, [{ kind: ALERT_KIND, source: "postgres" }]) // the next successful load closes the alert

        calls.length = 0
        opened.length = 0
        yield* round
        assert.deepStrictEqual([calls, opened], [[], []])
        assert.strictEqual(rec.alerts.length, 1)

        // The loop: a round every 60 s of Clock time, none before.
        yield* loader.start(DATE).pipe(Effect.provide(rec.layer))
        const rounds = (yield* loader.status).rounds
        yield* TestClock.adjust("59 seconds")
        assert.strictEqual((yield* loader.status).rounds, rounds)
        yield* Effect.promise(() => commit("spy", 3))
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 200 && (yield* loader.status).rounds === rounds; i++)
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
        assert.strictEqual((yield* loader.status).rounds, rounds + 1)
        assert.deepStrictEqual(calls.map((c) => [c.sink, c.files]).sort(), [
          ["duckdb", ["live-000003.parquet"]],
          ["postgres", ["live-000003.parquet"]]
        ])
        // live_load_interval_s = 0: no loop at all (the sinks are loaded only at the end of the day)
        const off = make({
          root,
          intervalMs: 0,
          sinks: ["duckdb"],
          feeds: ["spy"],
          acquire: (sink) => Effect.succeed(router(sink))
        })
        yield* off.start(DATE).pipe(Effect.provide(rec.layer))
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* off.status).rounds, 0)

        // A restart (even kill -9) forgets what was loaded: the first round of a new loader reloads every durable file once (idempotent upserts).
        calls.length = 0
        const restarted = make({
          root,
          intervalMs: 60_000,
          sinks: ["duckdb", "postgres"],
          feeds: ["spy", "vix"],
          acquire: (sink) => Effect.succeed(router(sink))
        })
        yield* restarted.round(DATE).pipe(Effect.provide(rec.layer))
        calls.sort((a, b) => a.sink.localeCompare(b.sink))
        const all = ["live-000001.parquet", "live-000002.parquet", "live-000003.parquet"]
        assert.deepStrictEqual(calls, [
          { sink: "duckdb", feed: "spy", files: all },
          { sink: "postgres", feed: "spy", files: all }
        ])
        assert.deepStrictEqual((yield* loader.status).loaded["postgres"], {
          spy: ["live-000001.parquet", "live-000002.parquet", "live-000003.parquet"].map((n) =>
            path.join(lakePaths(root).partitionDir("spy", DATE), n)
          )
        })
      })
  )

  it.scoped(
    "a rewritten file goes with the version the sink loaded, pinned before its load; a failed load keeps the previous one; a folder that cannot be made is tried again",
    () =>
      Effect.gen(function* () {
        const { root, dir, put } = yield* setup
        const NAME = "bars-0900.parquet"
        const since: Array<string | undefined> = []
        let fail = false
        const router = {
          loadFiles: (
            _feed: Feed,
            _date: string,
            files: ReadonlyArray<string>,
            o?: { since?: Record<string, string> }
          ) =>
            Effect.promise(async () => {
              const earlier = o?.since?.[NAME]
              since.push(earlier === undefined ? undefined : await fs.readFile(earlier, "utf8"))
              await put(NAME, `${await fs.readFile(files[0]!, "utf8")}+`) // a commit while the sink loads
              if (fail) throw new Error("down")
              return 1
            })
        } as unknown as SinkRouterService
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: ["postgres"],
          feeds: ["spy"],
          acquire: () => Effect.succeed(router)
        })
        const rec = recorder()
        const round = (failing: boolean) =>
          Effect.zipRight(
            Effect.sync(() => (fail = failing)),
            loader.round(DATE).pipe(Effect.provide(rec.layer))
          )
        yield* Effect.promise(() => put(NAME, "v1"))
        // Where the kept versions go cannot be made (a file in the way, as a full disk would fail):
        // the round fails and is alerted, and the next one tries again.
        const snapshots = path.join(lakePaths(root).stateDir, "snapshots")
        yield* Effect.promise(async () => {
          await fs.mkdir(path.dirname(snapshots), { recursive: true })
          await fs.writeFile(snapshots, "in the way")
        })
        const blocked = yield* round(false)
        assert.deepStrictEqual([blocked[0]!.error !== undefined, since], [true, []])
        yield* Effect.promise(() => fs.rm(snapshots))
        yield* round(false) // loads v1 (the file becomes v1+ during the load)
        yield* round(true) // sends v1+ with v1, fails
        yield* round(false) // sends v1++ with v1 again
        yield* round(false) // sends v1+++ with v1++
        assert.deepStrictEqual(since, [undefined, "v1", "v1", "v1++"])
        assert.strictEqual(yield* Effect.promise(() => fs.readFile(path.join(dir, NAME), "utf8")), "v1++++")

        // The loop's scope removes the kept versions when it closes.
        const kept = () => fs.readdir(snapshots).then((d) => d.length)
        assert.strictEqual(yield* Effect.promise(kept), 1)
        yield* Effect.scoped(loader.start(DATE).pipe(Effect.provide(rec.layer)))
        assert.strictEqual(yield* Effect.promise(kept), 0)
      })
  )
})
