/**
 * The sinks loaded during the live day, not only at its end. Every `sinks.live_load_interval_s`
 * (Effect Clock: the interval runs from the end of one round to the start of the next), for each
 * feed of today, the lake files that became durable since the last round (durableFiles.ts) are
 * upserted into every enabled sink with `Sink.loadFiles`. Loading only the new files is correct
 * because every sink's upsert keeps the latest `received_at_ms` per key, also against rows it
 * already holds (a correction in a later file wins; an older version never overwrites a newer one).
 * A file rewritten since a sink loaded it (a window's file, at every commit) is sent with the
 * version that sink loaded (`since`, ./loadedVersions.ts), so the sink can load only the rows that
 * changed: a round then costs in proportion to the new rows, not to the window's.
 *
 * - Each sink is opened for the round only (a router with just that sink, closed afterwards): the
 *   DuckDB warehouse file is not held between rounds, so a researcher or `consolidate` can open
 *   it, and one sink that is down never holds the others back. In `live` each sink's round runs in
 *   its own worker thread (SinkWorkerClient.ts via src/layers/LiveSinks.ts `layerWorker`), so
 *   reading Parquet and building rows never delays the sockets' frames on the main thread; a
 *   worker that crashes fails that sink's round like any other error (alerted, retried).
 * - A sink that fails is logged and alerted (`sink_live_load`, source = the sink); its files stay
 *   "not loaded" and are tried again next round; the alert is resolved by its next successful
 *   load. The live stream is never stopped by a sink.
 * - What was loaded is remembered in memory only. After a restart (even `kill -9`) the set is
 *   empty and the first round reloads the day's durable files once: idempotent (upserts), only
 *   slower. Nothing here writes a sink checkpoint, so the end-of-day `loadPartition` (after
 *   stop) still loads whole partitions and its fingerprint logic is untouched.
 * - The loop is forked into the live program's scope after the writers, so it is interrupted
 *   before they flush at a stop; the end of the day then does the full load.
 */
import { Cause, Clock, Context, Effect, type Scope } from "effect"
import type { SinkName } from "../../config/Settings.js"
import type { Feed } from "../../domain/feeds.js"
import type { SinkError } from "../../services/sinks/Sink.js"
import type { SinkRouterService } from "../../services/sinks/SinkRouter.js"
import { durableFiles, type LakeFile } from "../writer/durableFiles.js"
import { openLoadedVersions } from "./loadedVersions.js"
import { LiveTelemetry } from "../telemetry.js"

/** What a round needs of a sink: SinkRouter's `loadFiles` (in process, or a worker thread: SinkWorkerClient.ts). */
export type FileLoader = Pick<SinkRouterService, "loadFiles">

export interface LiveSinkLoaderConfig {
  readonly root: string
  /** 0 = disabled (the sinks are loaded only at the end of the day). */
  readonly intervalMs: number
  readonly sinks: ReadonlyArray<SinkName>
  readonly feeds: ReadonlyArray<Feed>
  /** A router with only `sink` registered (or that sink in a worker thread), for one round (released after it). */
  readonly acquire: (sink: SinkName) => Effect.Effect<FileLoader, SinkError, Scope.Scope | LiveTelemetry>
}

export interface SinkRound {
  readonly sink: SinkName
  /** Files loaded in this round, per feed. */
  readonly loaded: Readonly<Partial<Record<Feed, ReadonlyArray<string>>>>
  /** Rows the sink wrote in this round (with `since`: only the new and changed ones). */
  readonly rows: number
  readonly error?: string
}

export interface LoaderStatus {
  /** Rounds completed. */
  readonly rounds: number
  readonly running: boolean
  readonly last: ReadonlyArray<SinkRound>
  /** Every file loaded so far (paths, each once however often it was rewritten and reloaded), per sink and feed. */
  readonly loaded: Readonly<Record<string, Readonly<Partial<Record<Feed, ReadonlyArray<string>>>>>>
}

export interface LiveSinkLoaderService {
  /**
   * Fork the loop for `date` into the caller's scope; nothing when disabled. `clockSpeed`: on a
   * simulated clock running k times real time, rounds are at least MIN_REAL_INTERVAL_MS real apart.
   */
  readonly start: (date: string, clockSpeed?: number) => Effect.Effect<void, never, Scope.Scope | LiveTelemetry>
  /** One round now (the loop runs it every interval). */
  readonly round: (date: string) => Effect.Effect<ReadonlyArray<SinkRound>, never, LiveTelemetry>
  readonly status: Effect.Effect<LoaderStatus>
}

export class LiveSinkLoader extends Context.Tag("spy/live/LiveSinkLoader")<LiveSinkLoader, LiveSinkLoaderService>() {}

export const ALERT_KIND = "sink_live_load"

/** A round opens every sink and reads files: never more often than this in REAL time (fast simulated clocks). */
export const MIN_REAL_INTERVAL_MS = 5_000

