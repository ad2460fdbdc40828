/**
 * `verify --date D [--feeds …] [--json]`: the completeness and consistency report of a lake day
 * (figures in verify/lakeFigures.ts) and each enabled sink's rows for the date against the lake's
 * keys (not with `lakeOnly`). Fails (exit 1) on a duplicate key in any feed, a sink mismatch, or a gap
 * longer than `verify.max_gap_s` in any underlying's bars (feed `spy`) or index's values (feed
 * `vix`): continuous series, every slot should hold a bar, and each configured ticker is expected
 * (one missing is a gap as long as the session). Option contracts trade sparsely, so their
 * coverage and gaps are reported (per underlying too), not judged.
 */
import { Console, Data, Effect } from "effect"
import { type MarketHoliday, holidayIndex, sessionOf } from "../domain/calendar.js"
import type { Feed } from "../domain/feeds.js"
import { assertDate, lakePaths } from "../domain/paths.js"
import { readJsonIfExists } from "../lib/atomicFile.js"
import { AppSettings } from "../services/AppSettings.js"
import * as DuckDb from "../services/DuckDb.js"
import { scopedSnapshot } from "../services/parquet/lakeSnapshot.js"
import * as Sinks from "../layers/Sinks.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import { CONSOLIDATED, TABLES } from "../sql/tables.js"
import { type DriftEvent, driftEvents, type FeedFigures, feedFigures } from "./verify/lakeFigures.js"
import { formatVerify } from "./verify/format.js"
import { fileIo } from "../lib/fileIo.js"

export const VERIFY_FEEDS: ReadonlyArray<Feed> = ["spy", "options", "vix", "news", "contracts"]

export interface SinkCount {
  readonly sink: string
  readonly table: string
  readonly rows: number
  /** What the table should hold: the lake's distinct keys of its feed (options for the consolidated view). */
  readonly lake: number
}

/** An underlying's contracts of the day (the contracts partition) and their session coverage in the options feed. */
export interface UnderlyingContracts {
  readonly underlying: string
  readonly contracts: number
  /** Contracts with at least one bar in the session. */
  readonly traded: number
  readonly minCoveragePct: number | null
  readonly maxCoveragePct: number | null
}

export interface VerifyReport {
  readonly date: string
  readonly session: { readonly openMs: number; readonly closeMs: number; readonly earlyClose: boolean }
  readonly feeds: ReadonlyArray<FeedFigures>
  readonly drift: ReadonlyArray<DriftEvent>
  /** Per underlying of the contracts partition: its contracts and their coverage. */
  readonly contracts: ReadonlyArray<UnderlyingContracts>
  /** Each enabled sink's rows for the date against the lake (empty with `lakeOnly` or no sink). */
  readonly sinks: ReadonlyArray<SinkCount>
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
    ...(f.duplicateKeys > 0
      ? [
          `${f.feed}: ${f.duplicateKeys} duplicate key(s), e.g. ${f.duplicateExamples
            .slice(0, 3)
            .map((d) => `${d.key} ×${d.rows}`)
            .join(", ")}`
        ]
      : []),
    ...(f.feed === "spy" || f.feed === "vix"
      ? f.tickers
          .flatMap((t) => (t.longestGap ? [t.longestGap] : []))
          .filter((g) => g.seconds > maxGapS)
          .map(
            (g) =>
              `${f.feed}: ${g.ticker} has no bar for ${g.seconds} s from ${new Date(g.fromMs).toISOString()} to ${new Date(g.toMs).toISOString()}`
          )
      : [])
  ])

/** The session of a date from the cached holidays (no network); a regular session when none is cached. */
const sessionFor = (root: string, date: string) =>
  fileIo("read holidays", lakePaths(root).stateDir, async () => {
    const cached = await readJsonIfExists<{ holidays: ReadonlyArray<MarketHoliday> }>(
      lakePaths(root).holidaysCache(Number(date.slice(0, 4)))
    )
    return sessionOf(date, holidayIndex(cached?.holidays ?? []))
  })

const contractTickers = (db: DuckDb.DuckDbService, root: string, date: string) =>
  Effect.flatMap(scopedSnapshot(root), (snap) =>
    fileIo("pin", lakePaths(root).partitionDir("contracts", date), () => snap.pinPartition("contracts", date))
  ).pipe(
    Effect.flatMap((files) =>
      db.query<{ ticker: string; underlying: string }>(
        `SELECT DISTINCT ticker, underlying_ticker AS underlying FROM read_parquet([${files.map(DuckDb.sqlString).join(", ")}]) WHERE as_of = ${DuckDb.sqlString(date)} ORDER BY ticker`
      )
    ),
    Effect.orElseSucceed(() => [] as ReadonlyArray<{ ticker: string; underlying: string }>),
    Effect.scoped
  )

