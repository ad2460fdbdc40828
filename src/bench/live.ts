/**
 * Bench: the live path end to end against the simulator at `--speed max` in a separate process.
 *
 * `node dist/main.js simulate --port P --seed S --start 2025-10-28T09:29:59-04:00 --speed max`
 * replays the day as fast as this process reads. In this process, per feed (SPY on /stocks,
 * I:VIX on /indices, N option contracts on /options, 100 per connection): FeedSocket (ws) →
 * Journal (bytes appended before anything else) → LiveWriter (decode, validate, batch) → Parquet
 * committed + checkpoint, every `--flush-s` (default 5, as config) or 50,000 rows; gap repair over
 * REST is wired (PolygonRestLive against the simulator). It runs until every bar of the first
 * session is durable (committed rows = the session's bars; a bar a connection missed would come
 * back by gap repair), then drains the writers and checks the lake against the truth (liveTruth.ts).
 *
 * Printed: sustained events/s (session events / time from the first data frame received to the
 * last session row durable), p50/p99 receipt-to-durable latency (per frame: journal receipt time →
 * commit of the batch that contains it, as LiveTelemetry.commit reports it), peak RSS (sampled
 * every 100 ms and the process maximum, before the checks), and the JSON.parse-only rate over the
 * same frames (read back from the journals) as the ceiling; the load average alongside. At max speed
 * (a session's bars in seconds) this is the burst case, and peak RSS the burst figure.
 *
 * Run: `npm run bench:live [-- --port 8792 --seed 42 --options 100 --flush-s 5 --max-rows 50000]`
 * (`--speed K`: paced at K times real time, one frame per connection and simulated second, for the
 * latency of a path that keeps up; `--options 1160`: every contract of the day; `--underlyings SPY,QQQ,IWM`: each with its own
 * `--options` contracts, 2,620 in all with 1160; `--fsync batch`: journals fdatasynced as in
 * `journal.fsync: batch`; `--keep` keeps the data directory; `--debug` prints memory every 100 ms
 * and CPU per thread; `--heap-snapshot-at-mb N` writes one V8 heap snapshot once RSS reaches N MB).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Fiber, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as v8 from "node:v8"
import { nyTimeMs } from "../domain/calendar.js"
import { SPY, VIX } from "../domain/tickers.js"
import * as Journal from "../live/journal/Journal.js"
import * as LiveWriter from "../live/writer/LiveWriter.js"
import { connectionsFor } from "../live/socket/sharding.js"
import { recorder } from "../live/telemetry.js"
import type { LiveFeed } from "../live/writer/wsRows.js"
import { layerWs, runConnection } from "../live/socket/FeedSocket.js"
import * as ParquetWriter from "../services/ParquetWriter.js"
import { lakeWriterDuckDb } from "../layers/Backfill.js"
import { PolygonRest } from "../services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../services/polygon/PolygonRestLive.js"
import * as SchemaDrift from "../services/SchemaDrift.js"
import { checkLake, isExact, sessionPlan } from "./liveTruth.js"
import { startSimulatorProcess } from "./simulatorProcess.js"
import { cpuSecondsOf, loadAverage, percentile } from "./measure.js"

const DATE = "2025-10-28"
const START = `${DATE}T09:29:59-04:00`
const OPEN = nyTimeMs(DATE, 9, 30)
const CLOSE = nyTimeMs(DATE, 16, 0)

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const port = Number(arg("port") ?? 8792)
const seed = Number(arg("seed") ?? 42)
const nOptions = Number(arg("options") ?? 100)
const underlyings = (arg("underlyings") ?? SPY).split(",") // e.g. SPY,QQQ,IWM: more events than one chain has
const debug = process.argv.includes("--debug")
const heapSnapshotAtMb = arg("heap-snapshot-at-mb")
const flushS = Number(arg("flush-s") ?? 5)
const maxRows = Number(arg("max-rows") ?? 50_000)
const maxSeconds = Number(arg("max-seconds") ?? 300)
// "max": the simulator sends as fast as this process reads, so the latency is the backlog.
const speed = arg("speed") ?? "max"
/** `--fsync batch`: journals with group-committed fdatasync (journal.fsync), default none. */
const fsyncMode: Journal.FsyncMode = arg("fsync") === "batch" ? "batch" : "none"

const pct = percentile
const load = () => loadAverage()
const DATA = Buffer.from('"ev":"A"', "latin1")

/** CPU seconds per thread of this process (debugging: `--debug`). */
const threadCpu = (): Map<string, number> => {
  const out = new Map<string, number>()
  for (const t of fs.readdirSync("/proc/self/task"))
    out.set(t === String(process.pid) ? "main" : t, cpuSecondsOf(`/proc/self/task/${t}/stat`))
  return out
}
let threadsAtFirst: Map<string, number> | undefined

/** CPU seconds (user + system) of a process, from /proc (Linux; NaN elsewhere). */
const cpuOf = (pid: number | undefined): number => cpuSecondsOf(`/proc/${pid}/stat`)

