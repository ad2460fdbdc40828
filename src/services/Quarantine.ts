/**
 * Quarantine: rows that failed validation, kept with their reason under
 * `data/quarantine/<feed>/date=D/<unit>.ndjson`. One file per unit, replaced atomically, so a
 * re-run of a unit never counts its rejects twice.
 */
import { Context, Data, Effect, Layer } from "effect"
import * as path from "node:path"
import type { Feed } from "../domain/feeds.js"
import { lakePaths, tickerFileName } from "../domain/paths.js"
import { writeFileAtomic } from "../lib/atomicFile.js"

export interface Rejected {
  readonly reason: string
  readonly raw: unknown
}

export class QuarantineError extends Data.TaggedError("QuarantineError")<{ readonly message: string }> {}

export interface QuarantineService {
  readonly put: (
    feed: Feed,
    date: string,
    unit: string,
    rejected: ReadonlyArray<Rejected>
  ) => Effect.Effect<void, QuarantineError>
}

export class Quarantine extends Context.Tag("spy/Quarantine")<Quarantine, QuarantineService>() {}

export const make = (root: string): QuarantineService => {
  const paths = lakePaths(root)
  return {
    put: (feed, date, unit, rejected) =>
      rejected.length === 0
        ? Effect.void
        : Effect.tryPromise({
            try: () =>
              writeFileAtomic(
                path.join(paths.quarantineDir(feed, date), `${tickerFileName(unit)}.ndjson`),
                rejected.map((r) => JSON.stringify({ feed, date, reason: r.reason, raw: r.raw })).join("\n") + "\n"
              ),
            catch: (e) => new QuarantineError({ message: String(e) })
          })
  }
}

export const layer = (root: string): Layer.Layer<Quarantine> => Layer.succeed(Quarantine, make(root))
