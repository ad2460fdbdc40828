/**
 * `runner` (issue 17): this process joins the cluster as a runner (src/layers/Cluster.ts) and
 * serves the `BackfillDay` entity: each `Run` message is one trading date fetched into the shared
 * lake by the single-process code (`fetchDay`, every unit skipped when its checkpoint says it is
 * done), at most `cluster.units_per_runner` dates at a time. Sinks are not loaded here: the
 * submitting `backfill --cluster` loads them, one writer, once every date is in the lake.
 */
import { Cause, Clock, Effect, Layer } from "effect"
import { sessionFilterFor } from "../../domain/sessionFilter.js"
import * as Inflight from "../../lib/inflight.js"
import { BackfillLayer } from "../../layers/Backfill.js"
import { RunnerLayer, runnerName } from "../../layers/Cluster.js"
import { AppSettings } from "../../services/AppSettings.js"
import { BackfillDay, UnitFailed, UnitResult } from "../../services/cluster/BackfillUnit.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { calendarFor, fetchDay } from "../backfill/day.js"
import type { BackfillRun } from "../backfill/run.js"
import { appendUnitEvent } from "./units.js"

interface UnitRequest {
  readonly runId: string
  readonly date: string
  readonly feeds: ReadonlyArray<"spy" | "options" | "vix" | "news">
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

/** One date on this runner: the day's units into the lake, then its record line. */
const runDate = (req: UnitRequest) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const runner = runnerName(settings)
    const root = settings.storage.root
    const startedAt = yield* Clock.currentTimeMillis
    const event = { runId: req.runId, date: req.date, runner, pid: process.pid }
    yield* appendUnitEvent(root, { ...event, event: "started" })
    yield* Effect.logInfo(`Unit ${req.date} (run ${req.runId}) started on runner ${runner}`)
    const holidays = yield* calendarFor(yield* PolygonRest, req.date, req.date)
    const run: BackfillRun = { overwrite: req.overwrite, inSession: sessionFilterFor(settings.session.hours, holidays) }
    const day = yield* fetchDay({ run, feeds: new Set(req.feeds), holidays, unitDone: () => Effect.void }, req.date)
    const rows = Object.fromEntries(Object.entries(day.summary.rows).filter(([, n]) => n !== undefined)) as Record<
      string,
      number
    >
    const total = Object.values(rows).reduce((a, b) => a + b, 0)
    yield* appendUnitEvent(root, { ...event, event: "completed", fetched: day.fetched, rows: total })
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    yield* Effect.logInfo(
      `Unit ${req.date} (run ${req.runId}) completed on runner ${runner}: ${total} rows${day.fetched ? "" : " (already in the lake)"} in ${(elapsedMs / 1000).toFixed(1)} s`
    )
    return new UnitResult({
      date: req.date,
      rows,
      quarantined: day.summary.quarantined,
      outsideSession: day.summary.outsideSession,
      fetched: day.fetched,
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
            const text = message(cause)
            yield* Effect.logError(`Unit ${req.date} (run ${req.runId}) failed on runner ${runner}: ${text}`)
            yield* Effect.ignore(
              appendUnitEvent(settings.storage.root, {
                event: "failed",
                runId: req.runId,
                date: req.date,
                runner,
                pid: process.pid
              })
            )
            return yield* new UnitFailed({ date: req.date, runner, message: text })
          })
    )
  )

/**
 * The BackfillDay entity's handlers on this runner, sharing one limit of dates at a time. Once the
 * runner stops (SIGINT/SIGTERM), a date still waiting for a permit never starts: the cluster's
 * shutdown interrupts it with the running ones (after `entityTerminationTimeout`), and an
 * interrupted persisted message stays unprocessed for the runner that takes the shard next.
 */
export const BackfillDayHandlers = Layer.unwrapScoped(
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const permits = yield* Effect.makeSemaphore(Math.max(1, settings.cluster.unitsPerRunner))
    let stopping = false
    // released before the cluster's layers (they were built first), so before the shutdown interrupts;
    // the `stopping` line says from where on in the record this runner starts no date
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => (stopping = true)).pipe(
        Effect.zipRight(
          Effect.ignore(
            appendUnitEvent(settings.storage.root, {
              event: "stopping",
              runId: "",
              date: "",
              runner: runnerName(settings),
              pid: process.pid
            })
          )
        )
      )
    )
    return BackfillDay.toLayer(
      BackfillDay.of({
        Run: (envelope) =>
          permits.withPermits(1)(
            Effect.suspend(() =>
              stopping
                ? Effect.never
                : Inflight.track(`cluster unit ${envelope.payload.date}`)(runDate(envelope.payload))
            )
          )
      }),
      { concurrency: 1 }
    )
  })
)

/** A runner until it is stopped (SIGINT/SIGTERM hand its shards over; SIGKILL leaves them to the others). */
export const runnerProgram = Effect.gen(function* () {
  const settings = yield* AppSettings
  yield* Effect.logInfo(
    `Runner ${runnerName(settings)} joining the cluster (lake ${settings.storage.root}, ${settings.cluster.unitsPerRunner} unit(s) at a time)`
  )
  return yield* Layer.launch(BackfillDayHandlers.pipe(Layer.provide(RunnerLayer), Layer.provide(BackfillLayer)))
})
