import { Effect } from "effect"

/**
 * Lets the event loop turn once (a macrotask, not a timer: no time is read). I/O callbacks that
 * are ready (socket frames, DuckDB's completions) run before it resumes.
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
