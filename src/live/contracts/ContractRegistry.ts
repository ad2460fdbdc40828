/**
 * The ContractRegistry service: which option contracts a day has. The rule (contractSet.ts:
 * strike band around the underlying's official open, the configured expiration, at most
 * `options.max_contracts` nearest the money) is applied once per date; the set is saved as
 * `contracts.json` + Parquet and read back after, so backfill, live and a restart agree on it.
 * - `daySet`: the date's set (backfill) of the first underlying or of `rule`'s, undefined when the
 *   underlying did not trade that day;
 * - `sessionSet`: live's set of the first underlying or of `rule`'s, once the open has happened on
 *   the feed clock (retried until the underlying has traded). Re-centring (Recenter.ts) starts from it.
 */
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { holidayIndex, type MarketHoliday, type Session } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import type { FileIoError } from "../../lib/fileIo.js"
import { cappedJittered } from "../../lib/schedules.js"
import { AppSettings } from "../../services/AppSettings.js"
import { MarketClock } from "../../services/MarketClock.js"
import { type LakeWriteError, ParquetWriter } from "../../services/ParquetWriter.js"
import { type PolygonError, PolygonRest } from "../../services/polygon/PolygonRest.js"
import { type ContractSet, contractSet, type SetRule } from "./contractSet.js"

export interface ContractRegistryService {
  /** The date's set; with `overwrite` chosen again (backfill `--overwrite`) instead of read back. */
  readonly daySet: (
    date: string,
    holidays: ReadonlyMap<string, MarketHoliday>,
    options?: { readonly overwrite?: boolean; readonly rule?: SetRule | undefined }
  ) => Effect.Effect<ContractSet | undefined, PolygonError | LakeWriteError | FileIoError>
  /**
   * The session's set, waiting for the open's first bar (on a delayed feed, `feedDelayMs` later)
   * and retrying for up to 30 minutes until the underlying has traded.
   */
  readonly sessionSet: (
    session: Session,
    feedDelayMs?: number,
    rule?: SetRule
  ) => Effect.Effect<ContractSet, PolygonError | LakeWriteError | FileIoError | NoOpenYet>
}

export class ContractRegistry extends Context.Tag("spy/ContractRegistry")<
  ContractRegistry,
  ContractRegistryService
>() {}

export class NoOpenYet extends Error {
  readonly _tag = "NoOpenYet"
}

export const make = Effect.gen(function* () {
  const settings = yield* AppSettings
  const market = yield* MarketClock
  const rest = yield* PolygonRest
  const writer = yield* ParquetWriter
  const paths = lakePaths(settings.storage.root)
  const daySet: ContractRegistryService["daySet"] = (date, holidays, options = {}) =>
    contractSet({ settings, paths, rest, writer, overwrite: options.overwrite ?? false }, date, holidays, options.rule)
  const sessionSet: ContractRegistryService["sessionSet"] = (session, feedDelayMs = 0, rule) =>
    Effect.gen(function* () {
      const now = (yield* Clock.currentTimeMillis) - feedDelayMs
      // The underlying's first bar of the day is broadcast about a second after the open (feed time).
      if (now < session.openMs + 2000) yield* Effect.sleep(Duration.millis(session.openMs + 2000 - now))
      const year = Number(session.date.slice(0, 4))
      const holidays = holidayIndex([...(yield* market.holidays(year)), ...(yield* market.holidays(year + 1))])
      return yield* daySet(session.date, holidays, { rule }).pipe(
        Effect.flatMap((s) =>
          s === undefined
            ? Effect.fail(new NoOpenYet(`no ${rule?.ticker ?? settings.tickers.underlying} official open yet`))
            : Effect.succeed(s)
        ),
        Effect.tapError((e) =>
          Effect.logWarning(`option contracts for ${session.date} not available yet (${e.message}); retrying`)
        ),
        Effect.retry(cappedJittered("2 seconds", "30 seconds").pipe(Schedule.upTo("30 minutes")))
      )
    })
  return { daySet, sessionSet } satisfies ContractRegistryService
})

/** Needs AppSettings, MarketClock, PolygonRest and ParquetWriter. */
export const layer: Layer.Layer<ContractRegistry, never, AppSettings | MarketClock | PolygonRest | ParquetWriter> =
  Layer.effect(ContractRegistry, make)
