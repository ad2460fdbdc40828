/**
 * MarketClock: is the US equity market open, and when does the session end?
 * Time comes only from Effect's Clock (a TestClock in tests, a simulated clock with
 * `--clock-start/--clock-speed`). Holidays and early closes come from PolygonRest.holidays()
 * (`/v1/marketstatus/upcoming`), cached per year in `data/state/holidays-YYYY.json`; when the
 * call fails the list is empty and a warning is logged.
 */
import { Clock, Context, Duration, Effect, Layer, Ref } from "effect"
import * as fs from "node:fs/promises"
import {
  holidayIndex,
  type MarketHoliday,
  nextOpen,
  nyDateOf,
  openSessionAt,
  type Session,
  sessionOf
} from "../domain/calendar.js"
import { lakePaths } from "../domain/paths.js"
import { AppSettings } from "./AppSettings.js"
import { PolygonRest } from "./polygon/PolygonRest.js"
import { writeFileAtomic } from "../lib/atomicFile.js"

export type MarketState =
  | { readonly _tag: "Open"; readonly nowMs: number; readonly session: Session }
  | { readonly _tag: "Closed"; readonly nowMs: number; readonly next: Session }

export interface MarketClockService {
  readonly now: Effect.Effect<number>
  /** Holidays and early closes of a year (cached). */
  readonly holidays: (year: number) => Effect.Effect<ReadonlyArray<MarketHoliday>>
  /** The session of a date, or undefined on a weekend/holiday. */
  readonly session: (date: string) => Effect.Effect<Session | undefined>
  readonly state: Effect.Effect<MarketState>
}

export class MarketClock extends Context.Tag("spy/MarketClock")<MarketClock, MarketClockService>() {}

/** Map `/v1/marketstatus/upcoming` items (one per exchange) to NYSE holidays. */
export const parseHolidays = (items: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<MarketHoliday> => {
  const out = new Map<string, MarketHoliday>()
  for (const it of items) {
    const date = it["date"]
    const status = it["status"]
    const exchange = it["exchange"]
    if (typeof date !== "string" || (status !== "closed" && status !== "early-close")) continue
    if (exchange !== undefined && exchange !== "NYSE") continue
    const h: MarketHoliday = {
      date,
      name: typeof it["name"] === "string" ? it["name"] : "",
      status,
      ...(typeof it["open"] === "string" ? { open: it["open"] } : {}),
      ...(typeof it["close"] === "string" ? { close: it["close"] } : {})
    }
    out.set(date, h)
  }
  return [...out.values()].sort((a, b) => (a.date < b.date ? -1 : 1))
}

const readCache = (file: string) =>
  Effect.tryPromise(() => fs.readFile(file, "utf8")).pipe(
    Effect.map((t) => (JSON.parse(t) as { holidays: ReadonlyArray<MarketHoliday> }).holidays),
    Effect.option
  )

const writeCache = (file: string, holidays: ReadonlyArray<MarketHoliday>, fetchedAtMs: number) =>
  Effect.tryPromise(() =>
    writeFileAtomic(file, JSON.stringify({ fetched_at_ms: fetchedAtMs, holidays }, null, 2))
  ).pipe(Effect.ignore)

export const make = Effect.gen(function* () {
  const settings = yield* AppSettings
  const rest = yield* PolygonRest
  const paths = lakePaths(settings.storage.root)
  const memo = yield* Ref.make(new Map<number, ReadonlyArray<MarketHoliday>>())

  const fetchYear = (year: number) =>
    Effect.gen(function* () {
      const file = paths.holidaysCache(year)
      const cached = yield* readCache(file)
      if (cached._tag === "Some") return cached.value
      const items = yield* rest.holidays().pipe(Effect.either)
      if (items._tag === "Left") {
        yield* Effect.logWarning(
          `market holidays unavailable (${items.left.message}); assuming no holidays for ${year}`
        )
        return []
      }
      const all = parseHolidays(items.right)
      const now = yield* Clock.currentTimeMillis
      const byYear = (y: number) => all.filter((h) => h.date.startsWith(`${y}-`))
      yield* writeCache(file, byYear(year), now)
      return byYear(year)
    })

  const holidays = (year: number) =>
    Effect.gen(function* () {
      const known = (yield* Ref.get(memo)).get(year)
      if (known) return known
      const list = yield* fetchYear(year)
      yield* Ref.update(memo, (m) => new Map(m).set(year, list))
      return list
    })

  const indexAround = (date: string) =>
    Effect.map(Effect.all([holidays(Number(date.slice(0, 4))), holidays(Number(date.slice(0, 4)) + 1)]), ([a, b]) =>
      holidayIndex([...a, ...b])
    )

  const state = Effect.gen(function* () {
    const nowMs = yield* Clock.currentTimeMillis
    const index = yield* indexAround(nyDateOf(nowMs))
    const session = openSessionAt(nowMs, index)
    return session
      ? ({ _tag: "Open", nowMs, session } as const)
      : ({ _tag: "Closed", nowMs, next: nextOpen(nowMs, index) } as const)
  })

  return {
    now: Clock.currentTimeMillis,
    holidays,
    session: (date: string) => Effect.map(indexAround(date), (index) => sessionOf(date, index)),
    state
  } satisfies MarketClockService
})

export const layer: Layer.Layer<MarketClock, never, AppSettings | PolygonRest> = Layer.effect(MarketClock, make)

/**
 * A Clock running at `speed` times real time from `startMs`: currentTimeMillis = start +
 * (real elapsed) × speed, and sleep(d) sleeps d / speed of real time. Provide it with
 * `Layer.setClock` / `Effect.withClock` so timers, flushes and heartbeats all follow it.
 */
export const simulatedClock = (startMs: number, speed: number, base: Clock.Clock = Clock.make()): Clock.Clock => {
  const realStart = base.unsafeCurrentTimeMillis()
  const nowMs = () => Math.floor(startMs + (base.unsafeCurrentTimeMillis() - realStart) * speed)
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: nowMs,
    currentTimeMillis: Effect.sync(nowMs),
    unsafeCurrentTimeNanos: () => BigInt(nowMs()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(nowMs()) * 1_000_000n),
    sleep: (d: Duration.Duration) => base.sleep(Duration.millis(Duration.toMillis(d) / speed))
  }
}

/** Parse `--clock-start` (ISO with offset) into epoch ms, or fail with a readable message. */
export const parseClockStart = (iso: string): number => {
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms))
    throw new Error(`invalid --clock-start: ${JSON.stringify(iso)} (use ISO 8601, e.g. 2025-10-28T09:29:50-04:00)`)
  return ms
}
