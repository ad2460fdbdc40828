/**
 * Per-sink throttling: at most `maxInFlight` transactions at once and at most `maxRowsPerSecond`
 * rows per second (0 = unlimited for both). Rows are reserved before a batch starts, so a burst
 * waits for its share of the budget instead of overshooting.
 */
import { Clock, Effect } from "effect"

export interface Throttle {
  readonly run: <A, E, R>(rows: number, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const make = (maxInFlight: number, maxRowsPerSecond: number): Effect.Effect<Throttle> =>
  Effect.gen(function* () {
    const semaphore = yield* Effect.makeSemaphore(maxInFlight > 0 ? maxInFlight : Number.MAX_SAFE_INTEGER)
    let nextFreeMs = 0
    const reserve = (rows: number) =>
      maxRowsPerSecond <= 0
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const start = Math.max(now, nextFreeMs)
            nextFreeMs = start + (rows / maxRowsPerSecond) * 1000
            return start > now ? Effect.sleep(start - now) : Effect.void
          })
    return {
      run: (rows, effect) => semaphore.withPermits(1)(Effect.zipRight(reserve(rows), effect))
    }
  })
