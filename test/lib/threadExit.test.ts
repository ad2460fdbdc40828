/**
 * The native-work handshake of src/lib/threadExit.ts: work is counted until it settles, a thread
 * can be claimed for termination only when none runs, and once claimed it starts no more.
 */
import { describe, expect, it } from "vitest"
import { Worker } from "node:worker_threads"
import {
  abandon,
  abandonedThreads,
  abandonedThreadsEnded,
  adoptNativeState,
  claimForTermination,
  nativeBusy,
  newNativeState,
  runNative,
  ThreadEndingError,
  whenNativeIdle
} from "../../src/lib/threadExit.js"

describe("threadExit", () => {
  it("counts work until it settles, refuses a claim meanwhile, and refuses new work once claimed", async () => {
    const buffer = newNativeState()
    adoptNativeState(buffer)
    let finish!: () => void
    const work = runNative(() => new Promise<void>((resolve) => (finish = resolve)))
    const failing = runNative(() => Promise.reject(new Error("boom")))
    expect(nativeBusy()).toBe(2)
    await expect(failing).rejects.toThrow("boom")
    expect(nativeBusy()).toBe(1)
    expect(claimForTermination(buffer)).toBe(false)
    expect(await whenNativeIdle(50)).toBe(false)
    // a refused claim leaves the thread free to start work
    const more = runNative(() => Promise.resolve(7))
    expect(await more).toBe(7)
    finish()
    await work
    expect(await whenNativeIdle(1_000)).toBe(true)
    expect(claimForTermination(buffer)).toBe(true)
    let started = false
    await expect(
      runNative(() => {
        started = true
        return Promise.resolve()
      })
    ).rejects.toBeInstanceOf(ThreadEndingError)
    expect(started).toBe(false)
    expect(nativeBusy()).toBe(0)
    adoptNativeState(newNativeState())
  })

  it("abandonedThreadsEnded waits for an abandoned thread to end, at most the given time", async () => {
    await abandonedThreadsEnded(10_000) // none: at once
    const worker = new Worker("setTimeout(() => {}, 300)", { eval: true })
    abandon(worker, "a busy thread")
    expect(abandonedThreads()).toEqual(["a busy thread"])
    const t0 = Date.now()
    await abandonedThreadsEnded(50) // gives up first
    expect(abandonedThreads()).toEqual(["a busy thread"])
    await abandonedThreadsEnded(10_000)
    expect(abandonedThreads()).toEqual([])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200)
  })
})
