/** The one-unit-per-day feeds of a backfill: SPY bars, VIX values, SPY news. */
import { Effect } from "effect"
import { addDays, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { newsRow, restAggRow, restIndexRow } from "../../domain/normalize.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillEnv } from "./env.js"
import { dayFileStore, type Fetched, runUnit } from "./unit.js"

/** The underlying's bars (`tickers.underlying`, SPY by default) in the `spy` feed. */
export const spyDay = (env: BackfillEnv, date: string, ticker = env.settings.tickers.underlying) =>
  runUnit(env, {
    feed: "spy",
    date,
    label: `${ticker} bars`,
    fetch: fetchAggs(env, "spy", { ticker, timespan: "second", from: date, to: date }),
    normalize: (raw, p) => restAggRow("spy", ticker, raw, p),
    bars: true,
    store: dayFileStore(env, "spy", date)
  })

/** The index's values (`tickers.index`, I:VIX by default) in the `vix` feed. */
export const vixDay = (env: BackfillEnv, date: string, ticker = env.settings.tickers.index) =>
  runUnit(env, {
    feed: "vix",
    date,
    label: `${ticker} values`,
    fetch: fetchAggs(env, "vix", { ticker, timespan: "second", from: date, to: date }),
    normalize: (raw, p) => restIndexRow(ticker, raw, p),
    bars: true,
    store: dayFileStore(env, "vix", date)
  })

/** Articles tagged with the underlying whose `published_utc` falls on the date in New York time. */
export const newsDay = (env: BackfillEnv, date: string, ticker = env.settings.tickers.underlying) => {
  const from = new Date(nyTimeMs(date, 0)).toISOString()
  const to = new Date(nyTimeMs(addDays(date, 1), 0)).toISOString()
  return runUnit(env, {
    feed: "news",
    date,
    label: `${ticker} news articles`,
    fetch: env.rest
      .news({ ticker, "published_utc.gte": from, "published_utc.lt": to, order: "asc", sort: "published_utc" })
      .pipe(Effect.map((items): Fetched => ({ _tag: "Items", items }))),
    normalize: (raw, p) => newsRow(raw, p),
    bars: false,
    keep: (row) => nyDateOf(row["published_utc_ms"] as number) === date && (JSON.parse(row["tickers"] as string) as Array<string>).includes(ticker),
    store: dayFileStore(env, "news", date)
  })
}
