/**
 * News while live: Polygon has no news WebSocket, so `/v2/reference/news` is polled every
 * `news.poll_interval_s` for an underlying's articles (one poller per underlying with `news: true`)
 * published after the last one seen, deduplicated by id and merged into the lake like the other
 * feeds (`data/raw/news/date=D/day.parquet`). The cursor (last `published_utc`, ids at that
 * instant, seq) is saved after each commit.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import * as path from "node:path"
import { nyDateOf } from "../../domain/calendar.js"
import { NEWS_SCHEMA, type Row } from "../../domain/feeds.js"
import { newsRow } from "../../domain/normalize.js"
import { lakePaths, tickerFileName } from "../../domain/paths.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import { ParquetWriter } from "../../services/ParquetWriter.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { SchemaDrift } from "../../services/SchemaDrift.js"
import { removeUncommitted } from "../writer/liveFiles.js"
import { LiveTelemetry } from "../telemetry.js"
import { fileIo } from "../../lib/fileIo.js"

export interface NewsCursor {
  readonly lastPublished: string
  /** Ids published exactly at `lastPublished` (the next query is `gt`, these are kept for dedupe). */
  readonly ids: ReadonlyArray<string>
  readonly seq: number
}

export interface NewsPollerConfig {
  readonly root: string
  readonly date: string
  readonly ticker: string
  /** Whose sentiment the rows carry (the first underlying's, as in backfill); default `ticker`. */
  readonly focusTicker?: string
  readonly intervalMs: number
  /** Start of the window on a first run (ISO UTC). */
  readonly since: string
}

/** The first underlying's cursor is `<date>.json` (as before several underlyings), another's `<date>-<TICKER>.json`. */
const cursorFile = (root: string, date: string, ticker: string, first: boolean) =>
  path.join(lakePaths(root).stateDir, "live", "news", first ? `${date}.json` : `${date}-${tickerFileName(ticker)}.json`)

/** The poller's loop: run it until interrupted. */
export const pollNews = (cfg: NewsPollerConfig) =>
  Effect.gen(function* () {
    const rest = yield* PolygonRest
    const writer = yield* ParquetWriter
    const drift = yield* SchemaDrift
    const telemetry = yield* LiveTelemetry
    const file = cursorFile(cfg.root, cfg.date, cfg.ticker, (cfg.focusTicker ?? cfg.ticker) === cfg.ticker)
    const saved = yield* fileIo("read", file, () => readJsonIfExists<NewsCursor>(file))
    let cursor: NewsCursor = saved ?? { lastPublished: cfg.since, ids: [], seq: 0 }
    yield* removeUncommitted(cfg.root, "news", [cfg.date], cursor.seq)

    const poll = Effect.gen(function* () {
      const items = yield* rest.news({
        ticker: cfg.ticker,
        "published_utc.gt": cursor.lastPublished,
        order: "asc",
        sort: "published_utc",
        limit: 1000
      })
      const receivedAtMs = yield* Clock.currentTimeMillis
      const seen = new Set(cursor.ids)
      const byDate = new Map<string, Array<Row>>()
      let last = cursor.lastPublished
      let lastIds = [...cursor.ids]
      for (const item of items) {
        const n = newsRow(item, { source: "rest", receivedAtMs }, cfg.focusTicker ?? cfg.ticker)
        if (n.drift.length > 0) yield* drift.report(cfg.date, n.drift)
        const published = typeof item["published_utc"] === "string" ? item["published_utc"] : undefined
        if (!n.ok || published === undefined) continue
        const id = n.row["id"] as string
        if (seen.has(id)) continue
        seen.add(id)
        if (published > last) {
          last = published
          lastIds = []
        }
        if (published === last) lastIds.push(id)
        const d = nyDateOf(n.row["published_utc_ms"] as number)
        if (!byDate.has(d)) byDate.set(d, [])
        byDate.get(d)!.push(n.row)
      }
      yield* telemetry.received("news", 1, items.length)
      yield* telemetry.connection("news", "polling")
      // A poll with nothing new is fully processed: record it, or the source looks stuck behind its last commit.
      if (byDate.size === 0) return yield* telemetry.commit("news", 0, yield* Clock.currentTimeMillis, [receivedAtMs])
      const seq = cursor.seq + 1
      let rows = 0
      for (const [d, list] of byDate) {
        rows += (yield* writer.upsert(NEWS_SCHEMA, cfg.root, d, { rows: list })).rows
      }
      cursor = { lastPublished: last, ids: lastIds, seq }
      yield* fileIo("write", file, () => writeFileAtomic(file, JSON.stringify(cursor)))
      yield* telemetry.commit("news", rows, yield* Clock.currentTimeMillis, [receivedAtMs])
    })

    const loop = poll.pipe(
      Effect.tapError((e) =>
        Effect.all(
          [
            telemetry.error("news"),
            telemetry.connection("news", "poll_failing"),
            Effect.logWarning(`news poll failed: ${e.message}`)
          ],
          { discard: true }
        )
      ),
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.millis(cfg.intervalMs)))
    )
    return { loop }
  })
