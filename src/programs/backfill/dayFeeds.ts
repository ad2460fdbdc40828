/** The one-unit-per-day feeds of a backfill: SPY bars, VIX values, SPY news. */
import { Effect } from "effect"
import { addDays, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import { newsRow, restAggRow, restIndexRow } from "../../domain/normalize.js"
import { AppSettings } from "../../services/AppSettings.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillRun } from "./run.js"
import { dayFileStore, type Fetched, runUnit } from "./unit.js"

/** The underlying's bars (`tickers.underlying`, SPY by default) in the `spy` feed. */
export const spyDay = (run: BackfillRun, date: string) =>
  Effect.gen(function* () {
    const ticker = (yield* AppSettings).tickers.underlying
    return yield* runUnit(run, {
      feed: "spy",
      date,
      label: `${ticker} bars`,
      fetch: fetchAggs("spy", { ticker, timespan: "second", from: date, to: date }),
      normalize: (raw, p) => restAggRow("spy", ticker, raw, p),
      bars: true,
      store: yield* dayFileStore(run, "spy", date)
    })
  })

/** The index's values (`tickers.index`, I:VIX by default) in the `vix` feed. */
export const vixDay = (run: BackfillRun, date: string) =>
  Effect.gen(function* () {
    const ticker = (yield* AppSettings).tickers.index
    return yield* runUnit(run, {
      feed: "vix",
      date,
      label: `${ticker} values`,
      fetch: fetchAggs("vix", { ticker, timespan: "second", from: date, to: date }),
      normalize: (raw, p) => restIndexRow(ticker, raw, p),
      bars: true,
      store: yield* dayFileStore(run, "vix", date)
    })
  })

/** Articles tagged with the underlying whose `published_utc` falls on the date in New York time. */
export const newsDay = (run: BackfillRun, date: string) =>
  Effect.gen(function* () {
    const ticker = (yield* AppSettings).tickers.underlying
    const rest = yield* PolygonRest
    const from = new Date(nyTimeMs(date, 0)).toISOString()
    const to = new Date(nyTimeMs(addDays(date, 1), 0)).toISOString()
    return yield* runUnit(run, {
      feed: "news",
      date,
      label: `${ticker} news articles`,
      fetch: rest
        .news({ ticker, "published_utc.gte": from, "published_utc.lt": to, order: "asc", sort: "published_utc" })
        .pipe(Effect.map((items): Fetched => ({ _tag: "Items", items }))),
      normalize: (raw, p) => newsRow(raw, p),
      bars: false,
      keep: (row) =>
        nyDateOf(row["published_utc_ms"] as number) === date &&
        (JSON.parse(row["tickers"] as string) as Array<string>).includes(ticker),
      store: yield* dayFileStore(run, "news", date)
    })
  })
