/**
 * Live sink rounds in a worker thread (src/live/sinks/SinkWorkerClient.ts + the built
 * dist/programs/sinkWorker.js), real threads and real time: a round loads exactly the durable files
 * into DuckDB and PostgreSQL, and after a file is rewritten PostgreSQL gets only its new rows
 * (`since` through the worker, counted in the round); a worker that crashes fails the round with the sink_live_load alert
 * and the files are loaded by the next round (the alert resolved); a worker that ignores `stop`
 * is terminated, so closing a round is bounded in real time, unless a DuckDB query runs on it:
 * then it is abandoned (terminating it would deadlock, src/lib/threadExit.ts) and ends by itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { beforeAll } from "vitest"
import type { Row } from "../../../src/domain/feeds.js"
import { checkpointFile } from "../../../src/live/writer/liveFiles.js"
import { ALERT_KIND, make } from "../../../src/live/sinks/LiveSinkLoader.js"
import * as SinkWorker from "../../../src/live/sinks/SinkWorkerClient.js"
import { abandonedThreads } from "../../../src/lib/threadExit.js"
import { recorder } from "../../../src/live/telemetry.js"
import { buildIfStale } from "../../helpers/build.js"
import { waitFor } from "../../helpers/cli.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { preparePg, queryDuck, queryPg, writeLake } from "../../services/sinks/support.js"

const DATE = "2025-10-28"
const SCRIPT = pathToFileURL(path.resolve("dist/programs/sinkWorker.js"))
const OPEN = Date.parse(`${DATE}T13:30:00Z`)

beforeAll(() => buildIfStale(), 120_000)

const bars = (n: number, from = 0): Array<Row> =>
  Array.from({ length: n }, (_, i) => ({
    ticker: "SPY",
    window_start_ms: OPEN + (from + i) * 1000,
    open: 600 + i / 100,
    high: 601,
    low: 599,
    close: 600.5,
    volume: 100 + i,
    vwap: 600.2,
    transactions: 3,
    window_end_ms: null,
    accumulated_volume: null,
    official_open: null,
    day_vwap: null,
    avg_trade_size: null,
    otc: null,
    source: "ws",
    received_at_ms: OPEN + (from + i) * 1000 + 50,
    extra: null
  }))

const lake = async (root: string, seq: number, rows: ReadonlyArray<Row>) => {
  await writeLake(root, "spy", DATE, `live-${String(seq).padStart(6, "0")}.parquet`, rows)
  await fs.mkdir(path.dirname(checkpointFile(root, "spy", DATE)), { recursive: true })
  await fs.writeFile(checkpointFile(root, "spy", DATE), JSON.stringify({ seq }))
}

/** A worker script (ESM) that answers "ready", then misbehaves on its first load. */
const badScript = async (dir: string, name: string, onLoad: string) => {
  const file = path.join(dir, name)
  await fs.writeFile(
    file,
    `import { parentPort } from "node:worker_threads"
parentPort.postMessage({ type: "ready" })
parentPort.on("message", (m) => { if (m.type === "load") { ${onLoad} } })
`
  )
  return pathToFileURL(file)
}

/**
 * A worker that, on its first load, runs a ~3 s DuckDB query (counted as native work), writes
 * `started` once it runs, ignores `stop`, and exits when the query ends.
 */
const busyScript = async (dir: string) => {
  const duckdb = pathToFileURL(createRequire(import.meta.url).resolve("@duckdb/node-api")).href
  const threadExit = pathToFileURL(path.resolve("dist/lib/threadExit.js")).href
  const file = path.join(dir, "busy.mjs")
  await fs.writeFile(
    file,
    `import { writeFileSync } from "node:fs"
import { parentPort, workerData } from "node:worker_threads"
import { DuckDBInstance } from ${JSON.stringify(duckdb)}
import { adoptNativeState, runNative } from ${JSON.stringify(threadExit)}
adoptNativeState(workerData.nativeState)
const db = await DuckDBInstance.create(":memory:", { threads: "2" })
const c = await db.connect()
parentPort.postMessage({ type: "ready" })
parentPort.on("message", (m) => {
  if (m.type !== "load") return
  runNative(() => c.run("SELECT count(*) FROM range(1000000000) t(a) WHERE a % 7 = 3")).then(() => process.exit(0))
  writeFileSync(${JSON.stringify(path.join(dir, "started"))}, "")
})
`
  )
  return pathToFileURL(file)
}

const count = (rows: ReadonlyArray<Record<string, unknown>>) => Number(rows[0]!["n"])

