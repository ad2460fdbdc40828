/**
 * The day's option contract set of an underlying: chosen once from its official open (strikes
 * within its band, its expiration, at most its `max_contracts` nearest the money first), saved in
 * `contracts.json` (the first underlying) or `contracts-<TICKER>.json` (each further one) and read
 * back from there after, so backfill, live and a resume agree on it.
 */
import { Clock, Effect } from "effect"
import type { Settings } from "../../config/Settings.js"
import type { UnderlyingRule } from "../../config/universe.js"
import type { MarketHoliday } from "../../domain/calendar.js"
import { nextTradingDay, sessionOf } from "../../domain/calendar.js"
import { type ContractLike, selectContracts, strikeBounds } from "../../domain/contractSelection.js"
import { CONTRACTS_SCHEMA, type Row } from "../../domain/feeds.js"
import { contractRow } from "../../domain/normalize.js"
import { type LakePaths, tickerFileName } from "../../domain/paths.js"
import { readJsonIfExists, removeDeadTemps, writeFileAtomic } from "../../lib/atomicFile.js"
import { LakeWriteError, type ParquetWriterService } from "../../services/ParquetWriter.js"
import type { UpsertMode } from "../../services/parquet/partitionUpsert.js"
import { sqlString } from "../../services/DuckDb.js"
import type { PolygonRestService, RawItem } from "../../services/polygon/PolygonRest.js"
import { fileIo } from "../../lib/fileIo.js"

/** What choosing the set needs (a backfill's environment has it all). */
export interface ContractSetEnv {
  readonly settings: Settings
  readonly paths: LakePaths
  readonly rest: PolygonRestService
  readonly writer: ParquetWriterService
  readonly overwrite: boolean
}

export interface ContractSet {
  readonly date: string
  readonly openPrice: number
  readonly expiration: string
  readonly contracts: ReadonlyArray<RawItem & ContractLike>
}

/** The rule a set is chosen by: an underlying's, by default the first's (`options.*`). */
export type SetRule = Pick<UnderlyingRule, "ticker" | "strikeBandPct" | "maxContracts" | "expiration">

export const firstRule = (settings: Settings): SetRule => ({ ...settings.options, ticker: settings.options.underlying })

/**
 * The underlying's official open of the date: the open of its first bar at or after 09:30 New York, the
 * regular open (REST aggregates start at 04:00 with pre-market trades, so neither the day bar nor
 * the day's first bar is it). Asked as the second bars of the open's minute (there as soon as the
 * first second has closed, which live needs), else the session's minute bars. Undefined when SPY
 * did not trade in the session (yet).
 */
export const officialOpen = (
  env: ContractSetEnv,
  date: string,
  holidays: ReadonlyMap<string, MarketHoliday>,
  ticker: string = env.settings.tickers.underlying
) => {
  const session = sessionOf(date, holidays)
  if (session === undefined) return Effect.succeed(undefined)
  const firstOpen = (bars: ReadonlyArray<RawItem>) => {
    const first = bars.find((b) => typeof b["t"] === "number" && b["t"] >= session.openMs && b["t"] < session.closeMs)
    return typeof first?.["o"] === "number" ? first["o"] : undefined
  }
  return env.rest
    .aggs({
      ticker,
      timespan: "second",
      from: session.openMs,
      to: session.openMs + 59_999
    })
    .pipe(
      Effect.flatMap((bars) => {
        const open = firstOpen(bars)
        return open !== undefined
          ? Effect.succeed(open)
          : Effect.map(
              env.rest.aggs({
                ticker,
                timespan: "minute",
                from: session.openMs,
                to: session.closeMs - 1
              }),
              firstOpen
            )
      })
    )
}

const isContract = (raw: RawItem): raw is RawItem & ContractLike =>
  typeof raw["ticker"] === "string" &&
  typeof raw["strike_price"] === "number" &&
  typeof raw["expiration_date"] === "string" &&
  typeof raw["contract_type"] === "string"

/** Where the set of `ticker` is saved: `contracts.json` for the first underlying, `contracts-<TICKER>.json` beside it else. */
export const contractsFile = (env: Pick<ContractSetEnv, "settings" | "paths">, date: string, ticker: string) =>
  ticker === env.settings.tickers.underlying
    ? env.paths.contractsJson(date)
    : env.paths.contractsJson(date).replace(/contracts\.json$/, `contracts-${tickerFileName(ticker)}.json`)

/**
 * How a set's rows go into the contracts partition: the partition (`replace`) when the config has
 * one underlying, the underlying's rows (`underlying_ticker`) when it has several.
 */
const contractsMode = (env: ContractSetEnv, ticker: string): UpsertMode =>
  !env.overwrite
    ? "merge"
    : env.settings.underlyings.length <= 1
      ? "replace"
      : { replaceWhere: `underlying_ticker = ${sqlString(ticker)}` }

/** The day's contract set, chosen once and then read back from its file (stable across resumes). */
export const contractSet = (
  env: ContractSetEnv,
  date: string,
  holidays: ReadonlyMap<string, MarketHoliday>,
  rule: SetRule = firstRule(env.settings)
) =>
  Effect.gen(function* () {
    const underlying = rule.ticker
    const file = contractsFile(env, date, underlying)
    if (!env.overwrite) {
      const saved = yield* fileIo("read", file, () => readJsonIfExists<ContractSet>(file))
      const other = saved?.contracts.find((c) => c["underlying_ticker"] !== underlying)?.["underlying_ticker"]
      if (other !== undefined)
        return yield* new LakeWriteError({
          target: file,
          message: `${file} holds ${String(other)}'s contracts, not ${underlying}'s: the first underlying of the config changed (keep the order of underlyings:, or choose the set again with --overwrite)`
        })
      if (saved) return saved
    }
    const openPrice = yield* officialOpen(env, date, holidays, underlying)
    if (openPrice === undefined) {
      yield* Effect.logWarning(
        `No ${underlying} bar in the regular session of ${date}: no official open, so no option contracts (market closed that day?)`
      )
      return undefined
    }
    const { strikeBandPct: bandPct, maxContracts, expiration: when } = rule
    const expiration = when === "same_day" ? date : nextTradingDay(date, holidays)
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
    yield* env.writer.upsert(CONTRACTS_SCHEMA, env.paths.root, date, { rows }, contractsMode(env, underlying))
    const set: ContractSet = { date, openPrice, expiration, contracts: chosen }
    // a run killed between writing the set and its rename left a temporary file beside it
    yield* fileIo("write", file, () =>
      removeDeadTemps(file).then(() => writeFileAtomic(file, JSON.stringify(set, null, 1)))
    )
    yield* Effect.logInfo(
      `Selected ${chosen.length} option contracts for ${date}: ${underlying} open ${openPrice}, strikes ${low.toFixed(2)}–${high.toFixed(2)}, expiring ${expiration}`
    )
    return set
  })
