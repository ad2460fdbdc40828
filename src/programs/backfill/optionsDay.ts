/**
 * The option feeds of a backfill day: the contract set (from SPY's official open) and one
 * staged Parquet file per contract, assembled into the day's partition once every contract is in.
 */
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { MarketHoliday } from "../../domain/calendar.js"
import { nextTradingDay, sessionOf } from "../../domain/calendar.js"
import { type ContractLike, selectContracts, strikeBounds } from "../../domain/contractSelection.js"
import { CONTRACTS_SCHEMA, OPTIONS_SCHEMA, type Row } from "../../domain/feeds.js"
import { contractRow, restAggRow } from "../../domain/normalize.js"
import { tickerFileName } from "../../domain/paths.js"
import { SPY } from "../../domain/tickers.js"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import { readColumnFile, writeColumnFile } from "../../lib/columnFile.js"
import { LakeWriteError } from "../../services/ParquetWriter.js"
import type { RawItem } from "../../services/PolygonRest.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillEnv } from "./env.js"
import { runUnit, type UnitStore } from "./ingest.js"

export interface ContractSet {
  readonly date: string
  readonly openPrice: number
  readonly expiration: string
  readonly contracts: ReadonlyArray<RawItem & ContractLike>
}

/**
 * SPY's official open of the date: the open of its first bar at or after 09:30 New York, the
 * regular open (REST aggregates start at 04:00 with pre-market trades, so neither the day bar nor
 * the day's first bar is it). Asked as the second bars of the open's minute (there as soon as the
 * first second has closed, which live needs), else the session's minute bars. Undefined when SPY
 * did not trade in the session (yet).
 */
export const officialOpen = (env: BackfillEnv, date: string, holidays: ReadonlyMap<string, MarketHoliday>) => {
  const session = sessionOf(date, holidays)
  if (session === undefined) return Effect.succeed(undefined)
  const firstOpen = (bars: ReadonlyArray<RawItem>) => {
    const first = bars.find((b) => typeof b["t"] === "number" && b["t"] >= session.openMs && b["t"] < session.closeMs)
    return typeof first?.["o"] === "number" ? first["o"] : undefined
  }
  return env.rest.aggs({ ticker: SPY, timespan: "second", from: session.openMs, to: session.openMs + 59_999 }).pipe(
    Effect.flatMap((bars) => {
      const open = firstOpen(bars)
      return open !== undefined
        ? Effect.succeed(open)
        : Effect.map(env.rest.aggs({ ticker: SPY, timespan: "minute", from: session.openMs, to: session.closeMs - 1 }), firstOpen)
    })
  )
}

const isContract = (raw: RawItem): raw is RawItem & ContractLike =>
  typeof raw["ticker"] === "string" && typeof raw["strike_price"] === "number" && typeof raw["expiration_date"] === "string" && typeof raw["contract_type"] === "string"

/** The day's contract set, chosen once and then read back from contracts.json (stable across resumes). */
export const contractSet = (env: BackfillEnv, date: string, holidays: ReadonlyMap<string, MarketHoliday>) =>
  Effect.gen(function* () {
    const file = env.paths.contractsJson(date)
    if (!env.overwrite) {
      const saved = yield* Effect.promise(() => readJsonIfExists<ContractSet>(file))
      if (saved) return saved
    }
    const openPrice = yield* officialOpen(env, date, holidays)
    if (openPrice === undefined) {
      yield* Effect.logWarning(`No SPY bar in the regular session of ${date}: no official open, so no option contracts (market closed that day?)`)
      return undefined
    }
    const { strikeBandPct: bandPct, maxContracts, expiration: rule, underlying } = env.settings.options
    const expiration = rule === "same_day" ? date : nextTradingDay(date, holidays)
    const { low, high } = strikeBounds(openPrice, bandPct)
    const listed = yield* env.rest.contracts({
      underlying_ticker: underlying,
      expiration_date: expiration,
      as_of: date,
      "strike_price.gte": Math.floor(low),
      "strike_price.lte": Math.ceil(high)
    })
    const chosen = selectContracts(listed.filter(isContract), openPrice, expiration, { bandPct, maxContracts })
    const receivedAtMs = yield* Clock.currentTimeMillis
    const rows: Array<Row> = []
    chosen.forEach((raw, rank) => {
      const n = contractRow(raw, { asOf: date, openPrice, moneynessRank: rank }, { source: "rest", receivedAtMs })
      if (n.ok) rows.push(n.row)
    })
    yield* env.writer.upsert(CONTRACTS_SCHEMA, env.paths.root, date, { rows }, env.overwrite ? "replace" : "merge")
    const set: ContractSet = { date, openPrice, expiration, contracts: chosen }
    yield* Effect.promise(() => writeFileAtomic(file, JSON.stringify(set, null, 1)))
    yield* Effect.logInfo(
      `Selected ${chosen.length} option contracts for ${date}: SPY open ${openPrice}, strikes ${low.toFixed(2)}–${high.toFixed(2)}, expiring ${expiration}`
    )
    return set
  })

