/**
 * The option contracts streamed today: chosen at the open from SPY's official open with the
 * backfill's own rule (programs/backfill/optionsDay.ts `contractSet`: strike band, expiration,
 * at most `options.max_contracts` nearest the money), saved as `contracts.json` + Parquet, and
 * read back from `contracts.json` when `live` restarts during the day (same set all day).
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import { holidayIndex, type Session } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import { contractSet } from "./contractSet.js"
import { AppSettings } from "../../services/AppSettings.js"
import * as Checkpoints from "../../services/Checkpoints.js"
import { MarketClock } from "../../services/MarketClock.js"
import { ParquetWriter } from "../../services/ParquetWriter.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import * as Quarantine from "../../services/Quarantine.js"
import { SchemaDrift } from "../../services/SchemaDrift.js"
import { cappedJittered } from "../../lib/schedules.js"

class NoOpenYet extends Error {}

/** Wait for the open, then resolve the day's option tickers (retried until SPY has traded). */
export const contractsForSession = (session: Session) => Effect.map(contractSetForSession(session), (set) => set.contracts.map((c) => c.ticker))

/**
 * The same, as the whole set (open price, expiration, contracts): what re-centring starts from.
 * On a delayed feed (`feedDelayMs`) the open's bar exists, over REST too, that much later.
 */
export const contractSetForSession = (session: Session, feedDelayMs = 0) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const market = yield* MarketClock
    const env = {
      settings,
      paths: lakePaths(settings.storage.root),
      rest: yield* PolygonRest,
      writer: yield* ParquetWriter,
      checkpoints: Checkpoints.make(settings.storage.root),
      quarantine: Quarantine.make(settings.storage.root),
      drift: yield* SchemaDrift,
      overwrite: false
    }
    const now = (yield* Clock.currentTimeMillis) - feedDelayMs
    // SPY's first bar of the day is broadcast about a second after the open (feed time).
    if (now < session.openMs + 2000) yield* Effect.sleep(Duration.millis(session.openMs + 2000 - now))
    const year = Number(session.date.slice(0, 4))
    const holidays = holidayIndex([...(yield* market.holidays(year)), ...(yield* market.holidays(year + 1))])
    const set = yield* contractSet(env, session.date, holidays).pipe(
      Effect.flatMap((s) => (s === undefined ? Effect.fail(new NoOpenYet("no SPY official open yet")) : Effect.succeed(s))),
      Effect.tapError((e) => Effect.logWarning(`option contracts for ${session.date} not available yet (${e.message}); retrying`)),
      Effect.retry(cappedJittered("2 seconds", "30 seconds").pipe(Schedule.upTo("30 minutes")))
    )
    return set
  })
