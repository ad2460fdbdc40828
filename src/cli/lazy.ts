/**
 * A command's program, loaded when that command runs: `backfill` does not load the simulator, the
 * charts (vega), the cluster or live (about 45 MB of resident memory and 30 MB of heap at start).
 */
import { Effect } from "effect"

export const lazy = <M, A, E, R>(load: () => Promise<M>, run: (m: M) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.promise(load), run)
