/**
 * Event-loop lag of this process (perf_hooks.monitorEventLoopDelay): how late timers and I/O
 * callbacks ran, i.e. how long frame handling could be delayed. `take` returns p99 and max since the
 * previous take (one heartbeat period) and starts a new period. A measurement of the process, not
 * a time source: program time still comes only from the Effect Clock.
 */
import { Effect, type Scope } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"

export interface EventLoopLag {
  readonly p99Ms: number
  readonly maxMs: number
}

export type TakeLag = () => EventLoopLag | null

const round1 = (x: number) => Math.round(x * 10) / 10

/** Sampling resolution of the monitor (ms): lag below it is not seen. */
export const RESOLUTION_MS = 10

/** A monitor enabled for the scope; `take()` = the period's lag (null when nothing was sampled yet). */
export const monitor: Effect.Effect<TakeLag, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => {
      const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
      h.enable()
      return h
    }),
    (h) => Effect.sync(() => h.disable())
  ),
  (h) => () => {
    if (h.count === 0) return null
    // The histogram holds each sampling timer's interval (ns): the resolution plus the lag.
    const lagMs = (ns: number) => round1(Math.max(0, ns / 1e6 - RESOLUTION_MS))
    const lag = { p99Ms: lagMs(h.percentile(99)), maxMs: lagMs(h.max) }
    h.reset()
    return lag
  }
)