/** Where a contract's rows wait for the day's file: clean columns, or (drift, quarantine) a Parquet file. */
const stagedFiles = (env: BackfillEnv, date: string, ticker: string) => {
  const base = path.join(env.paths.stagingDir("options", date), tickerFileName(ticker))
  return { columns: `${base}.cols`, parquet: `${base}.parquet` }
}

const lakeError = (target: string) => (e: unknown) => new LakeWriteError({ target, message: e instanceof Error ? e.message : String(e) })

/**
 * A contract unit's store: one staging file, kept in memory too when columns. The other kind is
 * removed, in case an earlier run staged the contract differently (not needed when this run
 * found no staging folder).
 */
const contractStore = (env: BackfillEnv, date: string, ticker: string, fetched: Map<string, ColumnBatch>, fresh: boolean): UnitStore<LakeWriteError> => {
  const files = stagedFiles(env, date, ticker)
  const drop = (file: string) => (fresh ? Effect.void : Effect.promise(() => fs.rm(file, { force: true })))
  return {
    rows: (rows) => env.writer.write(OPTIONS_SCHEMA, rows, files.parquet).pipe(Effect.tap(() => drop(files.columns))),
    batch: (batch) =>
      Effect.tryPromise({ try: () => writeColumnFile(files.columns, batch), catch: lakeError(files.columns) }).pipe(
        Effect.zipRight(drop(files.parquet)),
        Effect.map(() => (fetched.set(ticker, batch), batch.length))
      )
  }
}

/** The day's contracts as batches (this run's, or read back from staging after a resume) and Parquet files. */
const stagedParts = (env: BackfillEnv, set: ContractSet, fetched: ReadonlyMap<string, ColumnBatch>) =>
  Effect.gen(function* () {
    const batches: Array<ColumnBatch> = []
    const files: Array<string> = []
    for (const c of set.contracts) {
      const inMemory = fetched.get(c.ticker)
      if (inMemory !== undefined) {
        batches.push(inMemory)
        continue
      }
      const staged = stagedFiles(env, set.date, c.ticker)
      const exists = (file: string) => Effect.promise(() => fs.access(file).then(() => true, () => false))
      if (yield* exists(staged.columns)) batches.push(yield* Effect.tryPromise({ try: () => readColumnFile(staged.columns), catch: lakeError(staged.columns) }))
      else if (yield* exists(staged.parquet)) files.push(staged.parquet)
      else return yield* new LakeWriteError({ target: staged.columns, message: `contract ${c.ticker} is checkpointed but its staged rows are missing` })
    }
    return { batches, files }
  })

/** Fetch every contract's bars (concurrently, resumable per contract), then write the partition in one go. */
export const optionsDay = (env: BackfillEnv, set: ContractSet, onUnit: (rows: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const date = set.date
    if (!env.overwrite && (yield* env.checkpoints.get("options", date))) {
      const done = (yield* env.checkpoints.get("options", date))!
      return { rows: done.rows, quarantined: done.quarantined, outsideSession: done.outsideSession ?? 0, skipped: true }
    }
    const staging = env.paths.stagingDir("options", date)
    if (env.overwrite) yield* Effect.promise(() => fs.rm(staging, { recursive: true, force: true }))
    const fresh = !(yield* Effect.promise(() => fs.access(staging).then(() => true, () => false)))
    const startedAt = yield* Clock.currentTimeMillis
    const timespan = env.settings.options.timespan
    const fetched = new Map<string, ColumnBatch>()
    const results = yield* Effect.forEach(
      set.contracts,
      (c) =>
        runUnit(env, {
          feed: "options",
          date,
          unit: c.ticker,
          label: `${c.ticker} bars`,
          fetch: fetchAggs(env, "options", { ticker: c.ticker, timespan, from: date, to: date }),
          normalize: (raw, p) => restAggRow("options", c.ticker, raw, p),
          bars: true,
          store: contractStore(env, date, c.ticker, fetched, fresh)
        }).pipe(Effect.tap((r) => onUnit(r.rows))),
      { concurrency: env.settings.polygon.maxConcurrency }
    )
    const parts = yield* stagedParts(env, set, fetched)
    const { rows } = yield* env.writer.upsert(OPTIONS_SCHEMA, env.paths.root, date, parts, env.overwrite ? "replace" : "merge")
    const quarantined = results.reduce((n, r) => n + r.quarantined, 0)
    const outsideSession = results.reduce((n, r) => n + r.outsideSession, 0)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* env.checkpoints.put({ feed: "options", date, rows, quarantined, outsideSession, completedAtMs: finishedAt })
    yield* Effect.promise(() => fs.rm(staging, { recursive: true, force: true }))
    yield* Effect.logInfo(
      `Fetched ${rows.toLocaleString("en-US")} option bars (${set.contracts.length} contracts) for ${date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s`
    )
    return { rows, quarantined, outsideSession, skipped: false }
  })
