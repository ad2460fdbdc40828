/** The one-unit-per-day feeds of a backfill: SPY bars, VIX values, SPY news. */
import { Effect } from "effect"
import { SPY, VIX } from "../../domain/tickers.js"
import { addDays, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { newsRow, restAggRow, restIndexRow } from "../../domain/normalize.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillEnv } from "./env.js"
import { dayFileStore, type Fetched, runUnit } from "./unit.js"

export const spyDay = (env: BackfillEnv, date: string) =>
  runUnit(env, {
    feed: "spy",
    date,
    label: "SPY bars",
    fetch: fetchAggs(env, "spy", { ticker: SPY, timespan: "second", from: date, to: date }),
    normalize: (raw, p) => restAggRow("spy", SPY, raw, p),
    bars: true,
    store: dayFileStore(env, "spy", date)
  })

export const vixDay = (env: BackfillEnv, date: string) =>
  runUnit(env, {
    feed: "vix",
    date,
    label: "VIX values",
    fetch: fetchAggs(env, "vix", { ticker: VIX, timespan: "second", from: date, to: date }),
    normalize: (raw, p) => restIndexRow(VIX, raw, p),
    bars: true,
    store: dayFileStore(env, "vix", date)
  })

/** Articles tagged SPY whose `published_utc` falls on the date in New York time. */
export const newsDay = (env: BackfillEnv, date: string) => {
  const from = new Date(nyTimeMs(date, 0)).toISOString()
  const to = new Date(nyTimeMs(addDays(date, 1), 0)).toISOString()
  return runUnit(env, {
    feed: "news",
    date,
    label: "SPY news articles",
    fetch: env.rest
      .news({ ticker: SPY, "published_utc.gte": from, "published_utc.lt": to, order: "asc", sort: "published_utc" })
      .pipe(Effect.map((items): Fetched => ({ _tag: "Items", items }))),
    normalize: (raw, p) => newsRow(raw, p),
    bars: false,
    keep: (row) => nyDateOf(row["published_utc_ms"] as number) === date && (JSON.parse(row["tickers"] as string) as Array<string>).includes(SPY),
    store: dayFileStore(env, "news", date)
  })
}
