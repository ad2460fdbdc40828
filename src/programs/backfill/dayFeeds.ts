/**
 * The day units of a backfill: every underlying's bars (feed `spy`), every index's values (feed
 * `vix`), the news of every underlying with `news: true`. A feed with one ticker is one unit
 * (`_day`, as a one-underlying lake always had); with several, one unit per ticker (named after
 * it), each merging into the shared partition, and with `--overwrite` replacing that ticker's rows.
 */
import { Effect } from "effect"
import { addDays, nyDateOf, nyTimeMs } from "../../domain/calendar.js"
import type { Feed } from "../../domain/feeds.js"
import { newsRow, restAggRow, restIndexRow } from "../../domain/normalize.js"
import { AppSettings } from "../../services/AppSettings.js"
import { sqlString } from "../../services/DuckDb.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { fetchAggs } from "./aggsFetch.js"
import type { BackfillRun } from "./run.js"
import { dayFileStore, type Fetched, runUnit, sumResults, type UnitResult } from "./unit.js"

/**
 * Each ticker's unit: with one ticker the day unit (no name, the whole partition), else named and
 * scoped to it. `only`: just that ticker's unit (a cluster unit), named as in the whole feed.
 */
const perTicker = <E, R>(
  tickers: ReadonlyArray<string>,
  unit: (ticker: string, name: string | undefined) => Effect.Effect<UnitResult, E, R>,
  only?: string
): Effect.Effect<UnitResult, E, R> => {
  const chosen = only === undefined ? tickers : tickers.filter((t) => t === only)
  return chosen.length === 0
    ? Effect.succeed({ rows: 0, quarantined: 0, outsideSession: 0, skipped: true })
    : tickers.length === 1
      ? unit(chosen[0]!, undefined)
      : Effect.map(
          Effect.forEach(chosen, (t) => unit(t, t), { concurrency: "unbounded" }),
          sumResults
        )
}

/** Bars of a ticker in a bar feed (`spy`: an underlying, `vix`: an index). */
const barsDay = (run: BackfillRun, feed: "spy" | "vix", date: string, ticker: string, name: string | undefined) =>
  Effect.gen(function* () {
    return yield* runUnit(run, {
      feed,
      date,
      unit: name,
      label: feed === "spy" ? `${ticker} bars` : `${ticker} values`,
      fetch: fetchAggs(feed, { ticker, timespan: "second", from: date, to: date }),
      normalize: (raw, p) => (feed === "spy" ? restAggRow("spy", ticker, raw, p) : restIndexRow(ticker, raw, p)),
      bars: true,
      store: yield* dayFileStore(run, feed, date, scopeOf(feed, ticker, name))
    })
  })

/** The rows of `ticker` in a feed that holds several (undefined: the whole partition). */
const scopeOf = (feed: Feed, ticker: string, name: string | undefined) =>
  name === undefined
    ? undefined
    : feed === "news"
      ? `contains(tickers, ${sqlString(JSON.stringify(ticker))})`
      : `ticker = ${sqlString(ticker)}`

/** Every underlying's bars (`underlyings`, SPY by default) in the `spy` feed. */
export const spyDay = (run: BackfillRun, date: string, only?: string) =>
  Effect.flatMap(AppSettings, (s) =>
    perTicker(
      s.underlyings.map((u) => u.ticker),
      (ticker, name) => barsDay(run, "spy", date, ticker, name),
      only
    )
  )

/** Every index's values (`indices`, I:VIX by default) in the `vix` feed. */
export const vixDay = (run: BackfillRun, date: string, only?: string) =>
  Effect.flatMap(AppSettings, (s) =>
    perTicker(s.indices, (ticker, name) => barsDay(run, "vix", date, ticker, name), only)
  )

/** Articles tagged with the ticker whose `published_utc` falls on the date in New York time. */
const tickerNews = (run: BackfillRun, date: string, ticker: string, name: string | undefined) =>
  Effect.gen(function* () {
    const rest = yield* PolygonRest
    const focus = (yield* AppSettings).tickers.underlying
    const from = new Date(nyTimeMs(date, 0)).toISOString()
    const to = new Date(nyTimeMs(addDays(date, 1), 0)).toISOString()
    return yield* runUnit(run, {
      feed: "news",
      date,
      unit: name,
      label: `${ticker} news articles`,
      fetch: rest
        .news({ ticker, "published_utc.gte": from, "published_utc.lt": to, order: "asc", sort: "published_utc" })
        .pipe(Effect.map((items): Fetched => ({ _tag: "Items", items }))),
      normalize: (raw, p) => newsRow(raw, p, focus),
      bars: false,
      keep: (row) =>
        nyDateOf(row["published_utc_ms"] as number) === date &&
        (JSON.parse(row["tickers"] as string) as Array<string>).includes(ticker),
      store: yield* dayFileStore(run, "news", date, scopeOf("news", ticker, name))
    })
  })

/** The news of every underlying with `news: true`: one article (key id) once, whichever tickers it is tagged with. */
export const newsDay = (run: BackfillRun, date: string, only?: string) =>
  Effect.flatMap(AppSettings, (s) =>
    perTicker(
      s.underlyings.filter((u) => u.news).map((u) => u.ticker),
      (ticker, name) => tickerNews(run, date, ticker, name),
      only
    )
  )
