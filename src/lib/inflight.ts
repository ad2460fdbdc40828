/**
 * What this process is doing right now, for the stop guard (src/lib/stopGuard.ts): on a signal it
 * logs these, and on a second signal or a stuck stop they are what was left unfinished.
 * Process-wide on purpose: a signal handler must read it without running an effect.
 *
 *   yield* Inflight.track("postgres load options 2025-10-28 offset 5000")(transaction)
 */
import { Effect } from "effect"

const running = new Map<number, string>()
let next = 0

/** `effect`, listed as `what` while it runs (removed on success, failure and interruption). */
export const track =
  (what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const id = ++next
        running.set(id, what)
        return id
      }),
      () => effect,
      (id) => Effect.sync(() => running.delete(id))
    )

/** Oldest first. */
export const current = (): ReadonlyArray<string> => [...running.values()]

export const describe = (): string => {
  const now = current()
  return now.length === 0 ? "nothing in flight" : now.join("; ")
}
