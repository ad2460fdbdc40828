/**
 * `npm start`: the main job on the embedded default. Backfills the most recent simulated trading
 * day through the built-in simulator and prints the summary.
 */
import { Clock, Effect, Layer } from "effect"
import { holidayIndex, nyDateOf, previousTradingDay } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { BackfillLayer } from "../layers/Backfill.js"
import * as Sinks from "../layers/Sinks.js"
import { AppSettings } from "../services/AppSettings.js"
import { backfillProgram } from "./backfill.js"
import { printBackfillSummary } from "./summary.js"

export const demoProgram = Effect.gen(function* () {
  const settings = yield* AppSettings
  const today = nyDateOf(yield* Clock.currentTimeMillis)
  const year = Number(today.slice(0, 4))
  const day = previousTradingDay(today, holidayIndex([...nyseHolidays(year - 1), ...nyseHolidays(year)]))
  yield* Effect.logInfo(`Demo: backfilling ${day} from the ${settings.polygon.restUrl === "builtin" ? "built-in simulator" : settings.polygon.restUrl} into ${settings.storage.root}/`)
  const summary = yield* backfillProgram({ startDate: day, endDate: day, interactive: process.stderr.isTTY === true }).pipe(
    Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer).pipe(Layer.provide(Layer.succeed(AppSettings, settings))))
  )
  yield* printBackfillSummary(summary)
})
