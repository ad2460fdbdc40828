/**
 * The backfill's run record (`data/state/backfill_run.json`): the range, feeds and mode of the
 * latest run, marked `running` at start and `completed` at the end. `backfill --resume` without
 * dates picks up the latest run if it did not complete (a crash, `kill -9`, Ctrl-C); a plain
 * re-run of a range also skips completed units, `--resume` only saves retyping it.
 *
 *   backfillRunProgram({ resume: true })                                        // the interrupted run
 *   backfillRunProgram({ startDate: "2025-10-27", endDate: "2025-10-31" })      // a new run
 */
import { Clock, Effect, Option } from "effect"
import * as path from "node:path"
import type { MarketFeed } from "../domain/feeds.js"
import { readJsonIfExists, writeFileAtomic } from "../lib/atomicFile.js"
import type { Settings } from "../config/Settings.js"
import { AppSettings } from "../services/AppSettings.js"
import { BackfillInputError, type BackfillOptions, backfillProgram, type BackfillSummary } from "./backfill.js"
import { fileIo } from "../lib/fileIo.js"

export interface BackfillRunRecord {
  readonly startDate: string
  readonly endDate: string
  readonly feeds: ReadonlyArray<MarketFeed> | null
  readonly overwrite: boolean
  readonly status: "running" | "completed"
  readonly startedAtMs: number
  readonly finishedAtMs: number | null
}

export interface BackfillRunOptions extends Omit<BackfillOptions, "startDate" | "endDate"> {
  readonly startDate?: string | undefined
  readonly endDate?: string | undefined
}

export const runRecordFile = (root: string) => path.join(root, "state", "backfill_run.json")

const write = (file: string, record: BackfillRunRecord) =>
  fileIo("write", file, () => writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`))

/**
 * `backfill.start_date`/`end_date` of the settings: each fills the date the command line does not
 * give (the flag wins). A bare `--resume` ignores them: it means the latest interrupted run.
 */
const withConfiguredRange = (options: BackfillRunOptions, configured: Settings["backfill"]): BackfillRunOptions =>
  options.resume === true && options.startDate === undefined && options.endDate === undefined
    ? options
    : {
        ...options,
        startDate: options.startDate ?? Option.getOrUndefined(configured.startDate),
        endDate: options.endDate ?? Option.getOrUndefined(configured.endDate)
      }

/** The options of the run to do: the given range, or the latest interrupted run's for a bare `--resume`. */
const resolve = (file: string, options: BackfillRunOptions) =>
  Effect.gen(function* () {
    if (options.startDate !== undefined && options.endDate !== undefined) {
      const valid =
        [options.startDate, options.endDate].every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)) &&
        options.startDate <= options.endDate
      if (!valid)
        return yield* new BackfillInputError({
          message: `invalid date range ${options.startDate} .. ${options.endDate} (YYYY-MM-DD, start <= end)`
        })
      return Option.some<BackfillOptions>({ ...options, startDate: options.startDate, endDate: options.endDate })
    }
    if (options.startDate !== undefined || options.endDate !== undefined || options.resume !== true)
      return yield* new BackfillInputError({
        message: "give both --start-date and --end-date (or --resume alone to finish the latest interrupted run)"
      })
    const last = yield* fileIo("read", file, () => readJsonIfExists<BackfillRunRecord>(file))
    if (last === undefined)
      return yield* new BackfillInputError({ message: `nothing to resume: no backfill run recorded in ${file}` })
    if (last.status === "completed") {
      yield* Effect.logInfo(`Nothing to resume: the latest backfill (${last.startDate}..${last.endDate}) completed`)
      return Option.none<BackfillOptions>()
    }
    yield* Effect.logInfo(
      `Resuming the interrupted backfill ${last.startDate}..${last.endDate}${last.overwrite ? " (overwrite)" : ""}`
    )
    return Option.some<BackfillOptions>({
      ...options,
      startDate: last.startDate,
      endDate: last.endDate,
      feeds: last.feeds ?? undefined,
      overwrite: last.overwrite || options.overwrite === true
    })
  })

export const backfillRunProgram = (options: BackfillRunOptions) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const file = runRecordFile(settings.storage.root)
    const resolved = yield* resolve(file, withConfiguredRange(options, settings.backfill))
    if (Option.isNone(resolved)) return Option.none<BackfillSummary>()
    const run = resolved.value
    const record: BackfillRunRecord = {
      startDate: run.startDate,
      endDate: run.endDate,
      feeds: run.feeds ?? null,
      overwrite: run.overwrite === true,
      status: "running",
      startedAtMs: yield* Clock.currentTimeMillis,
      finishedAtMs: null
    }
    yield* write(file, record)
    const summary = yield* backfillProgram(run).pipe(
      Effect.onInterrupt(() =>
        Effect.logWarning(
          `backfill ${run.startDate}..${run.endDate} interrupted: units not finished stay unfinished (sink transactions rolled back); finish with \`backfill --resume\``
        )
      )
    )
    yield* write(file, { ...record, status: "completed", finishedAtMs: yield* Clock.currentTimeMillis })
    return Option.some(summary)
  })
