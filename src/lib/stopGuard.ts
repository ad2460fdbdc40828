/**
 * Bounded stop for every command (installed by src/main.ts next to NodeRuntime.runMain, which
 * interrupts the main fiber on the first SIGINT/SIGTERM):
 * - first signal: log it and what is in flight (src/lib/inflight.ts); the interruption then cancels
 *   running sink statements on the server and rolls their transactions back;
 * - watchdog: if the process is still running `watchdogMs` after that signal, log what is still
 *   in flight and exit 1 (the server bounds — statementGuard.ts — still end the statements), or
 *   SIGKILL itself when a stuck worker thread would make exit wait forever (src/lib/threadExit.ts);
 * - second signal: exit at once (130 for SIGINT, 143 for SIGTERM), naming what was left unfinished.
 * `stopped()` says how a stop ended, for the last log line.
 *
 * Plain Node on purpose: it must act even when the Effect runtime is busy finishing the interruption.
 */
import * as Inflight from "./inflight.js"
import { hardExit } from "./threadExit.js"

export interface StopGuardOptions {
  readonly watchdogMs?: number
  readonly log?: (line: string) => void
  readonly exit?: (code: number) => void
  readonly now?: () => number
}

export interface StopGuard {
  /** The first signal and when it came, if any. */
  readonly signal: () => { readonly name: NodeJS.Signals; readonly atMs: number } | undefined
  /** The line to log when the command has ended after a signal. */
  readonly stoppedLine: () => string | undefined
  readonly uninstall: () => void
}

export const WATCHDOG_MS = 12_000

const line = (level: string, text: string) => `${new Date().toISOString()} ${level.padEnd(5)} ${text}\n`

export const installStopGuard = (options: StopGuardOptions = {}): StopGuard => {
  const log = options.log ?? ((text: string) => process.stderr.write(line("WARN", text)))
  const exit = options.exit ?? ((code: number) => hardExit(code, log))
  const now = options.now ?? (() => performance.now())
  const watchdogMs = options.watchdogMs ?? WATCHDOG_MS
  let first: { name: NodeJS.Signals; atMs: number } | undefined
  let timer: NodeJS.Timeout | undefined

  const onSignal = (name: NodeJS.Signals) => {
    if (first === undefined) {
      first = { name, atMs: now() }
      log(
        `${name} received: stopping (cancelling running statements, rolling back); in flight: ${Inflight.describe()}. A second ${name} exits at once.`
      )
      timer = setTimeout(() => {
        log(
          `still running ${(watchdogMs / 1000).toFixed(0)} s after ${name}; exiting (1). Left unfinished: ${Inflight.describe()}`
        )
        exit(1)
      }, watchdogMs)
      timer.unref()
      return
    }
    log(`second ${name}: exiting now. Left unfinished: ${Inflight.describe()}`)
    exit(name === "SIGINT" ? 130 : 143)
  }
  const onInt = () => onSignal("SIGINT")
  const onTerm = () => onSignal("SIGTERM")
  process.on("SIGINT", onInt)
  process.on("SIGTERM", onTerm)
  // a closed log pipe (the parent or terminal gone) must not crash the process half-way through a stop
  const ignore = () => undefined
  process.stderr.on("error", ignore)
  process.stdout.on("error", ignore)

  return {
    signal: () => first,
    stoppedLine: () =>
      first === undefined
        ? undefined
        : `stopped ${((now() - first.atMs) / 1000).toFixed(1)} s after ${first.name}${Inflight.current().length > 0 ? `; left unfinished: ${Inflight.describe()}` : ""}`,
    uninstall: () => {
      if (timer) clearTimeout(timer)
      process.off("SIGINT", onInt)
      process.off("SIGTERM", onTerm)
      process.stderr.off("error", ignore)
      process.stdout.off("error", ignore)
    }
  }
}
