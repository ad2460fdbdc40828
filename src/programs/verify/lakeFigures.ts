/**
 * The figures of one lake day, computed with DuckDB straight from the partition files (so they
 * show what a researcher's `read_parquet` glob sees): per feed rows, distinct keys, duplicate keys,
 * rows outside the regular session, per-ticker session coverage and the longest gaps; quarantined
 * rows and schema-drift events of the day. Shared by `verify` (and the day report).
 *
 * Coverage of a ticker = bar slots (seconds, or minutes with `options.timespan: minute`) of the
 * session holding a bar / slots in the session. A gap = a run of empty slots, counted from the open
 * and up to the close. Each feed is measured over the tickers it should hold (options: the day's
 * contract list; spy: the configured underlyings; vix: the indices) plus any other ticker found,
 * so a listed ticker with no bar shows 0 % and a gap as long as the session.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type Feed, SCHEMAS } from "../../domain/feeds.js"
import type { Session } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import { type DuckDbService, sqlString } from "../../services/DuckDb.js"
import { scopedSnapshot } from "../../services/parquet/lakeSnapshot.js"
import { fileIo } from "../../lib/fileIo.js"
import { parquetNames } from "../../lib/stableListing.js"

export interface Gap {
  readonly ticker: string
  /** First empty slot's start, epoch ms. */
  readonly fromMs: number
  /** End of the last empty slot, epoch ms. */
  readonly toMs: number
  readonly seconds: number
}

export interface TickerCoverage {
  readonly ticker: string
  readonly slots: number
  readonly coveragePct: number
  readonly longestGap: Gap | null
}

export interface FeedFigures {
  readonly feed: Feed
  readonly files: ReadonlyArray<string>
  readonly rows: number
  readonly distinctKeys: number
  /** Keys held by more than one row, and up to 10 of them. */
  readonly duplicateKeys: number
  readonly duplicateExamples: ReadonlyArray<{ readonly key: string; readonly rows: number }>
  /** Bars whose start is outside [open, close) (time-series feeds only). */
  readonly outsideSession: number
  readonly tickers: ReadonlyArray<TickerCoverage>
  /** The 5 longest gaps of the feed, longest first. */
  readonly longestGaps: ReadonlyArray<Gap>
  readonly quarantined: number
}

export interface DriftEvent {
  readonly feed: string
  readonly kind: string
  readonly field: string
}

const TIME_SERIES: ReadonlySet<Feed> = new Set(["spy", "vix", "options"])
const num = (v: unknown) => Number(v ?? 0)

const partitionFiles = (root: string, feed: Feed, date: string) =>
  Effect.promise(async () => {
    const dir = lakePaths(root).partitionDir(feed, date)
    return (await parquetNames(dir)).map((n) => path.join(dir, n))
  })

const countLines = (dir: string) =>
  fileIo("count quarantined rows", dir, async () => {
    const names = await fs.readdir(dir).catch(() => [] as Array<string>)
    let n = 0
    for (const name of names.filter((x) => x.endsWith(".ndjson"))) {
      n += (await fs.readFile(path.join(dir, name), "utf8")).split("\n").filter((l) => l.trim() !== "").length
    }
    return n
  })

const keyExpr = (feed: Feed) => SCHEMAS[feed].key.map((k) => `CAST("${k}" AS VARCHAR)`).join(` || '|' || `)

/** Coverage and gaps of every ticker (the given list plus any found) over the session's slots. */
const coverage = (
  db: DuckDbService,
  source: string,
  session: Session,
  slotMs: number,
  extraTickers: ReadonlyArray<string>
) => {
  const { openMs: open, closeMs: close } = session
  const listed =
    extraTickers.length === 0
      ? "SELECT NULL::VARCHAR AS ticker WHERE false"
      : `SELECT unnest([${extraTickers.map(sqlString).join(", ")}]) AS ticker`
  return db.query<{ ticker: string; slots: unknown; gap_from: unknown; gap_to: unknown }>(`
WITH s AS (SELECT DISTINCT ticker, window_start_ms AS t FROM ${source} WHERE window_start_ms >= ${open} AND window_start_ms < ${close}),
tickers AS (SELECT ticker FROM s UNION SELECT ticker FROM (${listed})),
edges AS (SELECT ticker, t FROM s UNION ALL SELECT ticker, ${open - slotMs} FROM tickers UNION ALL SELECT ticker, ${close} FROM tickers),
gaps AS (SELECT ticker, lag(t) OVER (PARTITION BY ticker ORDER BY t) + ${slotMs} AS gap_from, t AS gap_to FROM edges),
longest AS (SELECT ticker, arg_max(gap_from, gap_to - gap_from) AS gap_from, arg_max(gap_to, gap_to - gap_from) AS gap_to FROM gaps WHERE gap_to > gap_from GROUP BY ticker)
SELECT t.ticker, (SELECT count(*) FROM s WHERE s.ticker = t.ticker) AS slots, l.gap_from, l.gap_to
FROM tickers t LEFT JOIN longest l USING (ticker) ORDER BY t.ticker`)
}

