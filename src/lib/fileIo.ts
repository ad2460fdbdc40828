/**
 * Cold-path file I/O as a typed failure instead of a defect: a config, contract list, checkpoint or
 * report file that cannot be read or written fails with what, where and why (the path is ours, never
 * a secret), and the caller decides (retry, log, stop).
 */
import { Data, Effect } from "effect"

export class FileIoError extends Data.TaggedError("FileIoError")<{
  readonly op: string
  readonly path: string
  readonly message: string
}> {}

export const fileIo = <A>(op: string, path: string, f: () => Promise<A>): Effect.Effect<A, FileIoError> =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new FileIoError({ op, path, message: e instanceof Error ? e.message : String(e) })
  })