describe("live sink worker", () => {
  // loaded copies (storage: tables): a view over the lake reads every published file, durable or not
  it.live(
    "a round in worker threads loads exactly the durable files into DuckDB and PostgreSQL",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("sink-worker-"))
        const pg = yield* Effect.promise(() => preparePg("sink_worker"))
        const sinks = pg ? (["duckdb", "postgres"] as const) : (["duckdb"] as const)
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            sinks: { enabled: [...sinks], postgres: { url: pg ?? "" }, duckdb: { storage: "tables" } }
          })
        )
        yield* Effect.promise(() => lake(root, 1, bars(5_000)))
        yield* Effect.promise(() => writeLake(root, "spy", DATE, "live-000002.parquet", bars(10, 5_000))) // published, not committed: not durable
        const rec = recorder()
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: [...sinks],
          feeds: ["spy"],
          acquire: (sink) => SinkWorker.acquire({ settings, sink, script: SCRIPT })
        })
        const result = yield* loader.round(DATE).pipe(Effect.provide(rec.layer))
        assert.deepStrictEqual(
          result.map((r) => [r.sink, r.error, r.rows]),
          sinks.map((s) => [s, undefined, 5_000])
        )
        const sql = `SELECT COUNT(*) AS n, SUM(volume) AS v FROM spy_bars WHERE "date" = '${DATE}'`
        const expectRows = (n: number) =>
          Effect.gen(function* () {
            const sum = n * 100 + ((n - 1) * n) / 2 // volumes 100, 101, …
            const duck = yield* Effect.promise(() => queryDuck(root, sql))
            assert.deepStrictEqual([count(duck), Number(duck[0]!["v"])], [n, sum])
            if (pg) {
              const rows = yield* Effect.promise(() => queryPg(pg, sql))
              assert.deepStrictEqual([count(rows), Number(rows[0]!["v"])], [n, sum])
            }
          })
        yield* expectRows(5_000)
        // The same file rewritten with 7 more bars (one rename, as a live commit): DuckDB (tables)
        // loads it whole, PostgreSQL only the 7 rows that are not in the version it loaded.
        yield* Effect.promise(() => lake(root, 1, bars(5_007)))
        const second = yield* loader.round(DATE).pipe(Effect.provide(rec.layer))
        assert.deepStrictEqual(
          second.map((r) => [r.sink, r.error, r.rows]),
          sinks.map((s) => [s, undefined, s === "postgres" ? 7 : 5_007])
        )
        yield* expectRows(5_007)
        assert.deepStrictEqual(rec.alerts, [])
      }),
    60_000
  )

  it.live(
    "a crashing worker raises sink_live_load; the next round loads the files and resolves it",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("sink-worker-crash-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({ storage: { root }, sinks: { enabled: ["duckdb"] } })
        )
        yield* Effect.promise(() => lake(root, 1, bars(100)))
        let script: URL = yield* Effect.promise(() => badScript(root, "crash.mjs", "process.exit(7)"))
        const rec = recorder()
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: ["duckdb"],
          feeds: ["spy"],
          acquire: (sink) => SinkWorker.acquire({ settings, sink, script })
        })
        const first = yield* loader.round(DATE).pipe(Effect.provide(rec.layer))
        assert.include(first[0]!.error ?? "", "sink worker exited (code 7)")
        assert.deepStrictEqual(
          rec.alerts.map((a) => [a.kind, a.details["source"]]),
          [[ALERT_KIND, "duckdb"]]
        )
        assert.deepStrictEqual((yield* loader.status).loaded, { duckdb: { spy: [] } }) // nothing loaded
        script = SCRIPT
        const second = yield* loader.round(DATE).pipe(Effect.provide(rec.layer))
        assert.deepStrictEqual(
          second.map((r) => [r.sink, r.error, r.loaded.spy?.map((f) => path.basename(f))]),
          [["duckdb", undefined, ["live-000001.parquet"]]]
        )
        assert.strictEqual(
          count(yield* Effect.promise(() => queryDuck(root, `SELECT COUNT(*) AS n FROM spy_bars`))),
          100
        )
        assert.deepStrictEqual(rec.resolved, [{ kind: ALERT_KIND, source: "duckdb" }])
      }),
    60_000
  )

  it.live(
    "stopping a round whose worker ignores stop ends within the grace plus terminate (real time)",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("sink-worker-hang-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({ storage: { root }, sinks: { enabled: ["duckdb"] } })
        )
        yield* Effect.promise(() => lake(root, 1, bars(10)))
        const script = yield* Effect.promise(() => badScript(root, "hang.mjs", "for (;;) {}"))
        const rec = recorder()
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: ["duckdb"],
          feeds: ["spy"],
          acquire: (sink) => SinkWorker.acquire({ settings, sink, script, stopGraceMs: 500 })
        })
        const fiber = yield* Effect.fork(loader.round(DATE).pipe(Effect.provide(rec.layer)))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 500))) // the worker is now spinning in its load
        const t0 = Date.now()
        yield* Fiber.interrupt(fiber)
        const took = Date.now() - t0
        assert.isAtLeast(took, 450) // it was asked to stop, waited the grace, then terminated
        assert.isBelow(took, 3_000)
        assert.deepStrictEqual(rec.alerts, [])
      }),
    60_000
  )

  it.live(
    "a worker busy in a DuckDB query when its grace ends is abandoned, not terminated, and ends by itself",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("sink-worker-busy-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({ storage: { root }, sinks: { enabled: ["duckdb"] } })
        )
        yield* Effect.promise(() => lake(root, 1, bars(10)))
        const script = yield* Effect.promise(() => busyScript(root))
        const loader = make({
          root,
          intervalMs: 60_000,
          sinks: ["duckdb"],
          feeds: ["spy"],
          acquire: (sink) => SinkWorker.acquire({ settings, sink, script, stopGraceMs: 300 })
        })
        const fiber = yield* Effect.fork(loader.round(DATE).pipe(Effect.provide(recorder().layer)))
        // the query runs (a loaded machine can take seconds to start the worker and its DuckDB)
        yield* Effect.promise(() =>
          waitFor(
            () =>
              fs.access(path.join(root, "started")).then(
                () => true,
                () => false
              ),
            30_000
          )
        )
        const t0 = Date.now()
        yield* Fiber.interrupt(fiber)
        const took = Date.now() - t0
        assert.isAtLeast(took, 250)
        assert.isBelow(took, 2_500) // the grace, not the query (3 s or more): the release did not wait for it
        assert.deepStrictEqual(abandonedThreads(), ["duckdb sink worker"])
        // the query ends, and then the thread exits by itself (a deadlocked teardown never would)
        const deadline = Date.now() + 30_000
        while (abandonedThreads().length > 0 && Date.now() < deadline)
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
        assert.deepStrictEqual(abandonedThreads(), [])
      }),
    60_000
  )
})
