/**
 * Journal retention (`journal.retain_days`, default 7): at live start, the journals
 * `data/journal/<feed>/<date>.ndjson` of dates more than `retain_days` trading days before the
 * session's date are deleted, but only when the feed's checkpoint for that date
 * (`data/state/live/<feed>/<date>.json`) covers the file's end: every byte of it is committed to
 * the lake. A journal with a tail no checkpoint covers (a crash the writer never replayed, a torn
 * last line) is kept and named in a warning; today's journal is never touched. A date's age is
 * the number of trading days after it up to the session's date, so with 7 the journals of the
 * 7 previous trading days stay (weekends and holidays do not count). The runners' shard journals
 * of `live --cluster` follow the same cutoff once relayed (shardRetention.ts).
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type MarketHoliday, previousTradingDay } from "../../domain/calendar.js"
import type { Feed } from "../../domain/feeds.js"
import { readCheckpoint } from "../writer/liveFiles.js"
import { fileIo } from "../../lib/fileIo.js"
import { pruneShardJournals } from "./shardRetention.js"

const JOURNAL_NAME = /^(\d{4}-\d{2}-\d{2})\.ndjson$/

/** The oldest date whose journals are kept: `retainDays` trading days before `today`. */
export const retentionCutoff = (
  today: string,
  retainDays: number,
  holidays: ReadonlyMap<string, MarketHoliday>
): string => {
  let d = today
  for (let i = 0; i < retainDays; i++) d = previousTradingDay(d, holidays)
  return d
}

export interface RetentionOutcome {
  /** Deleted journal files (paths). */
  readonly deleted: ReadonlyArray<string>
  /** Old enough but kept: their checkpoint does not cover their end. */
  readonly uncovered: ReadonlyArray<string>
}

const listDir = (dir: string) => Effect.promise(() => fs.readdir(dir).catch(() => [] as Array<string>))
const sizeOf = (file: string) =>
  Effect.promise(() =>
    fs.stat(file).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1
    )
  )

/** Delete the journals older than the cutoff whose data is fully checkpointed. */
export const pruneJournals = (
  root: string,
  today: string,
  retainDays: number,
  holidays: ReadonlyMap<string, MarketHoliday>
): Effect.Effect<RetentionOutcome> =>
  Effect.gen(function* () {
    const cutoff = retentionCutoff(today, Math.max(0, Math.floor(retainDays)), holidays)
    const dir = path.join(root, "journal")
    const deleted: Array<string> = []
    const uncovered: Array<string> = []
    const shards = yield* pruneShardJournals(root, cutoff)
    deleted.push(...shards.deleted)
    uncovered.push(...shards.uncovered)
    for (const feed of (yield* listDir(dir)).sort()) {
      if (feed === "shards") continue
      for (const name of (yield* listDir(path.join(dir, feed))).sort()) {
        const date = JOURNAL_NAME.exec(name)?.[1]
        if (date === undefined || date >= cutoff || date >= today) continue
        const file = path.join(dir, feed, name)
        const size = yield* sizeOf(file)
        if (size < 0) continue
        const cp = yield* readCheckpoint(root, feed as Feed, date).pipe(
          Effect.catchAllCause(() => Effect.succeed(undefined))
        )
        if ((cp?.offset ?? 0) >= size) {
          // Retention never stops live: a journal that cannot be removed is kept and said.
          const removed = yield* fileIo("remove", file, () => fs.rm(file, { force: true })).pipe(
            Effect.as(true),
            Effect.catchAll((e) =>
              Effect.as(Effect.logWarning(`Journal retention: ${file} kept (${e.message})`), false)
            )
          )
          if (removed) deleted.push(file)
        } else uncovered.push(file)
      }
    }
    if (deleted.length > 0)
      yield* Effect.logInfo(
        `Journal retention (${retainDays} trading days, before ${cutoff}): deleted ${deleted.length} journals`
      )
    if (uncovered.length > 0)
      yield* Effect.logWarning(
        `Journal retention: kept ${uncovered.length} old journals whose checkpoint does not cover their end: ${uncovered.join(", ")}`
      )
    return { deleted, uncovered }
  })
