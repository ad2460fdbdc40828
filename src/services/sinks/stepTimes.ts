/**
 * Where a consolidation's time goes: the SQL sinks run each of its statements through a `StepTimer`
 * (by default `untimed`, which adds nothing); `npm run bench:consolidate` passes `recordSteps` and
 * prints the steps after each run. Durations come from Effect's Clock.
 */
import { Duration, Effect } from "effect"

export type StepTimer = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

export const untimed: StepTimer = (_label, effect) => effect

/** Appends each step's label and milliseconds to `steps`, in the order the steps end. */
export const recordSteps =
  (steps: Array<readonly [label: string, ms: number]>): StepTimer =>
  (label, effect) =>
    Effect.map(Effect.timed(effect), ([elapsed, a]) => {
      steps.push([label, Duration.toMillis(elapsed)])
      return a
    })

/** "insert 7.31 s, primary key 2.44 s": a step repeated (one per underlying) is summed. */
export const formatSteps = (steps: ReadonlyArray<readonly [string, number]>): string => {
  const total = new Map<string, number>()
  for (const [label, ms] of steps) total.set(label, (total.get(label) ?? 0) + ms)
  return [...total].map(([label, ms]) => `${label} ${(ms / 1000).toFixed(2)} s`).join(", ")
}
