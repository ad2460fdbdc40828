/**
 * `backfill`: REST history of the underlyings (SPY by default), their options, the indices (I:VIX)
 * and the underlyings' news for a date range into the lake.
 * Trading days only; resumable per unit; `overwrite` replaces each partition atomically.
 */
import { Chunk, Clock, Data, Effect, Stream } from "effect"
import { holidayIndex, type MarketHoliday, tradingDaysBetween } from "../domain/calendar.js"
import type { MarketFeed } from "../domain/feeds.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { sessionFilterFor } from "../domain/sessionFilter.js"
import { AppSettings } from "../services/AppSettings.js"
import { PolygonRest } from "../services/polygon/PolygonRest.js"
import { startProgress } from "../services/Progress.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import * as Inflight from "../lib/inflight.js"
import { newsDay, spyDay, vixDay } from "./backfill/dayFeeds.js"
import type { BackfillRun } from "./backfill/run.js"
import { optionsFor } from "./backfill/optionsUniverse.js"

export interface BackfillOptions {
  readonly startDate: string
  readonly endDate: string
  readonly feeds?: ReadonlyArray<MarketFeed> | undefined
  readonly resume?: boolean
  readonly overwrite?: boolean
  readonly interactive?: boolean
}

export interface DaySummary {
  readonly date: string
  readonly rows: Partial<Record<MarketFeed | "contracts", number>>
  readonly quarantined: number
  /** Bars fetched and not stored for falling outside the regular session (`session.hours: regular`). */
  readonly outsideSession: number
}

export interface BackfillSummary {
  readonly days: ReadonlyArray<DaySummary>
  readonly skippedDates: ReadonlyArray<string>
  readonly elapsedMs: number
  readonly root: string
}

const DAYS_IN_FLIGHT = 2

export class BackfillInputError extends Data.TaggedError("BackfillInputError")<{ readonly message: string }> {}

/** API holidays (upcoming) plus the NYSE rules for the years of the range (the API lists no past holidays). */
const calendarFor = (rest: PolygonRest["Type"], startDate: string, endDate: string) =>
  Effect.gen(function* () {
    const fromApi = yield* rest.holidays().pipe(
      Effect.map(
        (items) =>
          items.filter(
            (h) => h["exchange"] === "NYSE" || h["exchange"] === undefined
          ) as unknown as ReadonlyArray<MarketHoliday>
      ),
      Effect.catchIf(
        (e) => e.reason !== "Unauthorized" && e.reason !== "Forbidden",
        (e) =>
          Effect.logWarning(
            `Could not load market holidays from the API (${e.message}); using the NYSE rules only`
          ).pipe(Effect.as([]))
      )
    )
    const rules: Array<MarketHoliday> = []
    for (let y = Number(startDate.slice(0, 4)); y <= Number(endDate.slice(0, 4)) + 1; y++)
      rules.push(...nyseHolidays(y))
    return holidayIndex([...rules, ...fromApi])
  })

