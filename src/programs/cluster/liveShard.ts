/**
 * The `LiveShard` entity on a runner (issue 17, distributed live): a `Stream` message keeps one
 * WebSocket connection (src/live/socket/FeedSocket.ts, the single-process code: auth, subscribe,
 * watchdogs, reconnects with their journal markers) open on this runner, journaling every frame into
 * a file of this incarnation's own under `journal/shards/<date>/<connection>/`, until the session's
 * stop file appears or the stop time passes. The coordinator (`live --cluster`) relays the files.
 * A runner stopped (SIGTERM) or killed leaves the message unprocessed: another runner streams the
 * shard next, in a new file.
 */
import { Cause, Clock, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { apiKeyOf } from "../../config/Settings.js"
import { runnerName } from "../../layers/Cluster.js"
import * as Journal from "../../live/journal/Journal.js"
import * as FeedSocket from "../../live/socket/FeedSocket.js"
import { LiveTelemetry, logOnly } from "../../live/telemetry.js"
import { AppSettings } from "../../services/AppSettings.js"
import {
  LiveShard,
  ShardFailed,
  ShardResult,
  type Stream,
  shardJournalDir,
  stopFile
} from "../../services/cluster/LiveShard.js"
import { simulatedClock } from "../../services/MarketClock.js"
import { BUILTIN } from "../../layers/Polygon.js"
import { appendUnitEvent } from "./units.js"

type StreamRequest = typeof Stream.payloadSchema.Type

const realClock = Clock.make()
const STOP_POLL = Duration.millis(250)

/** Ends when the session's stop file exists or the shard's clock reaches `untilMs`. */
const stopped = (file: string, untilMs: number) =>
  Effect.gen(function* () {
    for (;;) {
      if (fs.existsSync(file) || (yield* Clock.currentTimeMillis) >= untilMs) return
      yield* Effect.withClock(Effect.sleep(STOP_POLL), realClock)
    }
  })

/** The shard's clock: the coordinator's simulated one, carried forward to now, or the wall clock. */
const clockOf = (req: StreamRequest): Clock.Clock =>
  req.clock === undefined
    ? realClock
    : simulatedClock(req.clock.simMs + (Date.now() - req.clock.wallMs) * req.clock.speed, req.clock.speed)

const streamShard = (req: StreamRequest, runner: string) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const root = settings.storage.root
    const key = apiKeyOf(settings)
    if (settings.polygon.wsUrl === BUILTIN || Option.isNone(key))
      return yield* new ShardFailed({
        connection: req.connection,
        runner,
        message:
          "a runner streams from polygon.ws_url with POLYGON_API_KEY (the built-in simulator lives in one process: run `simulate` and point every process at it)"
      })
    const startMs = yield* Clock.currentTimeMillis
    const file = path.join(
      shardJournalDir(root, req.date, req.connection),
      `${String(startMs).padStart(15, "0")}-${process.pid}.ndjson`
    )
    const journal = yield* Journal.openFile(file, { fsync: settings.journal.fsync })
    let frames = 0
    const counted: Journal.JournalHandle = {
      ...journal,
      append: (raw, ms) => {
        frames++
        journal.append(raw, ms)
      }
    }
    const speed = req.clock?.speed ?? 1
    const endpoint = { baseUrl: settings.polygon.wsUrl, apiKey: Redacted.value(key.value.key) }
    const socket = yield* FeedSocket.make(FeedSocket.configOf(settings, endpoint, speed))
    const event = { runId: req.session, unit: `live/${req.date}/${req.connection}`, date: req.date, feed: req.feed }
    yield* appendUnitEvent(root, { ...event, event: "started", runner, pid: process.pid })
    yield* Effect.logInfo(`Shard ${req.connection} (${req.tickers.length} tickers) streaming on ${runner} into ${file}`)
    const spec = { id: req.connection, cluster: req.cluster, feed: req.feed, params: req.params, tickers: req.tickers }
    yield* Effect.raceFirst(socket.run(spec, counted), stopped(stopFile(root, req.date, req.session), req.untilMs))
    yield* journal.sync
    yield* appendUnitEvent(root, { ...event, event: "completed", runner, pid: process.pid, rows: frames })
    yield* Effect.logInfo(`Shard ${req.connection} stopped on ${runner}: ${frames} frames`)
    return new ShardResult({ connection: req.connection, runner, pid: process.pid, frames, file })
  }).pipe(
    Effect.scoped,
    Effect.withClock(clockOf(req)),
    Effect.provide(Layer.merge(FeedSocket.layerWs, Layer.succeed(LiveTelemetry, logOnly))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>) // shutdown or shard moved: delivered again elsewhere
        : Cause.failureOption(cause).pipe(
            Option.filter((e): e is ShardFailed => e instanceof ShardFailed),
            Option.match({
              onSome: (e) => Effect.fail(e),
              onNone: () =>
                Effect.fail(new ShardFailed({ connection: req.connection, runner, message: Cause.pretty(cause) }))
            })
          )
    )
  )

/** The LiveShard entity's handlers on this runner (one message at a time per shard). */
export const LiveShardHandlers = Layer.unwrapEffect(
  Effect.gen(function* () {
    const runner = runnerName(yield* AppSettings)
    return LiveShard.toLayer(LiveShard.of({ Stream: (envelope) => streamShard(envelope.payload, runner) }), {
      concurrency: 1
    })
  })
)
