/**
 * The sink port. A sink loads lake partitions into one warehouse engine and (optionally) builds the
 * consolidated options view there. Sinks register with the SinkRouter (src/services/sinks/SinkRouter.ts).
 *
 * - `loadPartition(feed, date, { overwrite })`: idempotent upsert of the lake's rows of (feed, date),
 *   deduplicated by key (latest `received_at_ms` wins, also against rows already in the sink). With
 *   `overwrite`, the date's rows are deleted and re-inserted in one transaction.
 * - `loadFiles(feed, date, files)`: the same upsert from only `files` (absolute paths of `.parquet`
 *   files of that partition), for the live day's incremental loads. Rows already in the sink are
 *   kept unless a file has a version at least as new. It never writes the partition's sink
 *   checkpoint, so the end-of-day `loadPartition` still loads the whole partition. With `since`
 *   (file name → an earlier version of that file that this sink already loaded), a sink may load
 *   only the rows not in that version (PostgreSQL, MySQL do: LakeReader `incrementalSelect`;
 *   DuckDB and Snowflake load the whole files, which is as correct).
 * - `consolidate(date)`: rebuild `options_consolidated` for the date, atomically (DuckDB, Snowflake: delete +
 *   insert in one transaction; PostgreSQL, MySQL: the date's per-second and per-contract rows behind
 *   the view, delete + insert in one transaction, src/sql/consolidatedView.ts).
 * - `metrics()`: commit latency percentiles and counters (for heartbeats).
 * - `counts(date)`: the date's rows per table (what `verify` compares with the lake).
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Feed } from "../../domain/feeds.js"
import type { SinkName } from "../../config/Settings.js"
import type { SinceVersions } from "./LakeReader.js"
import type { MetricsSnapshot } from "./SinkMetrics.js"

export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  sink: Schema.String,
  operation: Schema.String,
  message: Schema.String
}) {}

export interface LoadOptions {
  /** Replace the date's rows (delete + insert in one transaction) instead of upserting. */
  readonly overwrite?: boolean
}

export interface FilesOptions {
  /** File name → an earlier version of it that this sink already loaded (LakeReader `SinceVersions`). */
  readonly since?: SinceVersions | undefined
}

export interface LoadResult {
  /** Rows in the lake partition after dedup. */
  readonly rows: number
  /** Rows written in this call (0 when the sink's checkpoint says this lake version is already loaded). */
  readonly written: number
}

export interface Sink {
  readonly name: SinkName
  readonly loadPartition: (feed: Feed, date: string, options?: LoadOptions) => Effect.Effect<LoadResult, SinkError>
  /** Upsert only these files of the (feed, date) partition; no checkpoint. `rows` = deduplicated rows read (with `since`: the new ones). */
  readonly loadFiles: (
    feed: Feed,
    date: string,
    files: ReadonlyArray<string>,
    options?: FilesOptions
  ) => Effect.Effect<LoadResult, SinkError>
  /** Absent for a sink that does not build the view. */
  readonly consolidate?: (date: string) => Effect.Effect<{ readonly rows: number }, SinkError>
  readonly metrics: Effect.Effect<MetricsSnapshot>
  /** The date's rows per warehouse table (feed tables and `options_consolidated`), for `verify`. Absent: not counted. */
  readonly counts?: (date: string) => Effect.Effect<Readonly<Record<string, number>>, SinkError>
}

/** Where sinks report operational problems (a commit slower than `alerts.commitSlaS`). */
export interface SinkAlertsService {
  readonly raise: (kind: string, message: string, details: Record<string, unknown>) => Effect.Effect<void>
}

export class SinkAlerts extends Context.Tag("spy/SinkAlerts")<SinkAlerts, SinkAlertsService>() {}

/** The default: a warning in the log. The platform's Alerts service replaces it via `SinkAlerts`. */
export const logAlerts: SinkAlertsService = {
  raise: (kind, message, details) => Effect.logWarning(message).pipe(Effect.annotateLogs({ alert: kind, ...details }))
}
export const logAlertsLayer: Layer.Layer<SinkAlerts> = Layer.succeed(SinkAlerts, logAlerts)

/** The provided SinkAlerts, or the logging default. */
export const currentAlerts: Effect.Effect<SinkAlertsService> = Effect.map(Effect.serviceOption(SinkAlerts), (o) =>
  o._tag === "Some" ? o.value : logAlerts
)

const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)

/** Wrap a foreign failure; a driver error's own message (the `cause` of an SqlError) is kept. */
export const sinkError =
  (sink: string, operation: string) =>
  (e: unknown): SinkError => {
    if (e instanceof SinkError) return e
    const cause = typeof e === "object" && e !== null && "cause" in e ? (e as { cause: unknown }).cause : undefined
    return new SinkError({
      sink,
      operation,
      message: cause === undefined ? describe(e) : `${describe(e)}: ${describe(cause)}`
    })
  }
