/**
 * A MarketData read back from a lake this platform recorded (`simulate --source lake:PATH`):
 * `ROOT/raw/{spy,options,vix,contracts}/date=YYYY-MM-DD/*.parquet` and `ROOT/raw/news/…`.
 * Rows are deduplicated by the feed's key, the greatest `received_at_ms` winning (as the lake
 * readers do). A (feed, date) is loaded on first use, synchronously (MarketData is synchronous:
 * see syncQuery.ts), and cached; bars outside the regular session are not served.
 * Holidays are the NYSE rules (the lake stores none).
 */
import * as fs from "node:fs"
import { holidayIndex, nyDateOf, sessionOf } from "../../domain/calendar.js"
import { type Feed, SCHEMAS } from "../../domain/feeds.js"
import { nyseHolidays } from "../../domain/nyseHolidays.js"
import { lakePaths } from "../../domain/paths.js"
import { sqlString } from "../../services/DuckDb.js"
import type { MarketData, WireAgg, WireArticle, WireContract, WireIndexAgg } from "../MarketData.js"
import { aggBars, articles, contracts, indexBars, tickerRuns } from "./lakeRows.js"
import { type ColumnarResult, startSyncQuery } from "./syncQuery.js"

export interface LakeMarket extends MarketData {
  /** Stop the DuckDB worker. */
  readonly close: () => Promise<void>
}

const BAR_COLUMNS: Record<"spy" | "options" | "vix", string> = {
  spy: "ticker, CAST(window_start_ms AS DOUBLE) AS t, open, high, low, close, volume, vwap, CAST(transactions AS DOUBLE) AS transactions, avg_trade_size",
  options:
    "ticker, CAST(window_start_ms AS DOUBLE) AS t, open, high, low, close, volume, vwap, CAST(transactions AS DOUBLE) AS transactions, avg_trade_size",
  vix: "ticker, CAST(window_start_ms AS DOUBLE) AS t, open, high, low, close"
}
const CONTRACT_COLUMNS =
  "ticker, underlying_ticker, contract_type, expiration_date, strike_price, shares_per_contract, primary_exchange, cfi"
const NEWS_COLUMNS = SCHEMAS.news.columns
  .map((c) => (c.type === "BIGINT" ? `CAST("${c.name}" AS DOUBLE) AS "${c.name}"` : `"${c.name}"`))
  .join(", ")

const latestByKey = (feed: Feed) =>
  `QUALIFY row_number() OVER (PARTITION BY ${SCHEMAS[feed].key.map((k) => `"${k}"`).join(", ")} ORDER BY received_at_ms DESC) = 1`

const hasParquet = (dir: string): boolean => {
  try {
    return fs.readdirSync(dir).some((f) => f.endsWith(".parquet"))
  } catch {
    return false
  }
}

interface BarDay {
  readonly result: ColumnarResult
  readonly runs: ReadonlyMap<string, readonly [number, number]>
  readonly built: Map<string, ReadonlyArray<WireAgg | WireIndexAgg>>
}

export const makeLakeMarket = async (
  root: string,
  options: { readonly cachedDays?: number } = {}
): Promise<LakeMarket> => {
  const paths = lakePaths(root)
  if (
    !fs.existsSync(paths.feedDir("spy")) &&
    !fs.existsSync(paths.feedDir("options")) &&
    !fs.existsSync(paths.feedDir("vix"))
  )
    throw new Error(`not a lake (no raw/spy, raw/options or raw/vix under ${root})`)
  const db = await startSyncQuery()
  const capacity = options.cachedDays ?? 6
  const barDays = new Map<string, BarDay>()
  const contractDays = new Map<string, ReadonlyArray<WireContract>>()
  let newsByDate: ReadonlyMap<string, ReadonlyArray<WireArticle>> | undefined

  const partition = (feed: Feed, date: string, columns: string, order: string): ColumnarResult | undefined => {
    const dir = paths.partitionDir(feed, date)
    if (!hasParquet(dir)) return undefined
    const glob = sqlString(`${dir}/*.parquet`)
    return db.query(
      `SELECT ${columns} FROM read_parquet(${glob}, hive_partitioning = true, union_by_name = true) ${latestByKey(feed)} ORDER BY ${order}`
    )
  }

  const remember = <A>(cache: Map<string, A>, key: string, value: A): A => {
    if (cache.size >= capacity) cache.delete(cache.keys().next().value as string)
    cache.set(key, value)
    return value
  }

  const barDay = (feed: "spy" | "options" | "vix", date: string): BarDay | undefined => {
    const key = `${feed}|${date}`
    const hit = barDays.get(key)
    if (hit !== undefined) return hit
    const result = partition(feed, date, BAR_COLUMNS[feed], "ticker, t")
    return remember(barDays, key, {
      result: result ?? { rows: 0, columns: {} },
      runs: result ? tickerRuns(result) : new Map(),
      built: new Map()
    })
  }

  const holidays = new Map<number, ReturnType<typeof holidayIndex>>()
  const session = (date: string) => {
    const year = Number(date.slice(0, 4))
    if (!holidays.has(year)) holidays.set(year, holidayIndex(nyseHolidays(year)))
    return sessionOf(date, holidays.get(year)!)
  }

  const secondBars = (ticker: string, date: string): ReadonlyArray<WireAgg | WireIndexAgg> => {
    const s = session(date)
    if (s === undefined) return []
    // index rows (I:VIX, and whatever other index a lake recorded) live in the vix feed
    const feed = ticker.startsWith("I:") ? "vix" : ticker.startsWith("O:") ? "options" : "spy"
    const day = barDay(feed, date)!
    let bars = day.built.get(ticker)
    if (bars === undefined) {
      const run = day.runs.get(ticker)
      const all = run === undefined ? [] : feed === "vix" ? indexBars(day.result, run) : aggBars(day.result, run)
      bars = all.filter((b) => b.t >= s.openMs && b.t < s.closeMs)
      day.built.set(ticker, bars)
    }
    return bars
  }

  const allContractsOn = (asOf: string): ReadonlyArray<WireContract> => {
    const hit = contractDays.get(asOf)
    if (hit !== undefined) return hit
    const result = partition("contracts", asOf, CONTRACT_COLUMNS, "ticker")
    return remember(contractDays, asOf, result ? contracts(result) : [])
  }

  /** Every recorded contract of `asOf`, or one underlying's. */
  const contractsOn = (asOf: string, underlying?: string): ReadonlyArray<WireContract> => {
    const all = allContractsOn(asOf)
    return underlying === undefined ? all : all.filter((c) => c.underlying_ticker === underlying)
  }

  const news = (date: string): ReadonlyArray<WireArticle> => {
    if (newsByDate === undefined) {
      const byDate = new Map<string, Array<WireArticle>>()
      if (
        fs.existsSync(paths.feedDir("news")) &&
        fs.readdirSync(paths.feedDir("news")).some((d) => hasParquet(`${paths.feedDir("news")}/${d}`))
      ) {
        const glob = sqlString(paths.feedGlob("news"))
        const result = db.query(
          `SELECT ${NEWS_COLUMNS} FROM read_parquet(${glob}, hive_partitioning = true, union_by_name = true) ${latestByKey("news")} ORDER BY published_utc_ms, id`
        )
        for (const { publishedMs, article } of articles(result)) {
          const d = nyDateOf(publishedMs)
          const list = byDate.get(d)
          if (list) list.push(article)
          else byDate.set(d, [article])
        }
      }
      newsByDate = byDate
    }
    return newsByDate.get(date) ?? []
  }

  return { holidays: nyseHolidays, secondBars, contracts: contractsOn, news, close: db.close }
}
