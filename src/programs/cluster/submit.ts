/**
 * `backfill --cluster` (issue 17): the range as units, one per ticker of each lake partition
 * (underlying or index × feed × date, key `<feed>/<date>/<ticker>`), sent as persisted `Run`
 * messages to the `BackfillUnit` entity of their partition (`<feed>/<date>`, spread over the runners
 * by shard; a partition's units run one at a time), waiting for every reply; then (or, with
 * `cluster.overlap_sink_loads`, meanwhile, as soon as all of a date's units are done), here and one
 * date at a time in date order, the configured sinks and the consolidated view (the runners write
 * only the lake). A runner killed mid-unit loses nothing: its shards move to
 * the others, which read the unprocessed message from storage and run the unit again (its
 * finished tickers and contracts are skipped by their checkpoints).
 */
import { Clock, Data, Deferred, Effect, Either } from "effect"
import { AppSettings } from "../../services/AppSettings.js"
import {
  BackfillUnit,
  partitionKey,
  type UnitResult,
  unitKey,
  unitTickers
} from "../../services/cluster/BackfillUnit.js"
import { SinkRouter } from "../../services/sinks/SinkRouter.js"
import { type BackfillOptions, type BackfillSummary, planBackfill } from "../backfill.js"
import { loadDay, mergeFetched } from "../backfill/day.js"
import { MARKET_FEEDS } from "../../domain/feeds.js"
import { writeSubmission } from "./units.js"

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
    yield* writeSubmission(settings.storage.root, {
      runId,
      startDate: options.startDate,
      endDate: options.endDate,
      feeds: [...feeds],
      overwrite: run.overwrite
    })
    const units = dates.flatMap((date) =>
      MARKET_FEEDS.filter((f) => feeds.has(f)).flatMap((feed) =>
        unitTickers(settings, feed).map((ticker) => ({ date, feed, ticker, key: unitKey(feed, date, ticker) }))
      )
    )
    yield* Effect.logInfo(
      `Cluster backfill ${options.startDate}..${options.endDate} (run ${runId}): ${units.length} unit(s), one per ticker of each feed partition (${feeds.size} feed(s) × ${dates.length} trading day(s)), feeds ${[...feeds].join(",")}${run.overwrite ? ", overwrite" : ""}`
    )
    const client = yield* BackfillUnit.client
    let done = 0
    const byDate = new Map(
      dates.map((d) => [d, { left: units.filter((u) => u.date === d).length, ok: [] as Array<UnitResult>, failed: 0 }])
    )
    const ready = new Map(
      yield* Effect.forEach(dates, (d) => Effect.map(Deferred.make<boolean>(), (r) => [d, r] as const))
    )
    // a date with no unit (no market feed asked for) is ready at once
    for (const [date, day] of byDate) if (day.left === 0) yield* Deferred.succeed(ready.get(date)!, true)
    const failed: Array<string> = []
    /** A unit of `date` ended; the date is ready for the sinks once none is left (true: none failed). */
    const unitEnded = (date: string, result: Either.Either<UnitResult, string>) =>
      Effect.suspend(() => {
        const day = byDate.get(date)!
        day.left -= 1
        if (Either.isRight(result)) day.ok.push(result.right)
        else {
          day.failed += 1
          failed.push(result.left)
        }
        if (day.left > 0) return Effect.void
        return Effect.zipRight(
          day.failed === 0 ? Effect.logInfo(`Date ${date}: every unit in the lake`) : Effect.void,
          Deferred.succeed(ready.get(date)!, day.failed === 0)
        )
      })
    const send = Effect.forEach(
      units,
      (u) =>
        client(partitionKey(u.feed, u.date))
          .Run({ runId, date: u.date, feed: u.feed, ticker: u.ticker, overwrite: run.overwrite })
          .pipe(
            Effect.tap((r: UnitResult) =>
              Effect.logInfo(
                `Unit ${u.key} done by runner ${r.runner} (pid ${r.pid}), ${r.fetched ? "fetched" : "already in the lake"} (${++done}/${units.length})`
              )
            ),
            Effect.tapError((e) => Effect.logError(`Unit ${u.key} failed: ${describe(e)}`)),
            Effect.either,
            Effect.flatMap((r) =>
              unitEnded(
                u.date,
                Either.mapLeft(r, (e) => `${u.key}: ${describe(e)}`)
              )
            )
          ),
      { concurrency: "unbounded", discard: true }
    )
    // The sinks have one writer: this process, in date order, once every unit is in the lake; with
    // cluster.overlap_sink_loads each date as soon as all its units are, while the runners work on
    // later ones (faster when the submitter has cores of its own; on a shared 2-core machine slower,
    // see README "Cluster"). A date with a failed unit is not loaded.
    const sinks = yield* Effect.serviceOption(SinkRouter)
    const load = Effect.forEach(dates, (date) =>
      Effect.flatMap(Deferred.await(ready.get(date)!), (complete) => {
        if (!complete) return Effect.succeed(undefined)
        const day = mergeFetched(
          date,
          byDate.get(date)!.ok.map((u) => ({
            summary: { date, rows: u.rows, quarantined: u.quarantined, outsideSession: u.outsideSession },
            fetched: u.fetched
          }))
        )
        return loadDay({ run, feeds, resume: options.resume ?? false }, sinks, day, Effect.void)
      })
    )
    const loaded = settings.cluster.overlapSinkLoads
      ? (yield* Effect.all([send, load], { concurrency: 2 }))[1]
      : yield* Effect.zipRight(send, load)
    if (failed.length > 0)
      return yield* new ClusterBackfillError({
        message: `${failed.length} of ${units.length} unit(s) failed (the others are in the lake, and every date without a failed unit in the sinks; run again to retry): ${failed.join("; ")}`
      })
    const days = loaded.flatMap((d) => (d === undefined ? [] : [d]))
    const succeeded = [...byDate.values()].flatMap((d) => d.ok)
    const runners = new Set(succeeded.map((u) => u.runner))
    yield* Effect.logInfo(
      `Cluster backfill (run ${runId}): ${succeeded.length} unit(s) done by ${runners.size} runner(s)`
    )
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    return { days, skippedDates, elapsedMs, root: settings.storage.root } satisfies BackfillSummary
  })
