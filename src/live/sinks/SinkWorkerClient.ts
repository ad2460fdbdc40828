/**
 * A SinkRouter whose one sink runs in a worker thread (src/programs/sinkWorker.ts): what
 * src/layers/LiveSinks.ts `layerWorker` gives LiveSinkLoader as `acquire`, so a live sink round
 * (Parquet reads, row building, driver result decoding) never runs on the event loop that handles
 * the sockets' frames.
 *
 * - The worker lives for the scope (one round): acquired when the round opens the sink; released
 *   by asking it to stop (it interrupts a running load, which rolls back, and closes the sink).
 *   A worker still alive after `stopGraceMs` of REAL time is `terminate()`d if no DuckDB query
 *   runs on it, else abandoned: tearing a thread down under a running query deadlocks
 *   (src/lib/threadExit.ts). The release is bounded in real time; an abandoned thread ends itself
 *   once its query settles.
 * - A worker that cannot open its sink, crashes, or exits fails the round's `loadFiles` with a
 *   SinkError: LiveSinkLoader raises `sink_live_load` and retries the files next round.
 * - Its alerts and log lines are raised and logged on the main thread (LiveTelemetry, the logger).
 */
import { Deferred, Effect, Runtime, type Scope } from "effect"
import { Worker } from "node:worker_threads"
import type { Settings, SinkName } from "../../config/Settings.js"
import { abandon, claimForTermination, newNativeState } from "../../lib/threadExit.js"
import { SinkError } from "../../services/sinks/Sink.js"
import type { FileLoader } from "./LiveSinkLoader.js"
import {
  encodeSettings,
  type FromWorker,
  type ToWorker,
  type WireError,
  type WorkerInit
} from "./sinkWorkerProtocol.js"
import { LiveTelemetry } from "../telemetry.js"

export interface SinkWorkerOptions {
  readonly settings: Settings
  readonly sink: SinkName
  /** The worker script (default: the built dist/programs/sinkWorker.js). */
  readonly script?: URL | string
  /** REAL ms a stopping worker gets to roll back and close before it is terminated (default 3 s). */
  readonly stopGraceMs?: number
}

export const DEFAULT_STOP_GRACE_MS = 3_000

export const defaultScript = (): URL => new URL("../../programs/sinkWorker.js", import.meta.url)

/** REAL ms `terminate()` may take before the release stops waiting for it. */
const TERMINATE_WAIT_MS = 2_000

const toError = (e: WireError) => new SinkError({ sink: e.sink, operation: e.operation, message: e.message })

/** Real time on purpose: a bound on how long a stop waits for a thread, whatever the (simulated) Clock says. */
const realDelay = <A>(ms: number, value: A) => new Promise<A>((resolve) => setTimeout(() => resolve(value), ms).unref())

export const acquire = (
  options: SinkWorkerOptions
): Effect.Effect<FileLoader, SinkError, Scope.Scope | LiveTelemetry> =>
  Effect.gen(function* () {
    const { sink } = options
    const telemetry = yield* LiveTelemetry
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const ready = yield* Deferred.make<void, SinkError>()
    const pending = new Map<number, Deferred.Deferred<number, SinkError>>()
    let nextId = 1
    let ended: SinkError | undefined
    let exited = false
    const endAll = (error: SinkError) => {
      ended ??= error
      Deferred.unsafeDone(ready, Effect.fail(ended))
      for (const d of pending.values()) Deferred.unsafeDone(d, Effect.fail(ended))
      pending.clear()
    }

    const nativeState = newNativeState()
    let abandoned = false
    const worker = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          new Worker(options.script ?? defaultScript(), {
            workerData: { settings: encodeSettings(options.settings), sink, nativeState } satisfies WorkerInit
          }),
        catch: (e) =>
          new SinkError({
            sink,
            operation: "worker",
            message: `cannot start the sink worker: ${e instanceof Error ? e.message : String(e)}`
          })
      }),
      (w) =>
        Effect.promise(async () => {
          if (exited) return
          const gone = new Promise<"exited">((resolve) => w.once("exit", () => resolve("exited")))
          w.postMessage({ type: "stop" } satisfies ToWorker)
          if (
            (await Promise.race([gone, realDelay(options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, "late" as const)])) ===
            "exited"
          )
            return
          if (claimForTermination(nativeState)) await Promise.race([w.terminate(), realDelay(TERMINATE_WAIT_MS, 0)])
          else {
            abandoned = true
            abandon(w, `${sink} sink worker`)
          }
        }).pipe(
          Effect.tap(() =>
            abandoned
              ? Effect.logWarning(`the ${sink} sink worker is stuck in a DuckDB query; abandoned until it ends`)
              : Effect.void
          )
        )
    )
    worker.on("message", (m: FromWorker) => {
      switch (m.type) {
        case "ready":
          return void Deferred.unsafeDone(ready, Effect.void)
        case "fatal":
          return endAll(toError(m.error))
        case "done":
        case "failed": {
          const d = pending.get(m.id)
          pending.delete(m.id)
          if (d) Deferred.unsafeDone(d, m.type === "done" ? Effect.succeed(m.written) : Effect.fail(toError(m.error)))
          return
        }
        case "alert":
          return void runFork(
            telemetry.alert(m.kind, m.message, {
              ...m.details,
              source: (m.details["source"] as string | undefined) ?? sink
            })
          )
        case "log": {
          const log =
            m.level === "Error"
              ? Effect.logError
              : m.level === "Warning"
                ? Effect.logWarning
                : m.level === "Info"
                  ? Effect.logInfo
                  : Effect.logDebug
          return void runFork(log(m.message).pipe(Effect.annotateLogs({ sink_worker: sink })))
        }
      }
    })
    worker.on("error", (e) =>
      endAll(new SinkError({ sink, operation: "worker", message: `sink worker crashed: ${e.message}` }))
    )
    worker.on("exit", (code) => {
      exited = true
      endAll(new SinkError({ sink, operation: "worker", message: `sink worker exited (code ${code})` }))
    })
    yield* Deferred.await(ready)

    const loadFiles: FileLoader["loadFiles"] = (feed, date, files, options = {}) =>
      Effect.suspend(() => {
        if (ended) return Effect.fail(ended)
        const id = nextId++
        return Effect.flatMap(Deferred.make<number, SinkError>(), (done) => {
          pending.set(id, done)
          worker.postMessage({ type: "load", id, feed, date, files, since: options.since } satisfies ToWorker)
          return Deferred.await(done)
        })
      })
    return { loadFiles } satisfies FileLoader
  })
