/**
 * Backfill checkpoints: one small JSON file per completed unit (feed, date[, contract]) under
 * `data/state/checkpoints/`, written atomically after the unit's data is durable. A unit with a
 * checkpoint is never fetched again unless the run overwrites.
 */
import { Context, Data, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import type { Feed } from "../domain/feeds.js"
import { lakePaths } from "../domain/paths.js"
import { readJsonIfExists, writeFileAtomic } from "../lib/atomicFile.js"

export interface Checkpoint {
  readonly feed: Feed
  readonly date: string
  readonly unit?: string | undefined
  readonly rows: number
  readonly quarantined: number
  /** Bars fetched but not stored for falling outside the regular session (`session.hours: regular`). */
  readonly outsideSession?: number | undefined
  readonly completedAtMs: number
}

export class CheckpointError extends Data.TaggedError("CheckpointError")<{ readonly message: string }> {}

export interface CheckpointsService {
  readonly get: (feed: Feed, date: string, unit?: string) => Effect.Effect<Checkpoint | undefined, CheckpointError>
  readonly put: (checkpoint: Checkpoint) => Effect.Effect<void, CheckpointError>
  /** Forget every checkpoint of a (feed, date), units included (overwrite). */
  readonly clear: (feed: Feed, date: string) => Effect.Effect<void, CheckpointError>
}

export class Checkpoints extends Context.Tag("spy/Checkpoints")<Checkpoints, CheckpointsService>() {}

export const make = (root: string): CheckpointsService => {
  const paths = lakePaths(root)
  const attempt = <A>(what: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (e) => new CheckpointError({ message: `${what}: ${e instanceof Error ? e.message : String(e)}` })
    })
  return {
    get: (feed, date, unit) =>
      attempt("read checkpoint", () => readJsonIfExists<Checkpoint>(paths.checkpointFile(feed, date, unit))),
    put: (cp) =>
      attempt("write checkpoint", () =>
        writeFileAtomic(paths.checkpointFile(cp.feed, cp.date, cp.unit), JSON.stringify(cp))
      ),
    clear: (feed, date) =>
      attempt("clear checkpoints", () =>
        fs.rm(paths.checkpointFile(feed, date).replace(/_day\.json$/, ""), { recursive: true, force: true })
      )
  }
}

export const layer = (root: string): Layer.Layer<Checkpoints> => Layer.succeed(Checkpoints, make(root))
