/**
 * `verify --date D [--feeds …] [--json]`: the completeness and consistency report of a lake day
 * (figures in verify/lakeFigures.ts). Fails (exit 1) on a duplicate key in any feed, or a gap
 * longer than `verify.max_gap_s` in SPY or VIX (continuous series: every slot should hold a bar);
 * option contracts trade sparsely, so their coverage and gaps are reported, not judged.
 */
import { Console, Data, Effect } from "effect"
import * as path from "node:path"
import { type MarketHoliday, holidayIndex, sessionOf } from "../domain/calendar.js"
import type { Feed } from "../domain/feeds.js"
import { assertDate, lakePaths } from "../domain/paths.js"
import { readJsonIfExists } from "../lib/atomicFile.js"
import { AppSettings } from "../services/AppSettings.js"
import * as DuckDb from "../services/DuckDb.js"
import { type DriftEvent, driftEvents, type FeedFigures, feedFigures } from "./verify/lakeFigures.js"
import { formatVerify } from "./verify/format.js"

export const VERIFY_FEEDS: ReadonlyArray<Feed> = ["spy", "options", "vix", "news", "contracts"]

export interface VerifyReport {
  readonly date: string
  readonly session: { readonly openMs: number; readonly closeMs: number; readonly earlyClose: boolean }
  readonly feeds: ReadonlyArray<FeedFigures>
  readonly drift: ReadonlyArray<DriftEvent>
  readonly problems: ReadonlyArray<string>
}

export class VerifyFailed extends Data.TaggedError("VerifyFailed")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return `${this.problems.length} problem(s): ${this.problems.slice(0, 5).join("; ")}${this.problems.length > 5 ? "; …" : ""}`
  }
}

export class VerifyInputError extends Data.TaggedError("VerifyInputError")<{ readonly message: string }> {}

/** What fails a day: duplicate keys anywhere; gaps over `maxGapS` in the continuous series. */
export const problemsOf = (feeds: ReadonlyArray<FeedFigures>, maxGapS: number): ReadonlyArray<string> =>
  feeds.flatMap((f) => [
    ...(f.duplicateKeys > 0 ? [`${f.feed}: ${f.duplicateKeys} duplicate key(s), e.g. ${f.duplicateExamples.slice(0, 3).map((d) => `${d.key} ×${d.rows}`).join(", ")}`] : []),
    ...(f.feed === "spy" || f.feed === "vix"
      ? f.longestGaps.filter((g) => g.seconds > maxGapS).map((g) => `${f.feed}: ${g.ticker} has no bar for ${g.seconds} s from ${new Date(g.fromMs).toISOString()} to ${new Date(g.toMs).toISOString()}`)
      : [])
  ])

/** The session of a date from the cached holidays (no network); a regular session when none is cached. */
const sessionFor = (root: string, date: string) =>
  Effect.promise(async () => {
    const cached = await readJsonIfExists<{ holidays: ReadonlyArray<MarketHoliday> }>(lakePaths(root).holidaysCache(Number(date.slice(0, 4))))
    return sessionOf(date, holidayIndex(cached?.holidays ?? []))
  })

const contractTickers = (db: DuckDb.DuckDbService, root: string, date: string) =>
  db
    .query<{ ticker: string }>(
      `SELECT DISTINCT ticker FROM read_parquet(${DuckDb.sqlString(path.join(lakePaths(root).partitionDir("contracts", date), "*.parquet"))}) WHERE as_of = ${DuckDb.sqlString(date)} ORDER BY ticker`
    )
    .pipe(
      Effect.map((rows) => rows.map((r) => r.ticker)),
      Effect.orElseSucceed(() => [] as ReadonlyArray<string>)
    )

export const verifyReport = (options: { readonly date: string; readonly feeds?: ReadonlyArray<Feed> | undefined }) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const date = yield* Effect.try({ try: () => assertDate(options.date), catch: () => new VerifyInputError({ message: `--date must be YYYY-MM-DD, got ${options.date}` }) })
    const root = settings.storage.root
    const session = yield* sessionFor(root, date)
    if (session === undefined) return yield* new VerifyInputError({ message: `${date} is not a trading day` })
    const db = yield* DuckDb.make()
    const slotMs = settings.options.timespan === "minute" ? 60_000 : 1_000
    const contracts = yield* contractTickers(db, root, date)
    const feeds = yield* Effect.forEach(options.feeds ?? VERIFY_FEEDS, (feed) => feedFigures(db, root, feed, date, session, slotMs, contracts))
    const drift = yield* driftEvents(root, date)
    return { date, session, feeds, drift, problems: problemsOf(feeds, settings.verify.maxGapS) } satisfies VerifyReport
  }).pipe(Effect.scoped)

/** The command: the report as a table (or JSON), then exit 1 when it found a problem. */
export const verifyProgram = (options: { readonly date: string; readonly feeds?: ReadonlyArray<Feed> | undefined; readonly json?: boolean }) =>
  Effect.gen(function* () {
    const report = yield* verifyReport(options)
    yield* Console.log(options.json === true ? JSON.stringify(report, null, 2) : formatVerify(report))
    if (report.problems.length > 0) return yield* new VerifyFailed({ problems: report.problems })
    return report
  })
