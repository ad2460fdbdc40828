/**
 * What the day report draws, read from the lake with DuckDB: SPY and VIX per minute (last close,
 * bars in the minute), their gaps (runs of empty seconds of at least `minGapS`, from the open to the
 * close), the day's SPY news, the option bars per contract × minute over the contract list (strikes
 * sorted), the re-centring changes, and the day's alerts.
 */
import { DEFAULT_TICKERS, newsTag, type Tickers } from "../../domain/tickers.js"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Session } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import { parseOptionTicker } from "../../domain/tickers.js"
import { type DuckDbService, sqlString } from "../../services/DuckDb.js"
import { scopedSnapshot } from "../../services/parquet/lakeSnapshot.js"
import { type AlertRecord, parseAlertLines } from "../../services/observability/alertLog.js"
import { fileIo } from "../../lib/fileIo.js"

export interface MinutePoint {
  readonly minute: string
  readonly close: number | null
  readonly bars: number
}
export interface SeriesGap {
  readonly series: string
  readonly from: string
  readonly to: string
  readonly seconds: number
}
export interface NewsMark {
  readonly at: string
  readonly title: string
}
export interface HeatCell {
  readonly contract: string
  readonly minute: string
  readonly bars: number
}
export interface RecenterMark {
  readonly at: string
  readonly added: number
  readonly dropped: number
}

export interface DayData {
  readonly spy: ReadonlyArray<MinutePoint>
  readonly vix: ReadonlyArray<MinutePoint>
  readonly gaps: ReadonlyArray<SeriesGap>
  readonly news: ReadonlyArray<NewsMark>
  /** Contracts in display order: calls then puts, strikes ascending. */
  readonly contracts: ReadonlyArray<string>
  readonly heat: ReadonlyArray<HeatCell>
  readonly recenters: ReadonlyArray<RecenterMark>
  readonly alerts: ReadonlyArray<AlertRecord>
}

const iso = (ms: number) => new Date(ms).toISOString()
const READ = ["spy", "vix", "options", "news", "contracts"] as const
/** Each feed's partition as a `read_parquet` file list, pinned (lakeSnapshot.ts): a live day may replace files mid-read. */
type Sources = Record<(typeof READ)[number], string>

const pinnedSources = (root: string, date: string) =>
  Effect.gen(function* () {
    const snap = yield* scopedSnapshot(root)
    const out: Partial<Sources> = {}
    for (const feed of READ)
      out[feed] =
        `[${(yield* fileIo("pin", lakePaths(root).partitionDir(feed, date), () => snap.pinPartition(feed, date))).map(sqlString).join(", ")}]`
    return out as Sources
  })

const readOr = <A>(db: DuckDbService, sql: string) =>
  db.query<A>(sql).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<A>))

const perMinute = (db: DuckDbService, src: Sources, feed: "spy" | "vix", s: Session) =>
  readOr<{ m: unknown; close: number; bars: unknown }>(
    db,
    `
WITH b AS (SELECT window_start_ms AS t, close FROM read_parquet(${src[feed]}) WHERE window_start_ms >= ${s.openMs} AND window_start_ms < ${s.closeMs}),
minutes AS (SELECT ${s.openMs} + 60000 * i AS m FROM range(0, ${Math.ceil((s.closeMs - s.openMs) / 60_000)}) r(i))
SELECT minutes.m, arg_max(b.close, b.t) AS close, count(b.t) AS bars
FROM minutes LEFT JOIN b ON b.t >= minutes.m AND b.t < minutes.m + 60000 GROUP BY minutes.m ORDER BY minutes.m`
  ).pipe(
    Effect.map((rows) => rows.map((r) => ({ minute: iso(Number(r.m)), close: r.close ?? null, bars: Number(r.bars) })))
  )

