/** The `backfill` options of the cluster (issue 17), apart from the cluster code so `backfill` alone does not load it. */
import { Options } from "@effect/cli"

export const clusterOptions = {
  cluster: Options.boolean("cluster").pipe(
    Options.withDescription(
      "send the range to the cluster's runners (`runner`) as units, one per feed and date, and wait for them"
    )
  ),
  runId: Options.text("run-id").pipe(
    Options.optional,
    Options.withDescription("with --cluster: the submission's id (default: time and pid)")
  )
}