/** Each sink's table counts against the lake's keys, and the problems of what differs or could not be counted. */
const sinkCounts = (date: string, feeds: ReadonlyArray<FeedFigures>) =>
  Effect.gen(function* () {
    const router = yield* SinkRouter
    const counts = yield* router.counts(date)
    const lakeOf = new Map<string, number>(feeds.map((f) => [TABLES[f.feed], f.distinctKeys]))
    const options = feeds.find((f) => f.feed === "options")
    if (options) lakeOf.set(CONSOLIDATED, options.distinctKeys)
    const rows: Array<SinkCount> = Object.entries(counts).flatMap(([sink, tables]) =>
      Object.entries(tables).flatMap(([table, n]) =>
        lakeOf.has(table) ? [{ sink, table, rows: n, lake: lakeOf.get(table)! }] : []
      )
    )
    return {
      rows,
      problems: rows
        .filter((r) => r.rows !== r.lake)
        .map((r) => `${r.sink}: ${r.table} has ${r.rows} rows for ${date}, the lake ${r.lake} keys`)
    }
  }).pipe(
    Effect.provide(Sinks.layer),
    Effect.catchAll((e) =>
      Effect.succeed({ rows: [] as ReadonlyArray<SinkCount>, problems: [`sinks: cannot count: ${e.message}`] })
    )
  )

/** The day's contracts grouped by underlying, with the coverage of their bars (when the options feed was read). */
const perUnderlying = (
  contracts: ReadonlyArray<{ readonly ticker: string; readonly underlying: string }>,
  options: FeedFigures | undefined
): ReadonlyArray<UnderlyingContracts> => {
  const coverage = new Map((options?.tickers ?? []).map((t) => [t.ticker, t]))
  const groups = new Map<string, Array<string>>()
  for (const c of contracts) groups.set(c.underlying, [...(groups.get(c.underlying) ?? []), c.ticker])
  return [...groups].map(([underlying, tickers]) => {
    const pcts = tickers.flatMap((t) => {
      const c = coverage.get(t)
      return c ? [c.coveragePct] : []
    })
    return {
      underlying,
      contracts: tickers.length,
      traded: tickers.filter((t) => (coverage.get(t)?.slots ?? 0) > 0).length,
      minCoveragePct: pcts.length === 0 ? null : Math.min(...pcts),
      maxCoveragePct: pcts.length === 0 ? null : Math.max(...pcts)
    }
  })
}

export const verifyReport = (options: {
  readonly date: string
  readonly feeds?: ReadonlyArray<Feed> | undefined
  readonly lakeOnly?: boolean
}) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const date = yield* Effect.try({
      try: () => assertDate(options.date),
      catch: () => new VerifyInputError({ message: `--date must be YYYY-MM-DD, got ${options.date}` })
    })
    const root = settings.storage.root
    const session = yield* sessionFor(root, date)
    if (session === undefined) return yield* new VerifyInputError({ message: `${date} is not a trading day` })
    const db = yield* DuckDb.make()
    const slotMs = settings.options.timespan === "minute" ? 60_000 : 1_000
    const contracts = yield* contractTickers(db, root, date)
    const listed = (feed: Feed): ReadonlyArray<string> =>
      feed === "options"
        ? contracts.map((c) => c.ticker)
        : feed === "spy"
          ? settings.underlyings.map((u) => u.ticker)
          : feed === "vix"
            ? settings.indices
            : []
    const feeds = yield* Effect.forEach(options.feeds ?? VERIFY_FEEDS, (feed) =>
      feedFigures(db, root, feed, date, session, slotMs, listed(feed))
    )
    const drift = yield* driftEvents(root, date)
    const sinks =
      options.lakeOnly === true || settings.sinks.enabled.length === 0
        ? { rows: [], problems: [] }
        : yield* sinkCounts(date, feeds)
    return {
      date,
      session,
      feeds,
      drift,
      contracts: perUnderlying(
        contracts,
        feeds.find((f) => f.feed === "options")
      ),
      sinks: sinks.rows,
      problems: [...problemsOf(feeds, settings.verify.maxGapS), ...sinks.problems]
    } satisfies VerifyReport
  }).pipe(Effect.scoped)

/** The command: the report as a table (or JSON), then exit 1 when it found a problem. */
export const verifyProgram = (options: {
  readonly date: string
  readonly feeds?: ReadonlyArray<Feed> | undefined
  readonly json?: boolean
  readonly lakeOnly?: boolean
}) =>
  Effect.gen(function* () {
    const report = yield* verifyReport(options)
    yield* Console.log(options.json === true ? JSON.stringify(report, null, 2) : formatVerify(report))
    if (report.problems.length > 0) return yield* new VerifyFailed({ problems: report.problems })
    return report
  })
