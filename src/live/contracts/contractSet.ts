/**
 * The day's option contract set: chosen once from SPY's official open (strikes within the band,
 * the configured expiration, nearest the money first), saved in `contracts.json` and read back
 * from there after, so backfill, live and a resume agree on it.
 */
import { Clock, Effect } from "effect"
import type { Settings } from "../../config/Settings.js"
import type { MarketHoliday } from "../../domain/calendar.js"
import { nextTradingDay, sessionOf } from "../../domain/calendar.js"
import { type ContractLike, selectContracts, strikeBounds } from "../../domain/contractSelection.js"
import { CONTRACTS_SCHEMA, type Row } from "../../domain/feeds.js"
import { contractRow } from "../../domain/normalize.js"
import type { LakePaths } from "../../domain/paths.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import type { ParquetWriterService } from "../../services/ParquetWriter.js"
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

/**
 * SPY's official open of the date: the open of its first bar at or after 09:30 New York, the
 * regular open (REST aggregates start at 04:00 with pre-market trades, so neither the day bar nor
 * the day's first bar is it). Asked as the second bars of the open's minute (there as soon as the
 * first second has closed, which live needs), else the session's minute bars. Undefined when SPY
 * did not trade in the session (yet).
 */
export const officialOpen = (env: ContractSetEnv, date: string, holidays: ReadonlyMap<string, MarketHoliday>) => {
  const session = sessionOf(date, holidays)
  if (session === undefined) return Effect.succeed(undefined)
  const firstOpen = (bars: ReadonlyArray<RawItem>) => {
    const first = bars.find((b) => typeof b["t"] === "number" && b["t"] >= session.openMs && b["t"] < session.closeMs)
    return typeof first?.["o"] === "number" ? first["o"] : undefined
  }
  return env.rest
    .aggs({
      ticker: env.settings.tickers.underlying,
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
                ticker: env.settings.tickers.underlying,
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

/** The day's contract set, chosen once and then read back from contracts.json (stable across resumes). */
export const contractSet = (env: ContractSetEnv, date: string, holidays: ReadonlyMap<string, MarketHoliday>) =>
  Effect.gen(function* () {
    const file = env.paths.contractsJson(date)
    if (!env.overwrite) {
      const saved = yield* fileIo("read", file, () => readJsonIfExists<ContractSet>(file))
      if (saved) return saved
    }
    const openPrice = yield* officialOpen(env, date, holidays)
    if (openPrice === undefined) {
      yield* Effect.logWarning(
        `No ${env.settings.tickers.underlying} bar in the regular session of ${date}: no official open, so no option contracts (market closed that day?)`
      )
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
    yield* fileIo("write", file, () => writeFileAtomic(file, JSON.stringify(set, null, 1)))
    yield* Effect.logInfo(
      `Selected ${chosen.length} option contracts for ${date}: ${underlying} open ${openPrice}, strikes ${low.toFixed(2)}–${high.toFixed(2)}, expiring ${expiration}`
    )
    return set
  })
