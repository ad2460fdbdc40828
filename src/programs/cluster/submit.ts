/**
 * `backfill --cluster` (issue 17): the range's trading dates sent as persisted `Run` messages to
 * the `BackfillDay` entity (one entity per date, spread over the runners by shard), waiting for
 * every reply; then, here and one date at a time, the configured sinks and the consolidated view
 * (the runners write only the lake). A runner killed mid-date loses nothing: its shards move to the
 * others, which read the unprocessed message from storage and run the date again (its finished
 * units are skipped by their checkpoints).
 */
import { Clock, Data, Effect, Either } from "effect"
import { AppSettings } from "../../services/AppSettings.js"
import { BackfillDay, type UnitResult } from "../../services/cluster/BackfillUnit.js"
import { SinkRouter } from "../../services/sinks/SinkRouter.js"
import { type BackfillOptions, type BackfillSummary, planBackfill } from "../backfill.js"
import { type DaySummary, loadDay } from "../backfill/day.js"

export class ClusterBackfillError extends Data.TaggedError("ClusterBackfillError")<{ readonly message: string }> {}

export interface ClusterBackfillOptions extends BackfillOptions {
  /** Names this submission's messages (default: time and pid); the same id and date is the same unit. */
  readonly runId?: string | undefined
}

const describe = (e: unknown) =>
  typeof e === "object" && e !== null && "message" in e
    ? `${"_tag" in e ? `${String(e._tag)}: ` : ""}${String(e.message)}`
    : String(e)

export const clusterBackfillProgram = (options: ClusterBackfillOptions) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const settings = yield* AppSettings
    const { feeds, run, dates, skippedDates } = yield* planBackfill(options)
    const runId = options.runId ?? `${new Date(startedAt).toISOString().replace(/[-:.]/g, "")}-${process.pid}`
    yield* Effect.logInfo(
      `Cluster backfill ${options.startDate}..${options.endDate} (run ${runId}): ${dates.length} unit(s), one per trading day, feeds ${[...feeds].join(",")}${run.overwrite ? ", overwrite" : ""}`
    )
    const client = yield* BackfillDay.client
    let done = 0
    const results = yield* Effect.forEach(
      dates,
      (date) =>
        client(date)
          .Run({ runId, date, feeds: [...feeds], overwrite: run.overwrite })
          .pipe(
            Effect.tap((r: UnitResult) =>
              Effect.logInfo(
                `Unit ${date} done by runner ${r.runner} (pid ${r.pid}), ${r.fetched ? "fetched" : "already in the lake"} (${++done}/${dates.length})`
              )
            ),
            Effect.either
          ),
      { concurrency: "unbounded" }
    )
    const failed = results.flatMap((r, i) => (Either.isLeft(r) ? [`${dates[i]}: ${describe(r.left)}`] : []))
    if (failed.length > 0)
      return yield* new ClusterBackfillError({
        message: `${failed.length} of ${dates.length} unit(s) failed (the others are in the lake; run again to retry): ${failed.join("; ")}`
      })
    const units = results.flatMap((r) => (Either.isRight(r) ? [r.right] : []))
    // The sinks have one writer: this process, in date order, once every date is in the lake.
    const sinks = yield* Effect.serviceOption(SinkRouter)
    const days: Array<DaySummary> = []
    for (const u of units) {
      const summary: DaySummary = {
        date: u.date,
        rows: u.rows,
        quarantined: u.quarantined,
        outsideSession: u.outsideSession
      }
      days.push(
        yield* loadDay(
          { run, feeds, resume: options.resume ?? false },
          sinks,
          { summary, fetched: u.fetched },
          Effect.void
        )
      )
    }
    const runners = new Set(units.map((u) => u.runner))
    yield* Effect.logInfo(`Cluster backfill (run ${runId}): ${units.length} unit(s) done by ${runners.size} runner(s)`)
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    return { days, skippedDates, elapsedMs, root: settings.storage.root } satisfies BackfillSummary
  })