/** The Clock interval between rounds for a configured interval on a clock running `speed` times real time. */
export const effectiveInterval = (intervalMs: number, speed = 1): number =>
  Math.max(intervalMs, MIN_REAL_INTERVAL_MS * Math.max(1, speed))

export const make = (config: LiveSinkLoaderConfig): LiveSinkLoaderService => {
  /** sink → feed → ids (name, size, mtime) of the files loaded. */
  const loaded = new Map<SinkName, Map<Feed, Map<string, string>>>()
  let rounds = 0
  let running = false
  let last: ReadonlyArray<SinkRound> = []
  /** Sinks with an open alert. */
  const failing = new Set<SinkName>()
  const versions = openLoadedVersions(config.root)
  const seen = (sink: SinkName, feed: Feed) => {
    let bySink = loaded.get(sink)
    if (!bySink) loaded.set(sink, (bySink = new Map()))
    let ids = bySink.get(feed)
    if (!ids) bySink.set(feed, (ids = new Map()))
    return ids
  }

  const loadSink = (sink: SinkName, date: string, durable: ReadonlyMap<Feed, ReadonlyArray<LakeFile>>) => {
    const done: Partial<Record<Feed, ReadonlyArray<string>>> = {}
    let rows = 0
    const pending = config.feeds
      .map((feed) => [feed, (durable.get(feed) ?? []).filter((f) => !seen(sink, feed).has(f.id))] as const)
      .filter(([, files]) => files.length > 0)
    if (pending.length === 0) return Effect.succeed<SinkRound>({ sink, loaded: done, rows })
    return Effect.scoped(
      Effect.gen(function* () {
        const router = yield* config.acquire(sink)
        for (const [feed, files] of pending) {
          const paths = files.map((f) => f.path)
          const since = versions.since(sink, feed, date, paths)
          yield* Effect.promise(() => versions.pin(sink, feed, date, paths))
          rows += yield* router.loadFiles(feed, date, paths, { sink, since })
          yield* Effect.promise(() => versions.keep(sink, feed, date, paths))
          for (const f of files) seen(sink, feed).set(f.id, f.path)
          done[feed] = files.map((f) => f.path)
        }
        if (failing.delete(sink)) yield* Effect.flatMap(LiveTelemetry, (t) => t.resolveAlert(ALERT_KIND, sink))
        return { sink, loaded: done, rows } satisfies SinkRound
      })
    ).pipe(
      Effect.catchAllCause((cause) =>
        Effect.gen(function* () {
          const message = `live load into ${sink} failed (retried in ${config.intervalMs / 1000} s): ${describe(cause)}`
          yield* Effect.logWarning(message)
          failing.add(sink)
          yield* Effect.flatMap(LiveTelemetry, (t) => t.alert(ALERT_KIND, message, { source: sink, date }))
          return { sink, loaded: done, rows, error: message } satisfies SinkRound
        })
      )
    )
  }

  const round = (date: string) =>
    Effect.gen(function* () {
      running = true
      const t0 = yield* Clock.currentTimeMillis
      const durable = new Map<Feed, ReadonlyArray<LakeFile>>()
      for (const feed of config.feeds) durable.set(feed, yield* durableFiles(config.root, feed, date))
      const result = yield* Effect.forEach(config.sinks, (sink) => loadSink(sink, date, durable), {
        concurrency: "unbounded"
      })
      const files = result.reduce((n, r) => n + Object.values(r.loaded).reduce((m, l) => m + (l?.length ?? 0), 0), 0)
      if (files > 0) {
        const into = result.filter((r) => Object.keys(r.loaded).length > 0)
        yield* Effect.logInfo(
          `live sinks ${date}: ${files} new lake files loaded into ${into.map((r) => r.sink).join(", ")} in ${(((yield* Clock.currentTimeMillis) - t0) / 1000).toFixed(2)} s (rows written: ${into.map((r) => `${r.sink} ${r.rows}`).join(", ")})`
        )
      }
      last = result
      return result
    }).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          running = false
          rounds++
        })
      )
    )

  return {
    round,
    start: (date, clockSpeed) =>
      config.intervalMs <= 0 || config.sinks.length === 0
        ? Effect.void
        : Effect.zipRight(
            // added before the loop's fiber: the scope interrupts the loop first, then removes the kept versions
            Effect.addFinalizer(() => Effect.promise(() => versions.release().catch(() => undefined))),
            Effect.asVoid(
              Effect.forkScoped(
                Effect.forever(
                  Effect.zipRight(Effect.sleep(effectiveInterval(config.intervalMs, clockSpeed)), round(date))
                )
              )
            )
          ),
    status: Effect.sync(() => ({
      rounds,
      running,
      last,
      loaded: Object.fromEntries(
        [...loaded].map(([sink, byFeed]) => [
          sink,
          Object.fromEntries([...byFeed].map(([feed, ids]) => [feed, [...new Set(ids.values())].sort()]))
        ])
      )
    }))
  }
}

const describe = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return (
    typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)
  ).slice(0, 300)
}