export const feedFigures = (
  db: DuckDbService,
  root: string,
  feed: Feed,
  date: string,
  session: Session,
  slotMs: number,
  /** Tickers the feed should hold (the day's contracts, the configured underlyings or indices): 0 % when absent. */
  listed: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const files = yield* partitionFiles(root, feed, date)
    const quarantined = yield* countLines(lakePaths(root).quarantineDir(feed, date))
    const empty: FeedFigures = {
      feed,
      files,
      rows: 0,
      distinctKeys: 0,
      duplicateKeys: 0,
      duplicateExamples: [],
      outsideSession: 0,
      tickers: [],
      longestGaps: [],
      quarantined
    }
    if (files.length === 0) return empty
    // Pinned (lakeSnapshot.ts): a live commit may replace a file between these queries or inside one.
    const pinned = yield* Effect.flatMap(scopedSnapshot(root), (s) =>
      fileIo("pin", lakePaths(root).partitionDir(feed, date), () => s.pin(files))
    )
    if (pinned.length === 0) return empty
    const source = `read_parquet([${pinned.map(sqlString).join(", ")}], union_by_name = true)`
    const timed = TIME_SERIES.has(feed)
    const [totals] = yield* db.query(
      `SELECT count(*) AS rows, count(DISTINCT ${keyExpr(feed)}) AS keys${
        timed
          ? `, count(*) FILTER (WHERE window_start_ms < ${session.openMs} OR window_start_ms >= ${session.closeMs}) AS outside`
          : ""
      } FROM ${source}`
    )
    const dups = yield* db.query<{ k: string; n: unknown }>(
      `SELECT ${keyExpr(feed)} AS k, count(*) AS n FROM ${source} GROUP BY k HAVING count(*) > 1 ORDER BY n DESC, k LIMIT 10`
    )
    const [dupCount] = yield* db.query(
      `SELECT count(*) AS n FROM (SELECT ${keyExpr(feed)} AS k FROM ${source} GROUP BY k HAVING count(*) > 1)`
    )
    const sessionSlots = Math.max(1, Math.round((session.closeMs - session.openMs) / slotMs))
    const tickers: Array<TickerCoverage> = timed
      ? (yield* coverage(db, source, session, slotMs, listed)).map((r) => {
          const gap =
            r.gap_from === null
              ? null
              : {
                  ticker: r.ticker,
                  fromMs: num(r.gap_from),
                  toMs: num(r.gap_to),
                  seconds: (num(r.gap_to) - num(r.gap_from)) / 1000
                }
          return {
            ticker: r.ticker,
            slots: num(r.slots),
            coveragePct: (100 * num(r.slots)) / sessionSlots,
            longestGap: gap
          }
        })
      : []
    const longestGaps = tickers
      .flatMap((t) => (t.longestGap ? [t.longestGap] : []))
      .sort((a, b) => b.seconds - a.seconds || a.ticker.localeCompare(b.ticker))
      .slice(0, 5)
    return {
      ...empty,
      rows: num(totals?.["rows"]),
      distinctKeys: num(totals?.["keys"]),
      duplicateKeys: num(dupCount?.["n"]),
      duplicateExamples: dups.map((d) => ({ key: d.k, rows: num(d.n) })),
      outsideSession: num(totals?.["outside"]),
      tickers,
      longestGaps
    } satisfies FeedFigures
  }).pipe(Effect.scoped)

/** Schema-drift events recorded for the date (`data/state/schema_drift.ndjson`). */
export const driftEvents = (root: string, date: string) =>
  Effect.promise(async () => {
    const text = await fs.readFile(lakePaths(root).driftFile, "utf8").catch(() => "")
    return text.split("\n").flatMap((line): Array<DriftEvent> => {
      try {
        const d = JSON.parse(line) as DriftEvent & { date?: string }
        return d.date === date ? [{ feed: d.feed, kind: d.kind, field: d.field }] : []
      } catch {
        return []
      }
    })
  })