export const backfillProgram = (options: BackfillOptions) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    if (
      !/^\d{4}-\d{2}-\d{2}$/.test(options.startDate) ||
      !/^\d{4}-\d{2}-\d{2}$/.test(options.endDate) ||
      options.startDate > options.endDate
    ) {
      return yield* new BackfillInputError({
        message: `invalid date range ${options.startDate} .. ${options.endDate} (YYYY-MM-DD, start <= end)`
      })
    }
    const enabled = (["spy", "options", "vix", "news"] as const).filter((f) => settings.feeds[f].enabled)
    const feeds = new Set(options.feeds ?? enabled)
    const startedAt = yield* Clock.currentTimeMillis
    const holidays = yield* calendarFor(yield* PolygonRest, options.startDate, options.endDate)
    const run: BackfillRun = {
      overwrite: options.overwrite ?? false,
      inSession: sessionFilterFor(settings.session.hours, holidays)
    }
    const dates = tradingDaysBetween(options.startDate, options.endDate, holidays)
    const skippedDates = tradingDaysBetween(options.startDate, options.endDate, new Map()).filter(
      (d) => !dates.includes(d)
    )
    yield* Effect.logInfo(
      `Backfill ${options.startDate}..${options.endDate}: ${dates.length} trading day(s), feeds ${[...feeds].join(",")}${run.overwrite ? ", overwrite" : options.resume ? ", resume" : ""}`
    )
    const sinks = yield* Effect.serviceOption(SinkRouter)
    const progress = yield* startProgress(
      "backfill",
      dates.length * feeds.size,
      options.interactive ?? false,
      dates.length
    )
    /** Stage 1: the day's units fetched into the lake. */
    const fetchDay = (date: string) =>
      Effect.gen(function* () {
        const rows: DaySummary["rows"] = {}
        let quarantined = 0
        let outsideSession = 0
        let fetched = false
        const track =
          (feed: MarketFeed | "contracts") =>
          (r: { rows: number; quarantined: number; outsideSession?: number; skipped?: boolean }) =>
            Effect.sync(() => {
              rows[feed] = r.rows
              quarantined += r.quarantined
              outsideSession += r.outsideSession ?? 0
              if (r.skipped === false) fetched = true
            }).pipe(Effect.zipRight(feed === "contracts" ? Effect.void : progress.unitDone(r.rows)))
        const dayFeeds = [
          feeds.has("spy") ? spyDay(run, date).pipe(Effect.flatMap(track("spy"))) : Effect.void,
          feeds.has("vix") ? vixDay(run, date).pipe(Effect.flatMap(track("vix"))) : Effect.void,
          feeds.has("news") ? newsDay(run, date).pipe(Effect.flatMap(track("news"))) : Effect.void,
          feeds.has("options")
            ? optionsFor(run, date, holidays, (n) => track("contracts")({ rows: n, quarantined: 0 })).pipe(
                Effect.flatMap((r) => (r ? track("options")(r) : progress.unitDone(0)))
              )
            : Effect.void
        ]
        yield* Effect.all(dayFeeds, { concurrency: "unbounded", discard: true })
        return { summary: { date, rows, quarantined, outsideSession } satisfies DaySummary, fetched }
      })
    /** Stage 2: the day's partitions into every sink, then its consolidated view. */
    const loadDay = ({ summary, fetched }: { summary: DaySummary; fetched: boolean }) =>
      Effect.gen(function* () {
        const date = summary.date
        // Sinks upsert idempotently; after a crash (--resume) the lake may hold data the sinks never saw.
        if (sinks._tag === "Some" && (fetched || options.resume || run.overwrite)) {
          const loaded = [...feeds, ...(feeds.has("options") ? (["contracts"] as const) : [])]
          for (const feed of loaded) yield* sinks.value.loadPartition(feed, date, { overwrite: run.overwrite })
          if (feeds.has("options")) yield* sinks.value.consolidate(date)
        }
        yield* progress.dayDone
        yield* Effect.logInfo(`Day ${date} complete`)
        return summary
      })
    // A pipeline: two days fetched at a time, in date order into a small buffer, while the sink
    // stage loads and consolidates the days before them (one at a time: the warehouse has one
    // writer). The network never waits for the warehouse unless the buffer is full.
    const days = yield* Stream.fromIterable(dates).pipe(
      Stream.mapEffect((date) => Inflight.track(`backfill ${date}`)(fetchDay(date)), { concurrency: DAYS_IN_FLIGHT }),
      Stream.buffer({ capacity: DAYS_IN_FLIGHT }),
      Stream.mapEffect((day) => Inflight.track(`backfill ${day.summary.date}`)(loadDay(day))),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    yield* progress.finish
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    return { days, skippedDates, elapsedMs, root: settings.storage.root } satisfies BackfillSummary
  })
