/**
 * SinkRouter: the one entry point the platform calls to move lake partitions into the warehouses.
 *
 *   const router = yield* SinkRouter
 *   yield* router.loadPartition("options", "2025-10-28")               // after backfill writes a partition
 *   yield* router.loadPartition("spy", date, { overwrite: true })      // after a backfill --overwrite
 *   yield* router.loadFiles("spy", date, files, { sink: "postgres" })  // live: only these new files, one sink
 *   yield* router.consolidate("2025-10-28")                            // rebuild options_consolidated
 *   yield* router.metrics                                              // commit p50/p95/p99 per sink
 *
 * Sinks register themselves (`register` is acquireRelease: a sink leaves when its layer's scope
 * closes). Calls fan out to every registered sink concurrently; every sink runs to completion and
 * the first failure (if any) is reported. Build it with src/layers/Sinks.ts.
 */
import { Context, Effect, Either, Layer, type Scope } from "effect"
import type { Feed } from "../../domain/feeds.js"
import type { SinkName } from "../../config/Settings.js"
import { type LoadOptions, type Sink, SinkError } from "./Sink.js"
import type { SinceVersions } from "./LakeReader.js"
import type { MetricsSnapshot } from "./SinkMetrics.js"

export interface ConsolidateOptions {
  /** Only this sink (it must be registered); all sinks that build the view when omitted. */
  readonly sink?: SinkName
}

export interface SinkRouterService {
  readonly register: (sink: Sink) => Effect.Effect<void, never, Scope.Scope>
  readonly sinks: Effect.Effect<ReadonlyArray<SinkName>>
  readonly loadPartition: (feed: Feed, date: string, options?: LoadOptions) => Effect.Effect<void, SinkError>
  /** Upsert only `files` of the partition (Sink.loadFiles) into every sink, or only `options.sink`; the rows written, summed over the sinks. */
  readonly loadFiles: (
    feed: Feed,
    date: string,
    files: ReadonlyArray<string>,
    options?: { readonly sink?: SinkName; readonly since?: SinceVersions | undefined }
  ) => Effect.Effect<number, SinkError>
  /** Rows of the view for the date (the same in every sink; the first sink's count is returned). */
  readonly consolidate: (
    date: string,
    options?: ConsolidateOptions
  ) => Effect.Effect<{ readonly rows: number; readonly bySink: Readonly<Record<string, number>> }, SinkError>
  readonly metrics: Effect.Effect<Readonly<Record<string, MetricsSnapshot>>>
  /** The date's rows per table in each sink that counts (`Sink.counts`). */
  readonly counts: (
    date: string
  ) => Effect.Effect<Readonly<Record<string, Readonly<Record<string, number>>>>, SinkError>
}

export class SinkRouter extends Context.Tag("spy/SinkRouter")<SinkRouter, SinkRouterService>() {}

const firstFailure = <A>(
  results: ReadonlyArray<Either.Either<A, SinkError>>
): Effect.Effect<ReadonlyArray<A>, SinkError> => {
  const failed = results.find(Either.isLeft)
  return failed ? Effect.fail(failed.left) : Effect.succeed(results.map((r) => (r as Either.Right<SinkError, A>).right))
}

export const make: Effect.Effect<SinkRouterService> = Effect.sync(() => {
  const registered = new Map<SinkName, Sink>()

  const fanOut = <A>(targets: ReadonlyArray<Sink>, f: (sink: Sink) => Effect.Effect<A, SinkError>) =>
    Effect.forEach(targets, (sink) => Effect.either(f(sink)), { concurrency: "unbounded" }).pipe(
      Effect.flatMap(firstFailure)
    )

  const service: SinkRouterService = {
    register: (sink) =>
      Effect.acquireRelease(
        Effect.sync(() => void registered.set(sink.name, sink)),
        () => Effect.sync(() => void registered.delete(sink.name))
      ),
    sinks: Effect.sync(() => [...registered.keys()]),
    loadPartition: (feed, date, options) =>
      fanOut([...registered.values()], (sink) =>
        sink
          .loadPartition(feed, date, options)
          .pipe(Effect.withSpan("SinkRouter.loadPartition", { attributes: { sink: sink.name, feed, date } }))
      ).pipe(Effect.asVoid),
    loadFiles: (feed, date, files, options = {}) =>
      Effect.gen(function* () {
        const targets = [...registered.values()].filter((s) => options.sink === undefined || s.name === options.sink)
        if (options.sink !== undefined && targets.length === 0)
          return yield* new SinkError({
            sink: options.sink,
            operation: "loadFiles",
            message: `sink ${options.sink} is not registered`
          })
        const results = yield* fanOut(targets, (sink) =>
          sink.loadFiles(feed, date, files, { since: options.since }).pipe(
            Effect.withSpan("SinkRouter.loadFiles", {
              attributes: { sink: sink.name, feed, date, files: files.length }
            })
          )
        )
        return results.reduce((n, r) => n + r.written, 0)
      }),
    consolidate: (date, options = {}) =>
      Effect.gen(function* () {
        const targets = [...registered.values()].filter(
          (s) => s.consolidate !== undefined && (options.sink === undefined || s.name === options.sink)
        )
        if (options.sink !== undefined && targets.length === 0)
          return yield* new SinkError({
            sink: options.sink,
            operation: "consolidate",
            message: `sink ${options.sink} is not configured (sinks.enabled) or cannot consolidate`
          })
        const counts = yield* fanOut(targets, (sink) =>
          Effect.map(sink.consolidate!(date), (r) => [sink.name, r.rows] as const)
        )
        return { rows: counts[0]?.[1] ?? 0, bySink: Object.fromEntries(counts) }
      }),
    metrics: Effect.gen(function* () {
      const entries = yield* Effect.forEach([...registered.values()], (s) =>
        Effect.map(s.metrics, (m) => [s.name, m] as const)
      )
      return Object.fromEntries(entries)
    }),
    counts: (date) =>
      fanOut(
        [...registered.values()].filter((s) => s.counts !== undefined),
        (sink) => Effect.map(sink.counts!(date), (c) => [sink.name, c] as const)
      ).pipe(Effect.map((entries) => Object.fromEntries(entries)))
  }
  return service
})

export const layer: Layer.Layer<SinkRouter> = Layer.effect(SinkRouter, make)

/** A sink as a layer: build it, register it for the layer's lifetime. */
export const registerLayer = <E, R>(
  build: Effect.Effect<Sink, E, R>
): Layer.Layer<never, E, Exclude<R, Scope.Scope> | SinkRouter> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const router = yield* SinkRouter
      const sink = yield* build
      yield* router.register(sink)
    })
  )
