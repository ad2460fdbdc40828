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

/** Where a contract's rows wait for the day's file: clean columns, or (drift, quarantine) a Parquet file. */
const stagedFiles = (root: string, date: string, ticker: string) => {
  const base = path.join(lakePaths(root).stagingDir("options", date), tickerFileName(ticker))
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
  root: string,
  date: string,
  ticker: string,
  fetched: Map<string, ColumnBatch>,
  fresh: boolean
): UnitStore<LakeWriteError | FileIoError> => {
  const files = stagedFiles(root, date, ticker)
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

/** The day's contracts as batches (this run's, or read back from staging after a resume) and Parquet files. */
const stagedParts = (root: string, set: ContractSet, fetched: ReadonlyMap<string, ColumnBatch>) =>
  Effect.gen(function* () {
    const batches: Array<ColumnBatch> = []
    const files: Array<string> = []
    for (const c of set.contracts) {
      const inMemory = fetched.get(c.ticker)
      if (inMemory !== undefined) {
        batches.push(inMemory)
        continue
      }
      const staged = stagedFiles(root, set.date, c.ticker)
      const exists = (file: string) =>
        Effect.promise(() =>
          fs.access(file).then(
            () => true,
            () => false
          )
        )
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

/** Fetch every contract's bars (concurrently, resumable per contract), then write the partition in one go. */
export const optionsDay = (run: BackfillRun, set: ContractSet, onUnit: (rows: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const date = set.date
    const settings = yield* AppSettings
    const writer = yield* ParquetWriter
    const checkpoints = yield* Checkpoints
    const root = settings.storage.root
    if (!run.overwrite && (yield* checkpoints.get("options", date))) {
      const done = (yield* checkpoints.get("options", date))!
      return { rows: done.rows, quarantined: done.quarantined, outsideSession: done.outsideSession ?? 0, skipped: true }
    }
    const staging = lakePaths(root).stagingDir("options", date)
    if (run.overwrite) yield* fileIo("remove", staging, () => fs.rm(staging, { recursive: true, force: true }))
    const fresh = !(yield* Effect.promise(() =>
      fs.access(staging).then(
        () => true,
        () => false
      )
    ))
    const startedAt = yield* Clock.currentTimeMillis
    const timespan = settings.options.timespan
    const fetched = new Map<string, ColumnBatch>()
    const results = yield* Effect.forEach(
      set.contracts,
      (c) =>
        runUnit(run, {
          feed: "options",
          date,
          unit: c.ticker,
          label: `${c.ticker} bars`,
          fetch: fetchAggs("options", { ticker: c.ticker, timespan, from: date, to: date }),
          normalize: (raw, p) => restAggRow("options", c.ticker, raw, p),
          bars: true,
          store: contractStore(writer, root, date, c.ticker, fetched, fresh)
        }).pipe(Effect.tap((r) => onUnit(r.rows))),
      { concurrency: settings.polygon.maxConcurrency }
    )
    const parts = yield* stagedParts(root, set, fetched)
    const { rows } = yield* writer.upsert(OPTIONS_SCHEMA, root, date, parts, run.overwrite ? "replace" : "merge")
    const quarantined = results.reduce((n, r) => n + r.quarantined, 0)
    const outsideSession = results.reduce((n, r) => n + r.outsideSession, 0)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* checkpoints.put({ feed: "options", date, rows, quarantined, outsideSession, completedAtMs: finishedAt })
    yield* fileIo("remove", staging, () => fs.rm(staging, { recursive: true, force: true }))
    yield* Effect.logInfo(
      `Fetched ${rows.toLocaleString("en-US")} option bars (${set.contracts.length} contracts) for ${date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s`
    )
    return { rows, quarantined, outsideSession, skipped: false }
  })
