/**
 * `backfill --cluster` (issue 17): the range as units, one per lake partition (feed × date, key
 * `<feed>/<date>`), sent as persisted `Run` messages to the `BackfillUnit` entity (one entity per
 * unit key, spread over the runners by shard), waiting for every reply; then, here and one date at
 * a time once all of that date's units are done, the configured sinks and the consolidated view
 * (the runners write only the lake). A runner killed mid-unit loses nothing: its shards move to
 * the others, which read the unprocessed message from storage and run the unit again (its
 * finished tickers and contracts are skipped by their checkpoints).
 */
import { Clock, Data, Effect, Either } from "effect"
import { AppSettings } from "../../services/AppSettings.js"
import { BackfillUnit, type UnitResult, unitKey } from "../../services/cluster/BackfillUnit.js"
import { SinkRouter } from "../../services/sinks/SinkRouter.js"
import { type BackfillOptions, type BackfillSummary, planBackfill } from "../backfill.js"
import { type DaySummary, loadDay, mergeFetched } from "../backfill/day.js"
import { MARKET_FEEDS } from "../../domain/feeds.js"

export class ClusterBackfillError extends Data.TaggedError("ClusterBackfillError")<{ readonly message: string }> {}

export interface ClusterBackfillOptions extends BackfillOptions {
  /** Names this submission's messages (default: time and pid); the same id and unit key is the same unit. */
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
    const units = dates.flatMap((date) =>
      MARKET_FEEDS.filter((f) => feeds.has(f)).map((feed) => ({ date, feed, key: unitKey(feed, date) }))
    )
    yield* Effect.logInfo(
      `Cluster backfill ${options.startDate}..${options.endDate} (run ${runId}): ${units.length} unit(s), one per feed partition (${feeds.size} feed(s) × ${dates.length} trading day(s)), feeds ${[...feeds].join(",")}${run.overwrite ? ", overwrite" : ""}`
    )
    const client = yield* BackfillUnit.client
    let done = 0
    const left = new Map(dates.map((d) => [d, units.filter((u) => u.date === d).length]))
    const dateDone = (date: string) =>
      Effect.suspend(() => {
        left.set(date, left.get(date)! - 1)
        return left.get(date) === 0 ? Effect.logInfo(`Date ${date}: every unit in the lake`) : Effect.void
      })
    const results = yield* Effect.forEach(
      units,
      (u) =>
        client(u.key)
          .Run({ runId, date: u.date, feed: u.feed, overwrite: run.overwrite })
          .pipe(
            Effect.tap((r: UnitResult) =>
              Effect.logInfo(
                `Unit ${u.key} done by runner ${r.runner} (pid ${r.pid}), ${r.fetched ? "fetched" : "already in the lake"} (${++done}/${units.length})`
              ).pipe(Effect.zipRight(dateDone(u.date)))
            ),
            Effect.tapError((e) => Effect.logError(`Unit ${u.key} failed: ${describe(e)}`)),
            Effect.either
          ),
      { concurrency: "unbounded" }
    )
    const failed = results.flatMap((r, i) => (Either.isLeft(r) ? [`${units[i]!.key}: ${describe(r.left)}`] : []))
    if (failed.length > 0)
      return yield* new ClusterBackfillError({
        message: `${failed.length} of ${units.length} unit(s) failed (the others are in the lake; run again to retry): ${failed.join("; ")}`
      })
    const succeeded = results.flatMap((r) => (Either.isRight(r) ? [r.right] : []))
    // The sinks have one writer: this process, in date order, each date once all its units are in the lake.
    const sinks = yield* Effect.serviceOption(SinkRouter)
    const days: Array<DaySummary> = []
    for (const date of dates) {
      const day = mergeFetched(
        date,
        succeeded
          .filter((u) => u.date === date)
          .map((u) => ({
            summary: { date, rows: u.rows, quarantined: u.quarantined, outsideSession: u.outsideSession },
            fetched: u.fetched
          }))
      )
      days.push(yield* loadDay({ run, feeds, resume: options.resume ?? false }, sinks, day, Effect.void))
    }
    const runners = new Set(succeeded.map((u) => u.runner))
    yield* Effect.logInfo(
      `Cluster backfill (run ${runId}): ${succeeded.length} unit(s) done by ${runners.size} runner(s)`
    )
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    return { days, skippedDates, elapsedMs, root: settings.storage.root } satisfies BackfillSummary
  })
