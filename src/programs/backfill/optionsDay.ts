/**
 * The option feeds of a backfill day: the contract set (from SPY's official open) and one
 * staged Parquet file per contract, assembled into the day's partition once every contract is in.
 */
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { MarketHoliday } from "../../domain/calendar.js"
import { nextTradingDay } from "../../domain/calendar.js"
import { type ContractLike, selectContracts, strikeBounds } from "../../domain/contractSelection.js"
import { CONTRACTS_SCHEMA, OPTIONS_SCHEMA, type Row } from "../../domain/feeds.js"
import { contractRow, restAggRow } from "../../domain/normalize.js"
import { tickerFileName } from "../../domain/paths.js"
import { SPY } from "../../domain/tickers.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import type { RawItem } from "../../services/PolygonRest.js"
import type { BackfillEnv } from "./env.js"
import { runUnit } from "./ingest.js"

export interface ContractSet {
  readonly date: string
  readonly openPrice: number
  readonly expiration: string
  readonly contracts: ReadonlyArray<RawItem & ContractLike>
}

/** SPY's official open of the date: the open of its day bar. Undefined when SPY did not trade. */
export const officialOpen = (env: BackfillEnv, date: string) =>
  env.rest.aggs({ ticker: SPY, timespan: "day", from: date, to: date }).pipe(
    Effect.map((bars) => (typeof bars[0]?.["o"] === "number" ? (bars[0]["o"] as number) : undefined))
  )

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
    const openPrice = yield* officialOpen(env, date)
    if (openPrice === undefined) {
      yield* Effect.logWarning(`No SPY day bar for ${date}: no official open, so no option contracts (market closed that day?)`)
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
    yield* env.writer.write(CONTRACTS_SCHEMA, rows, env.paths.backfillFile("contracts", date))
    const set: ContractSet = { date, openPrice, expiration, contracts: chosen }
    yield* Effect.promise(() => writeFileAtomic(file, JSON.stringify(set, null, 1)))
    yield* Effect.logInfo(
      `Selected ${chosen.length} option contracts for ${date}: SPY open ${openPrice}, strikes ${low.toFixed(2)}–${high.toFixed(2)}, expiring ${expiration}`
    )
    return set
  })

/** Fetch every contract's bars (concurrently, resumable per contract), then assemble the partition. */
export const optionsDay = (env: BackfillEnv, set: ContractSet, onUnit: (rows: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const date = set.date
    if (!env.overwrite && (yield* env.checkpoints.get("options", date))) {
      const done = (yield* env.checkpoints.get("options", date))!
      return { rows: done.rows, quarantined: done.quarantined, skipped: true }
    }
    const staging = env.paths.stagingDir("options", date)
    if (env.overwrite) yield* Effect.promise(() => fs.rm(staging, { recursive: true, force: true }))
    const startedAt = yield* Clock.currentTimeMillis
    const timespan = env.settings.options.timespan
    const results = yield* Effect.forEach(
      set.contracts,
      (c) =>
        runUnit(env, {
          feed: "options",
          date,
          unit: c.ticker,
          label: `${c.ticker} bars`,
          fetch: env.rest.aggs({ ticker: c.ticker, timespan, from: date, to: date }),
          normalize: (raw, p) => restAggRow("options", c.ticker, raw, p),
          target: path.join(staging, `${tickerFileName(c.ticker)}.parquet`)
        }).pipe(Effect.tap((r) => onUnit(r.rows))),
      { concurrency: env.settings.polygon.maxConcurrency }
    )
    const files = set.contracts.map((c) => path.join(staging, `${tickerFileName(c.ticker)}.parquet`))
    const rows = files.length === 0 ? yield* env.writer.write(OPTIONS_SCHEMA, [], env.paths.backfillFile("options", date)) : yield* env.writer.merge(OPTIONS_SCHEMA, files, env.paths.backfillFile("options", date), { disjoint: true })
    const quarantined = results.reduce((n, r) => n + r.quarantined, 0)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* env.checkpoints.put({ feed: "options", date, rows, quarantined, completedAtMs: finishedAt })
    yield* Effect.promise(() => fs.rm(staging, { recursive: true, force: true }))
    yield* Effect.logInfo(
      `Fetched ${rows.toLocaleString("en-US")} option bars (${set.contracts.length} contracts) for ${date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s`
    )
    return { rows, quarantined, skipped: false }
  })
