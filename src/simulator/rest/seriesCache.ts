/**
 * The REST server's own cache of per-second series, per market: the server keeps what it has
 * served (and, through `serializedBars`, its JSON bytes) as a real API's servers keep hot
 * responses. The market's own LRU is sized for one day's option chain; a backfill of several
 * days cycles through more series than that and would regenerate every one on every pass.
 * Bounded by the bars it holds (least recently used series dropped first). Series are immutable
 * and deterministic, so a cached one is the very series the market would compute again.
 */
import type { MarketData } from "../MarketData.js"
import type { AnyAgg } from "./aggregate.js"

/** About 300 MB of bar objects and their JSON at the most. */
const MAX_BARS = 1_000_000

interface Cache {
  readonly series: Map<string, ReadonlyArray<AnyAgg>>
  bars: number
}

const caches = new WeakMap<MarketData, Cache>()

/** `market.secondBars(ticker, date)`, cached. */
export const cachedSecondBars = (market: MarketData, ticker: string, date: string): ReadonlyArray<AnyAgg> => {
  let cache = caches.get(market)
  if (cache === undefined) caches.set(market, (cache = { series: new Map(), bars: 0 }))
  const key = `${ticker}|${date}`
  const hit = cache.series.get(key)
  if (hit !== undefined) {
    cache.series.delete(key)
    cache.series.set(key, hit)
    return hit
  }
  const series = market.secondBars(ticker, date)
  if (series.length > MAX_BARS) return series
  cache.series.set(key, series)
  cache.bars += series.length
  for (const [oldest, old] of cache.series) {
    if (cache.bars <= MAX_BARS) break
    cache.series.delete(oldest)
    cache.bars -= old.length
  }
  return series
}
