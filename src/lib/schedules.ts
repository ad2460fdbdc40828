/**
 * The platform's one retry shape: exponential from `base`, capped at `cap` (the union with a fixed
 * spacing takes the shorter delay), then jittered (Effect's default 0.8x–1.2x). Bound it where it is
 * used (`Schedule.recurs`, `upTo`, `times`).
 */
import { type Duration, Schedule } from "effect"

export const cappedJittered = (base: Duration.DurationInput, cap: Duration.DurationInput) =>
  Schedule.exponential(base).pipe(Schedule.union(Schedule.spaced(cap)), Schedule.jittered)
