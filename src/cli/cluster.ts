/** The CLI's cluster parts (issue 17): `backfill --cluster [--run-id ID] [--resume]`, `status --cluster`; `runner` is in main.ts. */
import { Effect, Layer, Option } from "effect"
import type { MarketFeed } from "../domain/feeds.js"
import { BackfillLayer } from "../layers/Backfill.js"
import * as Cluster from "../layers/Cluster.js"
import * as Sinks from "../layers/Sinks.js"
import { BackfillInputError } from "../programs/backfill.js"
import { clusterStatusProgram } from "../programs/cluster/status.js"
import { readSubmission } from "../programs/cluster/units.js"
import { AppSettings } from "../services/AppSettings.js"
import { clusterBackfillProgram } from "../programs/cluster/submit.js"
import { writeRunPidFile } from "../programs/stop.js"
import { printBackfillSummary } from "../programs/summary.js"

export { clusterOptions } from "./clusterOptions.js"

/** `backfill --cluster`: the range as units (feed × date) to the runners (src/programs/cluster/submit.ts), then the sinks here. */
export const clusterBackfill = (
  o: {
    readonly startDate: Option.Option<string>
    readonly endDate: Option.Option<string>
    readonly resume: boolean
    readonly overwrite: boolean
    readonly runId: Option.Option<string>
  },
  feeds: ReadonlyArray<MarketFeed> | undefined
) =>
  Effect.gen(function* () {
    // --resume: the latest submission again, same run id (done units answered from storage), unless given
    const last = o.resume ? yield* readSubmission((yield* AppSettings).storage.root) : undefined
    if (o.resume && last === undefined && (Option.isNone(o.startDate) || Option.isNone(o.runId)))
      return yield* new BackfillInputError({
        message: "backfill --cluster --resume: no earlier cluster submission here"
      })
    const startDate = Option.getOrElse(o.startDate, () => last?.startDate)
    const endDate = Option.getOrElse(o.endDate, () => last?.endDate)
    if (startDate === undefined || endDate === undefined)
      return yield* new BackfillInputError({ message: "backfill --cluster needs --start-date and --end-date" })
    // registered under state/run/ while it runs, so `stop` ends it too
    yield* writeRunPidFile("backfill")
    const runId = Option.getOrElse(o.runId, () => last?.runId)
    return yield* clusterBackfillProgram({
      startDate,
      endDate,
      feeds: feeds ?? (last?.feeds as ReadonlyArray<MarketFeed> | undefined),
      resume: o.resume,
      overwrite: o.overwrite || (last?.overwrite ?? false),
      runId
    })
  }).pipe(
    Effect.flatMap(printBackfillSummary),
    Effect.scoped,
    Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer, Cluster.ClientLayer))
  )

/** `status --cluster`: the runners, their shards and the backfill units, from the cluster's tables. */
export const clusterStatus = clusterStatusProgram.pipe(Effect.asVoid, Effect.provide(Cluster.ClusterSqlLayer))
