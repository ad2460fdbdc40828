/**
 * The option bars of a backfill day: one staged file per contract of the day's set
 * (live/contractSet.ts), merged into the day's partition once every contract is in.
 */
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { OPTIONS_SCHEMA } from "../../domain/feeds.js"
import { restAggRow } from "../../domain/normalize.js"
import { lakePaths, tickerFileName } from "../../domain/paths.js"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import { readColumnFile, writeColumnFile } from "../../lib/columnFile.js"
import { AppSettings } from "../../services/AppSettings.js"
import { Checkpoints } from "../../services/Checkpoints.js"
import { LakeWriteError, ParquetWriter, type ParquetWriterService } from "../../services/ParquetWriter.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillRun } from "./run.js"
import type { ContractSet } from "../../live/contracts/contractSet.js"
import { runUnit, type UnitStore } from "./unit.js"
import { type FileIoError, fileIo } from "../../lib/fileIo.js"

/**
 * One underlying's part of an options day when the config has several: its day checkpoint (named
 * after it), its staging folder, and with `--overwrite` the rows of the partition it replaces.
 */
export interface UnderlyingScope {
  readonly underlying: string
  /** A SQL predicate over the options feed's columns: this underlying's contracts. */
  readonly replaceWhere: string
}

/** Where a contract's rows wait for the day's file: clean columns, or (drift, quarantine) a Parquet file. */
const stagedFiles = (staging: string, ticker: string) => {
  const base = path.join(staging, tickerFileName(ticker))
  return { columns: `${base}.cols`, parquet: `${base}.parquet` }
}

const lakeError = (target: string) => (e: unknown) =>
  new LakeWriteError({ target, message: e instanceof Error ? e.message : String(e) })

/**
 * A contract unit's store: one staging file, kept in memory too when columns. The other kind is
 * removed, in case an earlier run staged the contract differently (not needed when this run
 * found no staging folder).
 */
const contractStore = (
  writer: ParquetWriterService,
  staging: string,
  ticker: string,
  fetched: Map<string, ColumnBatch>,
  fresh: boolean
): UnitStore<LakeWriteError | FileIoError> => {
  const files = stagedFiles(staging, ticker)
  const drop = (file: string) => (fresh ? Effect.void : fileIo("remove", file, () => fs.rm(file, { force: true })))
  return {
    rows: (rows) => writer.write(OPTIONS_SCHEMA, rows, files.parquet).pipe(Effect.tap(() => drop(files.columns))),
    batch: (batch) =>
      Effect.tryPromise({ try: () => writeColumnFile(files.columns, batch), catch: lakeError(files.columns) }).pipe(
        Effect.zipRight(drop(files.parquet)),
        Effect.map(() => (fetched.set(ticker, batch), batch.length))
      )
  }
}

const exists = (file: string) =>
  Effect.promise(() =>
    fs.access(file).then(
      () => true,
      () => false
    )
  )

/** Whether a contract's rows are staged (either kind of file). */
const stagedAny = (staging: string, ticker: string) => {
  const files = stagedFiles(staging, ticker)
  return Effect.zipWith(exists(files.columns), exists(files.parquet), (a, b) => a || b)
}

/** The day's contracts as batches (this run's, or read back from staging after a resume) and Parquet files. */
const stagedParts = (staging: string, set: ContractSet, fetched: ReadonlyMap<string, ColumnBatch>) =>
  Effect.gen(function* () {
    const batches: Array<ColumnBatch> = []
    const files: Array<string> = []
    for (const c of set.contracts) {
      const inMemory = fetched.get(c.ticker)
      if (inMemory !== undefined) {
        batches.push(inMemory)
        continue
      }
      const staged = stagedFiles(staging, c.ticker)
      if (yield* exists(staged.columns))
        batches.push(
          yield* Effect.tryPromise({ try: () => readColumnFile(staged.columns), catch: lakeError(staged.columns) })
        )
      else if (yield* exists(staged.parquet)) files.push(staged.parquet)
      else
        return yield* new LakeWriteError({
          target: staged.columns,
          message: `contract ${c.ticker} is checkpointed but its staged rows are missing`
        })
    }
    return { batches, files }
  })

