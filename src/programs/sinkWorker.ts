/**
 * The sink worker thread of `live` (node:worker_threads; started by src/live/sinks/SinkWorkerClient.ts,
 * one per sink and round). It opens the one sink of `workerData` (src/layers/Sinks.ts with only that
 * sink enabled), says "ready", then runs each `load` (Sink.loadFiles) it is sent, one at a time,
 * and answers "done" or "failed". Reading Parquet, building rows and decoding results all happen on
 * this thread's event loop, so a sink round never delays the frames on the main thread.
 *
 * - The sink's alerts (SinkAlerts) and this thread's log lines go to the main thread, which raises
 *   and logs them as its own.
 * - `stop` interrupts the running load (its transaction rolls back; the sink's own interrupt
 *   handling applies), closes the sink and ends the thread, but only once no DuckDB query runs on
 *   it (ending a thread under one deadlocks: src/lib/threadExit.ts). A worker that does not end
 *   within its grace period is terminated only while no query runs on it, else abandoned.
 */
import { Cause, Effect, Exit, Fiber, Layer, Logger, Queue } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import { adoptNativeState, whenNativeIdle } from "../lib/threadExit.js"
import * as Sinks from "../layers/Sinks.js"
import { AppSettings } from "../services/AppSettings.js"
import { SinkAlerts, SinkError } from "../services/sinks/Sink.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import {
  decodeSettings,
  type FromWorker,
  type ToWorker,
  type WireError,
  type WorkerInit
} from "../live/sinks/sinkWorkerProtocol.js"

const port = parentPort
if (port === null) throw new Error("sinkWorker.js runs only as a worker thread")
const post = (m: FromWorker) => port.postMessage(m)

const init = workerData as WorkerInit
adoptNativeState(init.nativeState)
const settings = decodeSettings(init.settings)
const sink = init.sink

const wire = (cause: Cause.Cause<unknown>, operation: string): WireError => {
  const e = Cause.squash(cause)
  if (e instanceof SinkError) return { sink: e.sink, operation: e.operation, message: e.message }
  return { sink, operation, message: (e instanceof Error ? e.message : String(e)).slice(0, 2000) }
}

const forwardLogs = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    const level =
      logLevel._tag === "Error" || logLevel._tag === "Fatal"
        ? "Error"
        : logLevel._tag === "Warning"
          ? "Warning"
          : logLevel._tag === "Info"
            ? "Info"
            : "Debug"
    post({ type: "log", level, message: text })
  })
)

const alerts = Layer.succeed(SinkAlerts, {
  raise: (kind, message, details) => Effect.sync(() => post({ type: "alert", kind, message, details: details ?? {} }))
})

const program = (inbox: Queue.Queue<ToWorker>) =>
  Effect.gen(function* () {
    const only = { ...settings, sinks: { ...settings.sinks, enabled: [sink] } }
    const context = yield* Layer.build(
      Sinks.layer.pipe(Layer.provide(Layer.merge(Layer.succeed(AppSettings, only), alerts)))
    ).pipe(Effect.onError((cause) => Effect.sync(() => post({ type: "fatal", error: wire(cause, "connect") }))))
    const router = yield* SinkRouter.pipe(Effect.provide(context))
    post({ type: "ready" })
    for (;;) {
      const m = yield* Queue.take(inbox)
      if (m.type === "stop") return
      const exit = yield* Effect.exit(router.loadFiles(m.feed, m.date, m.files, { sink, since: m.since }))
      post(
        Exit.isSuccess(exit)
          ? { type: "done", id: m.id, written: exit.value }
          : { type: "failed", id: m.id, error: wire(exit.cause, "loadFiles") }
      )
    }
  }).pipe(Effect.scoped)

const inbox = Effect.runSync(Queue.unbounded<ToWorker>())
const fiber = Effect.runFork(program(inbox).pipe(Effect.provide(forwardLogs)))
let stopping = false
port.on("message", (m: ToWorker) => {
  if (m.type !== "stop") return void Effect.runSync(Queue.offer(inbox, m))
  if (stopping) return
  stopping = true
  // Interrupt whatever runs (a load in progress is rolled back), close the sink, end the thread.
  Effect.runFork(Fiber.interrupt(fiber).pipe(Effect.ensuring(Effect.promise(() => endThread(0)))))
})
const endThread = (code: number) => whenNativeIdle().then(() => process.exit(code))
fiber.addObserver((exit) => {
  if (!stopping) {
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause))
      post({ type: "fatal", error: wire(exit.cause, "worker") })
    void endThread(Exit.isSuccess(exit) ? 0 : 1)
  }
})
