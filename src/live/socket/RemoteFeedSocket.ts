/**
 * FeedSocket for `live --cluster` (issue 17): each connection the live program asks for is streamed
 * by a cluster runner (the `LiveShard` entity, src/services/cluster/LiveShard.ts), not here. `run`
 * sends the shard's persisted `Stream` message and, for as long as it lives, relays the shard's
 * journal files into the feed journal (src/live/journal/shardRelay.ts), so the writers, gap repair
 * and checkpoints work as with local sockets. When it is interrupted (stop, close, the day's tail)
 * it writes the session's stop file, waits for the shard's reply (its last frames are then in its
 * file), and relays what is left.
 *
 * A session is one coordinator run: the first `run` of a date stops the shards of the date's
 * previous session (a coordinator killed earlier), whose `Stream` messages then end before this
 * session's are taken (one message at a time per shard entity).
 */
import { Clock, Duration, Effect, Fiber, Layer } from "effect"
import * as fs from "node:fs"
import { nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { AppSettings } from "../../services/AppSettings.js"
import { LiveShard, sessionDir, shardEntityId, shardJournalDir, stopFile } from "../../services/cluster/LiveShard.js"
import { positionsFile, readPositions, relayOnce, savePositions } from "../journal/shardRelay.js"
import { LiveTelemetry } from "../telemetry.js"
import { FeedSocket } from "./FeedSocket.js"
import type { ConnectionSpec } from "./sharding.js"
import type { JournalHandle } from "../journal/Journal.js"

const realClock = Clock.make()
const realSleep = (ms: number) => Effect.withClock(Effect.sleep(Duration.millis(ms)), realClock)
const RELAY_EVERY_MS = 50
const SAVE_EVERY_MS = 1_000
/** How long a stopping run waits for its shard's reply before relaying what is there. */
const STOP_WAIT_MS = 8_000

export interface RemoteOptions {
  /** The simulated clock's speed when `live` runs on one (`--clock-start`), else undefined. */
  readonly simulatedSpeed: number | undefined
  readonly feedDelayMs: number
}

/** The date's session files: stop the previous session's shards, record this one. */
const beginSession = (root: string, date: string, session: string) =>
  Effect.sync(() => {
    const dir = sessionDir(root, date)
    fs.mkdirSync(dir, { recursive: true })
    const current = `${dir}/current.json`
    try {
      const previous = (JSON.parse(fs.readFileSync(current, "utf8")) as { session: string }).session
      if (previous !== session) fs.writeFileSync(stopFile(root, date, previous), "{}")
    } catch {
      // no earlier session today
    }
    fs.writeFileSync(current, JSON.stringify({ session, pid: process.pid }))
  })

export const layer = (options: RemoteOptions) =>
  Layer.effect(
    FeedSocket,
    Effect.gen(function* () {
      const settings = yield* AppSettings
      const telemetry = yield* LiveTelemetry
      const client = yield* LiveShard.client
      const root = settings.storage.root
      const wall = yield* realClock.currentTimeMillis
      const session = `${new Date(wall).toISOString().replace(/[-:.]/g, "")}-${process.pid}`
      const dateNow = Effect.map(Clock.currentTimeMillis, (ms) => nyDateOf(ms - options.feedDelayMs))
      const started = new Set<string>()

      const run = (spec: ConnectionSpec, journal: JournalHandle) =>
        Effect.gen(function* () {
          const date = yield* dateNow
          if (!started.has(date)) {
            started.add(date)
            yield* beginSession(root, date, session)
            yield* Effect.logInfo(`live --cluster: session ${session}; the runners stream the sockets`)
          }
          const now = yield* Clock.currentTimeMillis
          const reply = yield* client(shardEntityId(date, spec.id))
            .Stream({
              session,
              date,
              connection: spec.id,
              cluster: spec.cluster,
              feed: spec.feed,
              params: spec.params,
              tickers: spec.tickers,
              // a bound for a shard whose coordinator is gone: the end of an extended session
              untilMs: nyTimeMs(date, 20, 0) + options.feedDelayMs,
              clock:
                options.simulatedSpeed === undefined
                  ? undefined
                  : { simMs: now, wallMs: yield* realClock.currentTimeMillis, speed: options.simulatedSpeed }
            })
            .pipe(
              Effect.tap((r) => Effect.logInfo(`Shard ${spec.id} ended on ${r.runner}: ${r.frames} frames`)),
              Effect.tapError((e) => Effect.logError(`Shard ${spec.id}: ${e.message}`)),
              Effect.ignore,
              Effect.forkScoped
            )
          const dir = shardJournalDir(root, date, spec.id)
          const posFile = positionsFile(sessionDir(root, date), spec.id)
          const positions = readPositions(posFile)
          let savedAt = 0
          let connected = false
          const pass = (force: boolean, untilMs?: number): Effect.Effect<boolean> =>
            Effect.gen(function* () {
              const moved = relayOnce(dir, positions, journal, untilMs)
              if (!connected && moved.markers > 0) {
                connected = true
                yield* telemetry.connection(spec.feed, "connected")
              }
              const t = yield* realClock.currentTimeMillis
              if (moved.frames + moved.markers > 0 && (force || t - savedAt >= SAVE_EVERY_MS)) {
                yield* journal.sync // the lines are readable (durable with fsync: batch) before the positions move
                savePositions(posFile, positions)
                savedAt = t
              }
              if (force) {
                yield* journal.sync
                savePositions(posFile, positions)
              }
              return moved.more
            })
          // the session's sockets end at one instant, the first stop of the session (as one process's do)
          yield* Effect.addFinalizer(() =>
            Effect.gen(function* () {
              const stopMs = yield* Clock.currentTimeMillis
              const stop = stopFile(root, date, session)
              const untilMs = yield* Effect.sync(() => {
                if (!fs.existsSync(stop)) fs.writeFileSync(stop, JSON.stringify({ atMs: stopMs }))
                return (JSON.parse(fs.readFileSync(stop, "utf8")) as { atMs: number }).atMs
              })
              yield* Fiber.join(reply).pipe(
                Effect.timeout(Duration.millis(STOP_WAIT_MS)),
                Effect.ignore,
                Effect.withClock(realClock)
              )
              while (yield* pass(true, untilMs)) yield* Effect.yieldNow()
            })
          )
          for (;;) {
            // catching up (a budget-sized slice relayed, more waiting): the next slice at once, after the journal's write
            if (yield* pass(false)) yield* journal.sync
            else yield* realSleep(RELAY_EVERY_MS)
          }
        }).pipe(Effect.scoped)

      return { run }
    })
  )