/**
 * Fetch every contract's bars (concurrently, resumable per contract), then write the partition in
 * one go; with a `scope` (several underlyings) only this underlying's part of it.
 */
export const optionsDay = (
  run: BackfillRun,
  set: ContractSet,
  onUnit: (rows: number) => Effect.Effect<void>,
  scope?: UnderlyingScope
) =>
  Effect.gen(function* () {
    const date = set.date
    const settings = yield* AppSettings
    const writer = yield* ParquetWriter
    const checkpoints = yield* Checkpoints
    const root = settings.storage.root
    const dayUnit = scope?.underlying
    const done = run.overwrite ? undefined : yield* checkpoints.get("options", date, dayUnit)
    if (done)
      return { rows: done.rows, quarantined: done.quarantined, outsideSession: done.outsideSession ?? 0, skipped: true }
    const dayStaging = lakePaths(root).stagingDir("options", date)
    const staging = scope === undefined ? dayStaging : path.join(dayStaging, tickerFileName(scope.underlying))
    if (run.overwrite) yield* fileIo("remove", staging, () => fs.rm(staging, { recursive: true, force: true }))
    const fresh = !(yield* exists(staging))
    const startedAt = yield* Clock.currentTimeMillis
    const timespan = settings.options.timespan
    const fetched = new Map<string, ColumnBatch>()
    // A contract's checkpoint without its staged rows is an earlier completed day's (another
    // arrangement of underlyings, e.g. before one was added): its rows are merged, not staged, so
    // the contract is fetched again.
    const unitRun = (ticker: string) =>
      Effect.map(
        fresh ? Effect.succeed(false) : Effect.map(stagedAny(staging, ticker), (staged) => !staged),
        (refetch) => (fresh || refetch ? { ...run, overwrite: true } : run)
      )
    const results = yield* Effect.forEach(
      set.contracts,
      (c) =>
        Effect.flatMap(unitRun(c.ticker), (r) =>
          runUnit(r, {
            feed: "options",
            date,
            unit: c.ticker,
            label: `${c.ticker} bars`,
            fetch: fetchAggs("options", { ticker: c.ticker, timespan, from: date, to: date }),
            normalize: (raw, p) => restAggRow("options", c.ticker, raw, p),
            bars: true,
            store: contractStore(writer, staging, c.ticker, fetched, fresh)
          })
        ).pipe(Effect.tap((r) => onUnit(r.rows))),
      { concurrency: settings.polygon.maxConcurrency }
    )
    const parts = yield* stagedParts(staging, set, fetched)
    const mode = !run.overwrite ? "merge" : scope === undefined ? "replace" : { replaceWhere: scope.replaceWhere }
    const { rows } = yield* writer.upsert(OPTIONS_SCHEMA, root, date, parts, mode)
    const quarantined = results.reduce((n, r) => n + r.quarantined, 0)
    const outsideSession = results.reduce((n, r) => n + r.outsideSession, 0)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* checkpoints.put({
      feed: "options",
      date,
      unit: dayUnit,
      rows,
      quarantined,
      outsideSession,
      completedAtMs: finishedAt
    })
    yield* fileIo("remove", staging, () => fs.rm(staging, { recursive: true, force: true }))
    // The day's folder goes with its last underlying (a folder left behind would read as staged rows).
    if (scope !== undefined) yield* Effect.promise(() => fs.rmdir(dayStaging).catch(() => undefined))
    yield* Effect.logInfo(
      `Fetched ${rows.toLocaleString("en-US")} ${dayUnit === undefined ? "" : `${dayUnit} `}option bars (${set.contracts.length} contracts) for ${date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s`
    )
    return { rows, quarantined, outsideSession, skipped: false }
  })
