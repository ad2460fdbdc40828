/**
 * One trading day of a backfill, in two stages: `fetchDay` (the day's units into the lake) and
 * `loadDay` (the day's partitions into every sink, then its consolidated view). `backfillProgram`
 * pipelines them over a range; a cluster runner (`runner`, issue 17) runs `fetchDay` for one date.
 */
import { Data, Effect, Option } from "effect"
import { holidayIndex, type MarketHoliday } from "../../domain/calendar.js"
import { MARKET_FEEDS, type MarketFeed } from "../../domain/feeds.js"
import { nyseHolidays } from "../../domain/nyseHolidays.js"
import type { PolygonRest } from "../../services/polygon/PolygonRest.js"
import type { SinkRouter } from "../../services/sinks/SinkRouter.js"
import { newsDay, spyDay, vixDay } from "./dayFeeds.js"
import { optionsFor } from "./optionsUniverse.js"
import type { BackfillRun } from "./run.js"

export interface DaySummary {
  readonly date: string
  readonly rows: Partial<Record<MarketFeed | "contracts", number>>
  readonly quarantined: number
  /** Bars fetched and not stored for falling outside the regular session (`session.hours: regular`). */
  readonly outsideSession: number
}

/** A day through the fetch stage: its summary, and whether any unit was fetched (false: every unit was already done). */
export interface FetchedDay {
  readonly summary: DaySummary
  readonly fetched: boolean
}

export class BackfillInputError extends Data.TaggedError("BackfillInputError")<{ readonly message: string }> {}

/** API holidays (upcoming) plus the NYSE rules for the years of the range (the API lists no past holidays). */
export const calendarFor = (rest: PolygonRest["Type"], startDate: string, endDate: string) =>
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

export interface DayContext {
  readonly run: BackfillRun
  readonly feeds: ReadonlySet<MarketFeed>
  readonly holidays: ReadonlyMap<string, MarketHoliday>
  /** Called once per feed unit of the day with its rows (the progress bar). */
  readonly unitDone: (rows: number) => Effect.Effect<void>
}

/**
 * One feed of a day fetched into the lake: the feed's (feed, date) partition, every ticker of the
 * feed in it (each ticker's unit skipped when its checkpoint says it is done); `only`: one ticker's
 * part (a cluster unit, issue 17: underlying or index × feed × date). `fetchDay` runs the day's
 * feeds concurrently.
 */
export const fetchFeed = (ctx: DayContext, date: string, feed: MarketFeed, only?: string) =>
  Effect.gen(function* () {
    const { run, holidays } = ctx
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
        }).pipe(Effect.zipRight(feed === "contracts" ? Effect.void : ctx.unitDone(r.rows)))
    yield* feed === "spy"
      ? spyDay(run, date, only).pipe(Effect.flatMap(track("spy")))
      : feed === "vix"
        ? vixDay(run, date, only).pipe(Effect.flatMap(track("vix")))
        : feed === "news"
          ? newsDay(run, date, only).pipe(Effect.flatMap(track("news")))
          : optionsFor(run, date, holidays, (n) => track("contracts")({ rows: n, quarantined: 0 }), only).pipe(
              Effect.flatMap((r) => (r ? track("options")(r) : ctx.unitDone(0)))
            )
    return { summary: { date, rows, quarantined, outsideSession } satisfies DaySummary, fetched } satisfies FetchedDay
  })

/** The feeds of one date fetched separately, as the day they make up (rows per feed, counts summed). */
export const mergeFetched = (date: string, parts: ReadonlyArray<FetchedDay>): FetchedDay => ({
  summary: {
    date,
    rows: Object.assign({}, ...parts.map((p) => p.summary.rows)) as DaySummary["rows"],
    quarantined: parts.reduce((n, p) => n + p.summary.quarantined, 0),
    outsideSession: parts.reduce((n, p) => n + p.summary.outsideSession, 0)
  },
  fetched: parts.some((p) => p.fetched)
})

/** Stage 1: the day's units fetched into the lake (each skipped when its checkpoint says it is done). */
export const fetchDay = (ctx: DayContext, date: string) =>
  Effect.map(
    Effect.forEach(
      MARKET_FEEDS.filter((f) => ctx.feeds.has(f)),
      (feed) => fetchFeed(ctx, date, feed),
      { concurrency: "unbounded" }
    ),
    (parts) => mergeFetched(date, parts)
  )

/** Stage 2: the day's partitions into every sink, then its consolidated view (one writer at a time). */
export const loadDay = (
  ctx: { readonly run: BackfillRun; readonly feeds: ReadonlySet<MarketFeed>; readonly resume: boolean },
  sinks: Option.Option<SinkRouter["Type"]>,
  { summary, fetched }: FetchedDay,
  dayDone: Effect.Effect<void>
) =>
  Effect.gen(function* () {
    const { run, feeds } = ctx
    const date = summary.date
    // Sinks upsert idempotently; after a crash (--resume) the lake may hold data the sinks never saw.
    if (Option.isSome(sinks) && (fetched || ctx.resume || run.overwrite)) {
      const loaded = [...feeds, ...(feeds.has("options") ? (["contracts"] as const) : [])]
      for (const feed of loaded) yield* sinks.value.loadPartition(feed, date, { overwrite: run.overwrite })
      if (feeds.has("options")) yield* sinks.value.consolidate(date)
    }
    yield* dayDone
    yield* Effect.logInfo(`Day ${date} complete`)
    return summary
  })
