/**
 * `runner` (issue 17): this process joins the cluster as a runner (src/layers/Cluster.ts) and
 * serves the `BackfillUnit` entity: each `Run` message is one unit, a ticker's part of a lake
 * partition (underlying or index × feed × date), fetched into the shared lake by the single-process
 * code (`fetchFeed` for that ticker, skipped when its checkpoint says it is done), at most
 * `cluster.units_per_runner` units at a time (a partition's units one at a time: one entity), and
 * serves the `LiveShard` entity (liveShard.ts). Sinks are not loaded here: the submitting `backfill --cluster` loads them, one writer,
 * once every unit of a date is in the lake.
 */
import { Cause, Clock, Effect, Layer } from "effect"
import { sessionFilterFor } from "../../domain/sessionFilter.js"
import * as Inflight from "../../lib/inflight.js"
import { BackfillLayer } from "../../layers/Backfill.js"
import { RunnerLayer, runnerName } from "../../layers/Cluster.js"
import { AppSettings } from "../../services/AppSettings.js"
import { BackfillUnit, UnitFailed, type UnitFeed, UnitResult, unitKey } from "../../services/cluster/BackfillUnit.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { calendarFor, fetchFeed } from "../backfill/day.js"
import type { BackfillRun } from "../backfill/run.js"
import { LiveShardHandlers } from "./liveShard.js"
import { appendUnitEvent } from "./units.js"

type Holidays = Effect.Effect.Success<ReturnType<typeof calendarFor>>
type CalendarError = Effect.Effect.Error<ReturnType<typeof calendarFor>>

interface UnitRequest {
  readonly runId: string
  readonly date: string
  readonly feed: UnitFeed
  readonly ticker: string
  readonly overwrite: boolean
}

const message = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value
    if (typeof e === "object" && e !== null && "message" in e) {
      const tag = "_tag" in e ? `${String(e._tag)}: ` : ""
      return `${tag}${String(e.message)}`
    }
    return String(e)
  }
  return Cause.pretty(cause)
}

/** One unit on this runner: its partition into the lake, then its record line. */
const runOne = (req: UnitRequest, calendar: (year: string) => Effect.Effect<Holidays, CalendarError>) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const runner = runnerName(settings)
    const root = settings.storage.root
    const unit = unitKey(req.feed, req.date, req.ticker)
    const startedAt = yield* Clock.currentTimeMillis
    const event = { runId: req.runId, unit, date: req.date, feed: req.feed, runner, pid: process.pid }
    yield* appendUnitEvent(root, { ...event, event: "started" })
    yield* Effect.logInfo(`Unit ${unit} (run ${req.runId}) started on runner ${runner}`)
    const holidays = yield* calendar(req.date.slice(0, 4))
    const run: BackfillRun = { overwrite: req.overwrite, inSession: sessionFilterFor(settings.session.hours, holidays) }
    const ctx = { run, feeds: new Set([req.feed]), holidays, unitDone: () => Effect.void }
    const done = yield* fetchFeed(ctx, req.date, req.feed, req.ticker)
    const rows = Object.fromEntries(Object.entries(done.summary.rows).filter(([, n]) => n !== undefined)) as Record<
      string,
      number
    >
    const total = rows[req.feed] ?? 0
    yield* appendUnitEvent(root, { ...event, event: "completed", fetched: done.fetched, rows: total })
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    yield* Effect.logInfo(
      `Unit ${unit} (run ${req.runId}) completed on runner ${runner}: ${total} rows${done.fetched ? "" : " (already in the lake)"} in ${(elapsedMs / 1000).toFixed(1)} s`
    )
    return new UnitResult({
      unit,
      date: req.date,
      feed: req.feed,
      rows,
      quarantined: done.summary.quarantined,
      outsideSession: done.summary.outsideSession,
      fetched: done.fetched,
      runner,
      pid: process.pid,
      elapsedMs
    })
  }).pipe(
    // an interruption (shutdown, shard moved) leaves the message unprocessed: the cluster delivers it again
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.gen(function* () {
            const settings = yield* AppSettings
            const runner = runnerName(settings)
            const unit = unitKey(req.feed, req.date, req.ticker)
            const text = message(cause)
            yield* Effect.logError(`Unit ${unit} (run ${req.runId}) failed on runner ${runner}: ${text}`)
            yield* Effect.ignore(
              appendUnitEvent(settings.storage.root, {
                event: "failed",
                runId: req.runId,
                unit,
                date: req.date,
                feed: req.feed,
                runner,
                pid: process.pid
              })
            )
            return yield* new UnitFailed({ unit, date: req.date, runner, message: text })
          })
    )
  )

/**
 * The BackfillUnit entity's handlers on this runner, sharing one limit of units at a time. Once the
 * runner stops (SIGINT/SIGTERM), a unit still waiting for a permit never starts: the cluster's
 * shutdown interrupts it with the running ones (after `entityTerminationTimeout`), and an
 * interrupted persisted message stays unprocessed for the runner that takes the shard next.
 */
export const BackfillUnitHandlers = Layer.unwrapScoped(
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const permits = yield* Effect.makeSemaphore(Math.max(1, settings.cluster.unitsPerRunner))
    // the holidays of a year, fetched once per runner (not once per unit)
    const rest = yield* PolygonRest
    const calendar = yield* Effect.cachedFunction((year: string) => calendarFor(rest, `${year}-01-01`, `${year}-12-31`))
    let stopping = false
    // The `stopping` line says from where on in the record this runner starts no unit.
    const markStopping = Layer.scopedDiscard(
      Effect.addFinalizer(() =>
        Effect.sync(() => (stopping = true)).pipe(
          Effect.zipRight(
            Effect.ignore(
              appendUnitEvent(settings.storage.root, {
                event: "stopping",
                runId: "",
                unit: "",
                date: "",
                runner: runnerName(settings),
                pid: process.pid
              })
            )
          )
        )
      )
    )
    // Built after the entity's registration, so released before it: releasing the registration
    // waits while the entity's queued units go on starting (a stop measured at 4.1 s ran every
    // remaining unit of a run first), so `stopping` must already be set by then.
    const handlers = BackfillUnit.toLayer(
      BackfillUnit.of({
        Run: (envelope) =>
          permits.withPermits(1)(
            Effect.suspend(() =>
              stopping
                ? Effect.never
                : Inflight.track(
                    `cluster unit ${unitKey(envelope.payload.feed, envelope.payload.date, envelope.payload.ticker)}`
                  )(runOne(envelope.payload, calendar))
            )
          )
      }),
      { concurrency: 1 }
    )
    return markStopping.pipe(Layer.provideMerge(handlers))
  })
)

/** A runner until it is stopped (SIGINT/SIGTERM hand its shards over; SIGKILL leaves them to the others). */
export const runnerProgram = Effect.gen(function* () {
  const settings = yield* AppSettings
  yield* Effect.logInfo(
    `Runner ${runnerName(settings)} joining the cluster (lake ${settings.storage.root}, ${settings.cluster.unitsPerRunner} unit(s) at a time)`
  )
  return yield* Layer.launch(
    Layer.merge(BackfillUnitHandlers, LiveShardHandlers).pipe(Layer.provide(RunnerLayer), Layer.provide(BackfillLayer))
  )
})