const gapsOf = (db: DuckDbService, src: Sources, feed: "spy" | "vix", s: Session, minGapS: number) =>
  readOr<{ a: unknown; b: unknown }>(
    db,
    `
WITH t AS (SELECT DISTINCT window_start_ms AS t FROM read_parquet(${src[feed]}) WHERE window_start_ms >= ${s.openMs} AND window_start_ms < ${s.closeMs}
  UNION ALL SELECT ${s.openMs - 1000} UNION ALL SELECT ${s.closeMs}),
g AS (SELECT lag(t) OVER (ORDER BY t) + 1000 AS a, t AS b FROM t)
SELECT a, b FROM g WHERE b - a >= ${minGapS * 1000} ORDER BY a`
  ).pipe(
    Effect.map((rows) =>
      rows.map((r) => ({
        series: feed === "spy" ? "SPY" : "VIX",
        from: iso(Number(r.a)),
        to: iso(Number(r.b)),
        seconds: (Number(r.b) - Number(r.a)) / 1000
      }))
    )
  )

/** Calls before puts, strikes ascending; tickers that are not OCC symbols last. */
export const contractOrder = (tickers: ReadonlyArray<string>): ReadonlyArray<string> =>
  [...tickers].sort((a, b) => {
    const pa = parseOptionTicker(a)
    const pb = parseOptionTicker(b)
    if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b)
    return pa.right.localeCompare(pb.right) || pa.strike - pb.strike || a.localeCompare(b)
  })

const heatmap = (db: DuckDbService, src: Sources, date: string, s: Session) =>
  Effect.gen(function* () {
    const listed = yield* readOr<{ ticker: string }>(
      db,
      `SELECT DISTINCT ticker FROM read_parquet(${src.contracts}) WHERE as_of = '${date}'`
    )
    const cells = yield* readOr<{ ticker: string; m: unknown; bars: unknown }>(
      db,
      `
SELECT ticker, ${s.openMs} + 60000 * ((window_start_ms - ${s.openMs}) // 60000) AS m, count(*) AS bars
FROM read_parquet(${src.options}) WHERE window_start_ms >= ${s.openMs} AND window_start_ms < ${s.closeMs} GROUP BY ALL`
    )
    const contracts = contractOrder([...new Set([...listed.map((r) => r.ticker), ...cells.map((c) => c.ticker)])])
    const counts = new Map(cells.map((c) => [`${c.ticker}|${Number(c.m)}`, Number(c.bars)]))
    const heat: Array<HeatCell> = []
    for (const contract of contracts) {
      for (let m = s.openMs; m < s.closeMs; m += 60_000)
        heat.push({ contract, minute: iso(m), bars: counts.get(`${contract}|${m}`) ?? 0 })
    }
    return { contracts, heat }
  })

const lines = (file: string) => fs.readFile(file, "utf8").catch(() => "")

export const dayData = (
  db: DuckDbService,
  root: string,
  date: string,
  session: Session,
  minGapS: number,
  tickers: Tickers = DEFAULT_TICKERS
) =>
  Effect.gen(function* () {
    const src = yield* pinnedSources(root, date)
    const spy = yield* perMinute(db, src, "spy", session)
    const vix = yield* perMinute(db, src, "vix", session)
    const gaps = [
      ...(yield* gapsOf(db, src, "spy", session, minGapS)),
      ...(yield* gapsOf(db, src, "vix", session, minGapS))
    ]
    const news = (yield* readOr<{ p: unknown; title: string }>(
      db,
      `SELECT published_utc_ms AS p, title FROM read_parquet(${src.news}) WHERE tickers LIKE ${newsTag(tickers)} AND published_utc_ms >= ${session.openMs} AND published_utc_ms < ${session.closeMs} ORDER BY p`
    )).map((r) => ({ at: iso(Number(r.p)), title: r.title }))
    const { contracts, heat } = yield* heatmap(db, src, date, session)
    const recenterText = yield* Effect.promise(() =>
      lines(path.join(lakePaths(root).partitionDir("contracts", date), "recenter.ndjson"))
    )
    const recenters = recenterText.split("\n").flatMap((l): Array<RecenterMark> => {
      try {
        const e = JSON.parse(l) as { window_ms: number; added: ReadonlyArray<string>; dropped: ReadonlyArray<string> }
        return [{ at: iso(e.window_ms), added: e.added.length, dropped: e.dropped.length }]
      } catch {
        return []
      }
    })
    const alerts = parseAlertLines(yield* Effect.promise(() => lines(lakePaths(root).alertsFile))).filter(
      (a) => a.at.slice(0, 10) === date
    )
    return { spy, vix, gaps, news, contracts, heat, recenters, alerts } satisfies DayData
  }).pipe(Effect.scoped)
