/**
 * `consolidate`: (re)build `options_consolidated` for one trading date.
 *
 *   consolidateProgram({ date: "2025-10-28" })                   // every configured sink that builds the view
 *   consolidateProgram({ date: "2025-10-28", sink: "postgres" }) // only that sink (must be in sinks.enabled)
 *
 * Options: `date` (YYYY-MM-DD, required), `sink` (duckdb | postgres | mysql | snowflake, optional).
 * Requires SinkRouter (provide src/layers/Sinks.ts `layer`). Logs one line with rows and seconds.
 * The date's lake partitions are loaded into the sink(s) first (idempotent: a partition whose lake
 * version is already loaded is skipped), so this also fills a sink added after the data came in.
 */
import { Clock, Effect } from "effect"
import { type SinkError } from "../services/sinks/Sink.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import * as Inflight from "../lib/inflight.js"

export interface ConsolidateProgramOptions {
  readonly date: string
  readonly sink?: "duckdb" | "postgres" | "mysql" | "snowflake" | undefined
}

export const consolidateProgram = (
  options: ConsolidateProgramOptions
): Effect.Effect<{ readonly rows: number; readonly bySink: Readonly<Record<string, number>> }, SinkError, SinkRouter> =>
  Effect.gen(function* () {
    const router = yield* SinkRouter
    const start = yield* Clock.currentTimeMillis
    for (const feed of ["spy", "options", "vix", "news", "contracts"] as const)
      yield* router.loadPartition(feed, options.date)
    const result = yield* router.consolidate(options.date, options.sink === undefined ? {} : { sink: options.sink })
    const seconds = ((yield* Clock.currentTimeMillis) - start) / 1000
    yield* Effect.logInfo(
      `consolidated ${options.date}: ${result.rows} rows in ${seconds.toFixed(2)} s (${Object.entries(result.bySink)
        .map(([s, n]) => `${s}=${n}`)
        .join(", ")})`
    )
    return result
  }).pipe(
    Inflight.track(`consolidate ${options.date}`),
    Effect.withSpan("consolidateProgram", { attributes: { date: options.date } })
  )
