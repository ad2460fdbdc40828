/**
 * `stop`: read `data/state/live.pid`, send SIGTERM, wait (up to 15 s, polling every 100 ms) until
 * the process is gone. A missing pid file, or one naming a process that no longer exists (the
 * stale file is removed), is not an error: "no live process running", exit 0. A process that
 * outlives the timeout, or that we may not signal, fails with `StopError` (exit 1).
 *
 * `writePidFile` is the live program's side: a scoped pid file, removed on release.
 */
import { isAlive } from "../lib/processAlive.js"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { lakePaths } from "../domain/paths.js"
import { AppSettings } from "../services/AppSettings.js"

export class StopError extends Data.TaggedError("StopError")<{ readonly pid: number; readonly message: string }> {}
export class AlreadyRunning extends Data.TaggedError("AlreadyRunning")<{
  readonly pid: number
  readonly pidFile: string
}> {
  override get message() {
    return `a live process is already running (pid ${this.pid}, ${this.pidFile})`
  }
}

export type StopResult =
  | { readonly _tag: "NotRunning"; readonly stalePid: number | null }
  | { readonly _tag: "Stopped"; readonly pid: number; readonly waitedMs: number }

/** The pid in a pid file, or `undefined` when missing or unreadable. */
export const readPidFile = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Remove the pid file if it still names this process. */
export const removePidFile = (file: string): Effect.Effect<void> =>
  Effect.sync(() => {
    if (readPidFile(file) === process.pid) fs.rmSync(file, { force: true })
  })

/** Write this process's pid for the scope's lifetime; fails if another live process holds the file. */
export const writePidFile = (file: string): Effect.Effect<void, AlreadyRunning, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const existing = readPidFile(file)
      if (existing !== undefined && existing !== process.pid && isAlive(existing)) {
        return Effect.fail(new AlreadyRunning({ pid: existing, pidFile: file }))
      }
      fs.mkdirSync(path.dirname(file), { recursive: true })
      const tmp = `${file}.tmp-${process.pid}`
      fs.writeFileSync(tmp, `${process.pid}\n`)
      fs.renameSync(tmp, file)
      return Effect.void
    }),
    () => removePidFile(file)
  )

/** `writePidFile` at `data/state/live.pid` under the configured storage root. */
export const writeLivePidFile: Effect.Effect<void, AlreadyRunning, AppSettings | Scope.Scope> = Effect.flatMap(
  AppSettings,
  (s) => writePidFile(lakePaths(s.storage.root).pidFile)
)

export interface StopOptions {
  readonly pidFile: string
  readonly timeoutMs?: number
  readonly pollMs?: number
}

export const stopPid = (options: StopOptions): Effect.Effect<StopResult, StopError> =>
  Effect.gen(function* () {
    const pid = readPidFile(options.pidFile)
    if (pid === undefined) return { _tag: "NotRunning", stalePid: null } as const
    if (!isAlive(pid)) {
      fs.rmSync(options.pidFile, { force: true })
      return { _tag: "NotRunning", stalePid: pid } as const
    }
    yield* Effect.try({
      try: () => process.kill(pid, "SIGTERM"),
      catch: (e) =>
        new StopError({ pid, message: `cannot signal pid ${pid}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` })
    })
    const started = yield* Clock.currentTimeMillis
    const timeoutMs = options.timeoutMs ?? 15_000
    for (;;) {
      const waitedMs = (yield* Clock.currentTimeMillis) - started
      if (!isAlive(pid)) return { _tag: "Stopped", pid, waitedMs } as const
      if (waitedMs >= timeoutMs) {
        return yield* new StopError({ pid, message: `pid ${pid} still running ${timeoutMs / 1000} s after SIGTERM` })
      }
      yield* Effect.sleep(options.pollMs ?? 100)
    }
  })

export const describeStop = (result: StopResult): string =>
  result._tag === "Stopped"
    ? `live process ${result.pid} stopped after ${(result.waitedMs / 1000).toFixed(1)} s`
    : result.stalePid === null
      ? "no live process running"
      : `no live process running (removed stale pid file for ${result.stalePid})`

/** Where backfill and consolidate register while they run: `state/run/<command>-<pid>.pid`. */
export const runDir = (root: string) => path.join(root, "state", "run")

/** This process's pid file under `state/run/` for the scope's lifetime, so `stop` finds it. */
export const writeRunPidFile = (command: string): Effect.Effect<void, never, AppSettings | Scope.Scope> =>
  Effect.flatMap(AppSettings, (s) =>
    writePidFile(path.join(runDir(s.storage.root), `${command}-${process.pid}.pid`))
  ).pipe(Effect.orDie)

/** A recycled pid must not be signalled: where /proc exists, the process must be a node running main.js. */
const isOurs = (pid: number): boolean => {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
    return cmdline.some((a) => a.endsWith("main.js"))
  } catch {
    return !fs.existsSync("/proc/self")
  }
}

/**
 * The `stop` command: the live process (`live.pid`) and every backfill/consolidate registered under
 * `state/run/`, all signalled at once, each waited for (15 s). Stale files are removed.
 */
export const stopAllProgram: Effect.Effect<ReadonlyArray<StopResult>, StopError, AppSettings> = Effect.gen(
  function* () {
    const settings = yield* AppSettings
    const dir = runDir(settings.storage.root)
    const others = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
      .filter((n) => n.endsWith(".pid"))
      .map((n) => path.join(dir, n))
    for (const file of others) {
      const pid = readPidFile(file)
      if (pid !== undefined && isAlive(pid) && !isOurs(pid)) fs.rmSync(file, { force: true }) // a recycled pid: not ours
    }
    const files = [lakePaths(settings.storage.root).pidFile, ...others.filter((f) => fs.existsSync(f))]
    const results = yield* Effect.forEach(files, (pidFile) => stopPid({ pidFile }), { concurrency: "unbounded" })
    // "live process 123 stopped after 0.4 s", "backfill process 456 stopped after 0.6 s"
    const label = (i: number) => (i === 0 ? "live" : path.basename(files[i]!).replace(/-\d+\.pid$/, ""))
    const stopped = results.flatMap((r, i) =>
      r._tag === "Stopped" ? [describeStop(r).replace(/^live process/, `${label(i)} process`)] : []
    )
    yield* Console.log(stopped.length === 0 ? describeStop(results[0]!) : stopped.join("\n"))
    return results
  }
)

/** The `stop` command for `live` alone. Requires AppSettings (storage root). */
export const stopProgram: Effect.Effect<StopResult, StopError, AppSettings> = Effect.gen(function* () {
  const settings = yield* AppSettings
  const result = yield* stopPid({ pidFile: lakePaths(settings.storage.root).pidFile })
  yield* Console.log(describeStop(result))
  return result
})
