/**
 * One writer at a time per lake partition, across fibers and processes: a live day's commits and
 * a backfill of the same day read-merge-replace the same files, and two merges at once would lose
 * one's rows. In the process a semaphore per partition queues the fibers; between processes a
 * lock file (`state/locks/<feed>/<date>.lock`, created exclusively, holding the owner's pid) does.
 * A lock file whose owner is gone (a crash, kill -9) is taken over.
 */
import { Data, Effect, Schedule } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { isAlive } from "../../lib/processAlive.js"

export class PartitionBusy extends Data.TaggedError("PartitionBusy")<{ readonly lock: string; readonly pid: number }> {}

// Our own fibers are serialized by the semaphore: a lock file with our pid is stale.
const alive = (pid: number): boolean => pid !== process.pid && isAlive(pid)

/** Create the lock file, or say who holds it; a stale one is removed and the next try takes it. */
const tryLock = (lock: string): Effect.Effect<void, PartitionBusy> =>
  Effect.flatMap(
    Effect.promise(async () => {
      await fs.mkdir(path.dirname(lock), { recursive: true })
      try {
        await fs.writeFile(lock, String(process.pid), { flag: "wx" })
        return 0
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        const pid = Number(await fs.readFile(lock, "utf8").catch(() => ""))
        // An empty file is a lock being written right now: busy, unless it is still empty next try.
        if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid
        await fs.rm(lock, { force: true })
        return -1
      }
    }),
    (pid) => (pid === 0 ? Effect.void : Effect.fail(new PartitionBusy({ lock, pid })))
  )

/** Wait up to about two minutes for another process's merge (they take well under a second). */
const waitPolicy = Schedule.spaced("25 millis").pipe(Schedule.intersect(Schedule.recurs(4800)))

export const makePartitionLocks = Effect.sync(() => {
  const local = new Map<string, Effect.Semaphore>()
  const semaphoreOf = (lock: string) => {
    let s = local.get(lock)
    if (s === undefined) {
      s = Effect.unsafeMakeSemaphore(1)
      local.set(lock, s)
    }
    return s
  }
  /** Run `use` holding the partition's lock. */
  const withLock = <A, E, R>(
    root: string,
    feed: string,
    date: string,
    use: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | PartitionBusy, R> => {
    const lock = path.join(root, "state", "locks", feed, `${date}.lock`)
    const held = Effect.acquireUseRelease(
      tryLock(lock).pipe(Effect.retry(waitPolicy)),
      () => use,
      () => Effect.promise(() => fs.rm(lock, { force: true }))
    )
    return semaphoreOf(lock).withPermits(1)(held)
  }
  return { withLock }
})