const main = async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-live-"))
  const plan = sessionPlan(seed, DATE, nOptions, root, underlyings)
  const expected = plan.counts.spy + plan.counts.vix + plan.counts.options
  const loadBefore = load()
  // The replay stops at the session close, so only the measured session flows. The account's
  // connection limit is raised to the connections the options need (100 subscriptions each).
  const optionConnections = Math.ceil(plan.options.length / 100)
  const faults = { ws: { replayUntilMs: CLOSE, maxConnectionsPerCluster: Math.max(10, optionConnections) } }
  const sim = await startSimulatorProcess(port, [
    "--seed",
    String(seed),
    "--start",
    START,
    "--speed",
    speed,
    "--faults",
    JSON.stringify(faults)
  ])
  const rec = recorder()
  const rest = Layer.scoped(
    PolygonRest,
    PolygonRestLive.make({
      baseUrl: sim.url,
      apiKey: Redacted.make("bench"),
      maxConcurrency: 4,
      pageLimit: 50_000,
      retry: {
        maxRetries: 3,
        baseDelayMs: 250,
        maxDelayMs: 10_000,
        jitter: true,
        requestTimeoutMs: 30_000,
        maxRetryAfterMs: 120_000
      }
    })
  ).pipe(Layer.provide(FetchHttpClient.layer))
  const layer = Layer.mergeAll(
    rest,
    ParquetWriter.layer.pipe(Layer.provideMerge(lakeWriterDuckDb)), // as `live` has it (layers/Backfill.ts)
    SchemaDrift.layer(root),
    layerWs,
    rec.layer
  )

  let peakSampled = 0
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    if (debug)
      console.error(
        `DBG mem rss=${(m.rss / 1e6).toFixed(0)} heap=${(m.heapUsed / 1e6).toFixed(0)}/${(m.heapTotal / 1e6).toFixed(0)} external=${(m.external / 1e6).toFixed(0)} arrayBuffers=${(m.arrayBuffers / 1e6).toFixed(0)} MB`
      )
    peakSampled = Math.max(peakSampled, m.rss)
    if (heapSnapshotAtMb !== undefined && m.rss / 1e6 >= Number(heapSnapshotAtMb) && !snapped) {
      snapped = true
      console.error(`DBG heap snapshot ${v8.writeHeapSnapshot()}`)
    }
  }, 100)
  let snapped = false
  const feeds: ReadonlyArray<readonly [LiveFeed, ReadonlyArray<string>]> = [
    ["spy", plan.underlyings],
    ["vix", [VIX]],
    ["options", plan.options]
  ]
  const socketCfg = {
    baseUrl: `ws://127.0.0.1:${port}`,
    apiKey: "bench",
    idleTimeoutMs: 30_000,
    reconnectBaseMs: 500,
    reconnectMaxMs: 30_000,
    maxConnectionsRetryMs: 60_000,
    maxConsecutiveFailures: 3
  }
  let firstData: number | undefined
  let cpuAtFirst: { live: NodeJS.CpuUsage; sim: number } | undefined

  const program = Effect.scoped(
    Effect.gen(function* () {
      const journals = new Map<LiveFeed, Journal.JournalHandle>()
      const writers: Array<LiveWriter.WriterHandle> = []
      for (const [feed] of feeds) {
        const opened = yield* Journal.open(root, feed, DATE, { fsync: fsyncMode })
        // The clock starts with the first frame that carries data.
        const journal: Journal.JournalHandle = {
          ...opened,
          append: (raw, ms) => {
            if (
              firstData === undefined &&
              typeof raw !== "string" &&
              Buffer.from(raw.buffer, raw.byteOffset, raw.length).indexOf(DATA) >= 0
            ) {
              firstData = performance.now()
              cpuAtFirst = { live: process.cpuUsage(), sim: cpuOf(sim.child.pid) }
              if (debug) threadsAtFirst = threadCpu()
            }
            opened.append(raw, ms)
          }
        }
        journals.set(feed, journal)
        writers.push(
          yield* LiveWriter.start({
            root,
            feed,
            date: DATE,
            openMs: OPEN,
            closeMs: CLOSE,
            journal,
            ev: "A",
            timespan: "second",
            flushIntervalMs: flushS * 1000,
            maxRows,
            graceSeconds: 0
          })
        )
      }
      const connect = ([feed, tickers]: readonly [LiveFeed, ReadonlyArray<string>]) =>
        Effect.forEach(connectionsFor(feed, tickers, "A", 100), (spec) =>
          Effect.forkScoped(runConnection(spec, socketCfg, journals.get(feed)!))
        )
      const journalBytes = () => [...journals.values()].reduce((n, j) => n + j.size(), 0)
      const deadline = Date.now() + maxSeconds * 1000
      // Every connection at once: at max speed the simulator holds the replay until the
      // subscriptions settle, so no second passes before a subscribe (a bar missed anyway would
      // come back by gap repair, and count).
      const sockets = (yield* Effect.forEach(feeds, connect)).flat()
      // Until every bar of the session is durable (committed rows; bars a late subscription missed come back by gap repair).
      while (rec.totals.rows < expected && Date.now() < deadline) yield* Effect.sleep("5 millis")
      const durable = performance.now()
      if (threadsAtFirst !== undefined) {
        const now = threadCpu()
        console.error(
          "DBG thread CPU s over the window",
          JSON.stringify(
            [...now]
              .map(([t, c]) => [t, +(c - (threadsAtFirst!.get(t) ?? 0)).toFixed(2)])
              .filter(([, c]) => (c as number) > 0)
          )
        )
      }
      const liveCpu = cpuAtFirst === undefined ? undefined : process.cpuUsage(cpuAtFirst.live)
      const cpu = {
        live: liveCpu === undefined ? NaN : (liveCpu.user + liveCpu.system) / 1e6,
        sim: cpuOf(sim.child.pid) - (cpuAtFirst?.sim ?? NaN)
      }
      const peakRss = Math.max(peakSampled, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024)
      const loadDuring = load()
      const bytes = journalBytes()
      yield* Effect.forEach(sockets, Fiber.interrupt, { discard: true })
      yield* Effect.forEach(writers, (w) => w.finish(), { discard: true, concurrency: "unbounded" })
      const finished = performance.now()
      return { durable, finished, bytes, peakRss, loadDuring, cpu }
    })
  ).pipe(Effect.provide(layer))

  const run = await Effect.runPromise(program)

  clearInterval(sampler)
  await sim.stop()
  const checks = await Effect.runPromise(checkLake(root, DATE, plan))

  // The ceiling: JSON.parse alone over the same frames, read back from the journals.
  const raws: Array<string> = []
  for (const [feed] of feeds) {
    const bytes = fs.readFileSync(Journal.journalFile(root, feed, DATE))
    for (let from = 0; from < bytes.length;) {
      const nl = bytes.indexOf(10, from)
      const e = Journal.decodeLine(bytes.subarray(from, nl))
      if (e._tag === "Frame") raws.push(Buffer.from(e.raw.buffer, e.raw.byteOffset, e.raw.length).toString("utf8"))
      from = nl + 1
    }
  }
  let parsedEvents = 0
  const p0 = performance.now()
  for (const raw of raws) {
    const v = JSON.parse(raw) as unknown
    if (Array.isArray(v)) parsedEvents += v.length
  }
  const parseS = (performance.now() - p0) / 1000

  const lat = rec.latencies
  const sustainedS = (run.durable - (firstData ?? run.durable)) / 1000
  const peakMb = Math.round(run.peakRss / 1e6)
  const p99 = pct(lat, 99)
  const exact = isExact(checks, plan)
  const rate = Math.round(expected / sustainedS)
  console.log(
    [
      `bench:live — simulator at --speed ${speed} (child process), live path in-process: ${plan.underlyings.join(" + ")} + I:VIX + ${plan.options.length} options, ${DATE} session, flush every ${flushS} s / ${maxRows.toLocaleString("en-US")} rows, journal fsync ${fsyncMode}`,
      `load average (1/5/15 min): ${loadBefore} before, ${run.loadDuring} at the end of the run (${os.cpus().length} cores)`,
      `session events: ${expected} (spy ${plan.counts.spy}, vix ${plan.counts.vix}, options ${plan.counts.options}); frames: ${rec.totals.frames}; journal ${Math.round(run.bytes / 1e6)} MB`,
      `sustained (first data frame received → last session row durable): ${rate} events/s over ${sustainedS.toFixed(2)} s; stop + final flush + compaction afterwards ${((run.finished - run.durable) / 1000).toFixed(1)} s`,
      `CPU per event over that time: live process ${((run.cpu.live / expected) * 1e6).toFixed(2)} µs (all its threads: sockets, journal, decoding, DuckDB), simulator ${((run.cpu.sim / expected) * 1e6).toFixed(2)} µs`,
      `receipt-to-durable latency per frame: p50 ${pct(lat, 50)} ms, p99 ${p99} ms, max ${pct(lat, 100)} ms (${lat.length} frames)`,
      `peak RSS: ${peakMb} MB`,
      `JSON.parse-only ceiling over the same ${raws.length} frames: ${Math.round(parsedEvents / parseS)} events/s (${parsedEvents} events in ${(parseS * 1000).toFixed(0)} ms)`,
      `lake vs ground truth: ${checks.map((c) => `${c.feed} ${c.rows} rows (${c.distinct} distinct, ${c.missingOrWrong} missing/wrong, ${c.spurious} spurious)`).join(", ")} — ${exact ? "exactly the session's bars, value for value" : "MISMATCH with the session's bars"}`,
      `targets: >= 200k events/s ${rate >= 200_000 ? "MET" : "NOT MET"}; p99 <= flush + 1 s (${flushS * 1000 + 1000} ms) ${p99 <= flushS * 1000 + 1000 ? "MET" : "NOT MET"}; peak RSS <= 400 MB ${peakMb <= 400 ? "MET" : "NOT MET"}`
    ].join("\n")
  )
  if (process.argv.includes("--keep")) console.log(`kept: ${root}`)
  else fs.rmSync(root, { recursive: true, force: true })
  if (!exact) process.exitCode = 1
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
