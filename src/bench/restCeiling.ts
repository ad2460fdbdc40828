/**
 * The bare REST ceiling of a backfill: the same pages the backfill asked for (SPY and VIX seconds,
 * the official-open probe, the contract listing, every chosen contract's seconds, news), fetched
 * with `fetch` + `JSON.parse` and nothing else, `inFlight` requests at a time, following
 * `next_url`. The day's contract set is read back from the backfilled lake's `contracts.json`.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { addDays, nyTimeMs } from "../domain/calendar.js"
import { strikeBounds } from "../domain/contractSelection.js"

interface SavedSet {
  readonly openPrice: number
  readonly expiration: string
  readonly contracts: ReadonlyArray<{ readonly ticker: string }>
}

export interface CeilingResult {
  readonly seconds: number
  readonly requests: number
  /** Items in every page (aggregates before the session filter, articles, contracts). */
  readonly items: number
}

const aggs = (base: string, ticker: string, from: string | number, to: string | number, timespan = "second") =>
  `${base}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/1/${timespan}/${from}/${to}?adjusted=true&sort=asc&limit=50000`

/** The first page of every unit of `dates`, in the order the backfill starts them. */
export const firstPages = async (
  base: string,
  lake: string,
  dates: ReadonlyArray<string>,
  bandPct = 0.01
): Promise<Array<string>> => {
  const urls: Array<string> = []
  for (const date of dates) {
    urls.push(aggs(base, "SPY", date, date), aggs(base, "I:VIX", date, date))
    const from = new Date(nyTimeMs(date, 0)).toISOString()
    const to = new Date(nyTimeMs(addDays(date, 1), 0)).toISOString()
    urls.push(
      `${base}/v2/reference/news?limit=1000&ticker=SPY&published_utc.gte=${from}&published_utc.lt=${to}&order=asc&sort=published_utc`
    )
    const file = path.join(lake, "raw", "contracts", `date=${date}`, "contracts.json")
    const set = JSON.parse(await fs.readFile(file, "utf8")) as SavedSet
    const open = nyTimeMs(date, 9, 30)
    urls.push(aggs(base, "SPY", open, open + 59_999))
    const { low, high } = strikeBounds(set.openPrice, bandPct)
    urls.push(
      `${base}/v3/reference/options/contracts?limit=1000&underlying_ticker=SPY&expiration_date=${set.expiration}&as_of=${date}` +
        `&strike_price.gte=${Math.floor(low)}&strike_price.lte=${Math.ceil(high)}`
    )
    for (const c of set.contracts) urls.push(aggs(base, c.ticker, date, date))
  }
  return urls
}

/** One page; a connection the server closed under a reused keep-alive socket is tried again (twice at most). */
const get = async (
  url: string,
  apiKey: string,
  attempt = 0
): Promise<{ results?: ReadonlyArray<unknown>; next_url?: string }> => {
  try {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${apiKey}` } })
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`)
    return JSON.parse(await res.text()) as { results?: ReadonlyArray<unknown>; next_url?: string }
  } catch (e) {
    if (attempt >= 2 || !(e instanceof TypeError)) throw e
    return get(url, apiKey, attempt + 1)
  }
}

/** Fetch every URL and its `next_url` chain, `inFlight` at a time. */
export const restCeiling = async (
  urls: ReadonlyArray<string>,
  apiKey: string,
  inFlight = 8
): Promise<CeilingResult> => {
  const started = performance.now()
  let index = 0
  let requests = 0
  let items = 0
  const worker = async () => {
    while (index < urls.length) {
      let next: string | undefined = urls[index++]
      while (next !== undefined) {
        const page = await get(next, apiKey)
        requests += 1
        items += page.results?.length ?? 0
        next = page.next_url
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return { seconds: (performance.now() - started) / 1000, requests, items }
}
