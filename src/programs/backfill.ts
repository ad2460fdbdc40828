/**
 * `backfill`: REST history of the underlyings (SPY by default), their options, the indices (I:VIX)
 * and the underlyings' news for a date range into the lake.
 * Trading days only; resumable per unit; `overwrite` replaces each partition atomically.
 */
import { Chunk, Clock, Effect, Stream } from "effect"
import { tradingDaysBetween } from "../domain/calendar.js"
import type { MarketFeed } from "../domain/feeds.js"
import { sessionFilterFor } from "../domain/sessionFilter.js"
import { AppSettings } from "../services/AppSettings.js"
import { PolygonRest } from "../services/polygon/PolygonRest.js"
import { startProgress } from "../services/Progress.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import * as Inflight from "../lib/inflight.js"
import { BackfillInputError, calendarFor, type DaySummary, fetchDay, loadDay } from "./backfill/day.js"
import type { BackfillRun } from "./backfill/run.js"

export { BackfillInputError, type DaySummary } from "./backfill/day.js"

export interface BackfillOptions {
  readonly startDate: string
  readonly endDate: string
  readonly feeds?: ReadonlyArray<MarketFeed> | undefined
  readonly resume?: boolean
  readonly overwrite?: boolean
  readonly interactive?: boolean
}

export interface BackfillSummary {
  readonly days: ReadonlyArray<DaySummary>
  readonly skippedDates: ReadonlyArray<string>
  readonly elapsedMs: number
  readonly root: string
}

const DAYS_IN_FLIGHT = 2

/** What a range means: its feeds, trading days (and the closed ones), holidays and per-run decisions. */
export const planBackfill = (options: BackfillOptions) =>
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
    const feeds: ReadonlySet<MarketFeed> = new Set(options.feeds ?? enabled)
    const holidays = yield* calendarFor(yield* PolygonRest, options.startDate, options.endDate)
    const run: BackfillRun = {
      overwrite: options.overwrite ?? false,
      inSession: sessionFilterFor(settings.session.hours, holidays)
    }
    const dates = tradingDaysBetween(options.startDate, options.endDate, holidays)
    const skippedDates = tradingDaysBetween(options.startDate, options.endDate, new Map()).filter(
      (d) => !dates.includes(d)
    )
    return { settings, feeds, holidays, run, dates, skippedDates }
  })

export const backfillProgram = (options: BackfillOptions) =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const { settings, feeds, holidays, run, dates, skippedDates } = yield* planBackfill(options)
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
    const day = { run, feeds, holidays, resume: options.resume ?? false, unitDone: progress.unitDone }
    // A pipeline: two days fetched at a time, in date order into a small buffer, while the sink
    // stage loads and consolidates the days before them (one at a time: the warehouse has one
    // writer). The network never waits for the warehouse unless the buffer is full.
    const days = yield* Stream.fromIterable(dates).pipe(
      Stream.mapEffect((date) => Inflight.track(`backfill ${date}`)(fetchDay(day, date)), {
        concurrency: DAYS_IN_FLIGHT
      }),
      Stream.buffer({ capacity: DAYS_IN_FLIGHT }),
      Stream.mapEffect((fetched) =>
        Inflight.track(`backfill ${fetched.summary.date}`)(loadDay(day, sinks, fetched, progress.dayDone))
      ),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    yield* progress.finish
    const elapsedMs = (yield* Clock.currentTimeMillis) - startedAt
    return { days, skippedDates, elapsedMs, root: settings.storage.root } satisfies BackfillSummary
  })
