/**
 * `npm start`: the main job on the embedded default, against the built-in simulator. Backfills the
 * most recent simulated trading day, then streams the next simulated session at 30x for two
 * minutes (an hour of market time), then prints what landed where.
 */
import { Clock, Console, Duration, Effect, Layer } from "effect"
import { holidayIndex, nextTradingDay, nyDateOf, nyTimeMs, previousTradingDay } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { lakePaths } from "../domain/paths.js"
import { BackfillLayer } from "../layers/Backfill.js"
import * as fs from "node:fs/promises"
import { runLive } from "../programs/liveRun.js"
import { anchorFile } from "../live/clockAnchor.js"
import * as Sinks from "../layers/Sinks.js"
import { AppSettings } from "../services/AppSettings.js"
import * as DuckDb from "../services/DuckDb.js"
import { backfillProgram } from "../programs/backfill.js"
import { printBackfillSummary } from "../programs/summary.js"

const STREAM_FOR = Duration.minutes(2)
const STREAM_SPEED = 30

/** Rows per feed of one date in the lake (latest version per key). */
const lakeCounts = (root: string, date: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.DuckDb
    const out: Array<string> = []
    for (const feed of ["spy", "options", "vix", "news"] as const) {
      const glob = `${lakePaths(root).partitionDir(feed, date)}/*.parquet`
      const [r] = yield* db
        .query<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM read_parquet(${DuckDb.sqlString(glob)})`)
        .pipe(Effect.orElseSucceed(() => [{ n: 0 }]))
      out.push(`${feed} ${(r?.n ?? 0).toLocaleString("en-US")}`)
    }
    return out.join(", ")
  }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)

export const demoProgram = Effect.gen(function* () {
  const settings = yield* AppSettings
  const today = nyDateOf(yield* Clock.currentTimeMillis)
  const year = Number(today.slice(0, 4))
  const holidays = holidayIndex([...nyseHolidays(year - 1), ...nyseHolidays(year), ...nyseHolidays(year + 1)])
  const day = previousTradingDay(today, holidays)
  yield* Effect.logInfo(
    `Demo: backfilling ${day} from the ${settings.polygon.restUrl === "builtin" ? "built-in simulator" : settings.polygon.restUrl} into ${settings.storage.root}/`
  )
  const summary = yield* backfillProgram({
    startDate: day,
    endDate: day,
    interactive: process.stderr.isTTY === true
  }).pipe(
    Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer).pipe(Layer.provide(Layer.succeed(AppSettings, settings))))
  )
  yield* printBackfillSummary(summary)

  const session = nextTradingDay(day, holidays)
  const clockStart = new Date(nyTimeMs(session, 9, 29, 50)).toISOString()
  yield* Effect.logInfo(
    `Demo: streaming the simulated session of ${session} from 09:29:50 ET at ${STREAM_SPEED}x for ${Duration.format(STREAM_FOR)}`
  )
  // the demo always streams from the open: a stored anchor of an earlier demo would resume mid-session
  yield* Effect.promise(() => fs.rm(anchorFile(settings.storage.root), { force: true }))
  yield* runLive({ clockStart, clockSpeed: STREAM_SPEED }).pipe(
    Effect.timeoutOption(STREAM_FOR),
    Effect.catchAllCause((cause) => Effect.logWarning("Demo: live streaming ended with an error", cause))
  )
  yield* Console.log(
    `\nStreamed ${session} (first hour, simulated): ${yield* lakeCounts(settings.storage.root, session)} rows in ${settings.storage.root}/raw/<feed>/date=${session}/`
  )
  yield* Console.log(
    `Status: node dist/main.js status   Consolidated view: ${settings.storage.root}/consolidated/date=${day}/ and ${settings.storage.root}/warehouse.duckdb`
  )
})
