/**
 * Ending a process or a worker thread without the DuckDB deadlock.
 *
 * Node ends a worker thread (`terminate()`, `process.exit` inside it) and the whole process
 * (`process.exit`, the natural end) by tearing down each thread's environment, which finalizes
 * native handles and then waits for the thread-pool work still running. A DuckDB connection
 * finalized under a query still running on it deadlocks in DuckDB (the query holds its
 * ClientContext lock and then runs the context's destructor, which takes the same lock), so that
 * wait never ends: seen with gdb on a `live` process that hung after `stop`.
 *
 * The rules that follow:
 * - a thread that ran DuckDB ends only once its queries have settled (`whenNativeIdle`);
 * - the main thread `terminate()`s a sink worker that does not end in time only when it can claim
 *   it with no native work in flight (`claimForTermination`); otherwise the worker is `abandon`ed
 *   and ends itself when its query settles;
 * - while an abandoned thread lives, the process can only end by SIGKILL (`hardExit`): exit codes
 *   are lost, but the stop is bounded, and every sink is crash-safe by design.
 */
import type { Worker } from "node:worker_threads"

/**
 * [0]: native calls in flight on this thread; [1]: 1 once the thread may be terminated and must
 * start no more. Shared with the parent thread for a worker (`adoptNativeState`), so the parent
 * can claim a worker for `terminate()` only while nothing native runs on it (`claimForTermination`).
 */
let state = new Int32Array(new SharedArrayBuffer(8))

export const newNativeState = (): SharedArrayBuffer => new SharedArrayBuffer(8)

/** In a worker thread, at start: count native work in the buffer its parent holds. */
export const adoptNativeState = (buffer: SharedArrayBuffer): void => {
  state = new Int32Array(buffer)
}

export class ThreadEndingError extends Error {
  constructor() {
    super("this thread is being terminated: no new native work starts")
  }
}

/**
 * `start()` (native work on the thread pool), counted until it settles. Refused once the parent
 * has claimed the thread for termination: with the count raised before the flag is read (and the
 * parent raising the flag before reading the count), the two can never both go ahead.
 */
export const runNative = <A>(start: () => Promise<A>): Promise<A> => {
  Atomics.add(state, 0, 1)
  if (Atomics.load(state, 1) === 1) {
    Atomics.sub(state, 0, 1)
    return Promise.reject(new ThreadEndingError())
  }
  let work: Promise<A>
  try {
    work = start()
  } catch (e) {
    Atomics.sub(state, 0, 1)
    return Promise.reject(e)
  }
  const done = () => void Atomics.sub(state, 0, 1)
  work.then(done, done)
  return work
}

export const nativeBusy = (): number => Atomics.load(state, 0)

/** Resolves true once no counted native work runs on this thread, false after `timeoutMs`. */
export const whenNativeIdle = (timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> =>
  new Promise((resolve) => {
    const started = Date.now()
    const check = () => {
      if (nativeBusy() === 0) return resolve(true)
      if (Date.now() - started >= timeoutMs) return resolve(false)
      setTimeout(check, 10)
    }
    check()
  })

/** Parent side: true (and the worker starts no more native work) if nothing native runs on it now. */
export const claimForTermination = (buffer: SharedArrayBuffer): boolean => {
  const shared = new Int32Array(buffer)
  Atomics.store(shared, 1, 1)
  if (Atomics.load(shared, 0) === 0) return true
  Atomics.store(shared, 1, 0)
  return false
}

const abandoned = new Map<Worker, string>()

/** Give up waiting for `worker` without tearing it down; it stays listed until it exits. */
export const abandon = (worker: Worker, what: string): void => {
  abandoned.set(worker, what)
  worker.once("exit", () => abandoned.delete(worker))
  worker.unref()
}

export const abandonedThreads = (): ReadonlyArray<string> => [...abandoned.values()]

/** Resolves once no abandoned thread is left (an interrupted query ended), or after `maxMs` of real time. */
export const abandonedThreadsEnded = (maxMs: number): Promise<void> =>
  new Promise((resolve) => {
    const deadline = Date.now() + maxMs
    const check = () => (abandoned.size === 0 || Date.now() >= deadline ? resolve() : void setTimeout(check, 50))
    check()
  })

/**
 * `process.exit(code)`, or SIGKILL when an abandoned worker thread still lives (exit would wait
 * for it forever). `log` is written synchronously first.
 */
export const hardExit = (code: number, log: (line: string) => void = () => undefined): void => {
  const left = abandonedThreads()
  if (left.length === 0) return void process.exit(code)
  log(`a worker thread is stuck (${left.join("; ")}): ending the process with SIGKILL instead of exit ${code}`)
  process.kill(process.pid, "SIGKILL")
}
