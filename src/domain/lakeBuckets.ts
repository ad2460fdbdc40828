/**
 * Which file of a partition holds a key: the lake contract's "every key lives in exactly one file
 * of its partition at every moment" holds because the file is a function of the key alone.
 *
 * - Bars (spy, vix, options): by the bar's start in New York time, in fixed windows of the day,
 *   named by the window's first minute: `bars-0930.parquet` holds the bars starting 09:30:00–09:39:59
 *   for options (10-minute windows) and 09:00:00–09:59:59 for SPY and VIX (60-minute windows).
 * - News and the day's contracts: one `day.parquet`.
 *
 * Every writer (backfill, live commits, gap repair, the day's tail, re-centring, the news poller)
 * merges its rows into the files their keys map to, each file replaced by one atomic rename, so a
 * key never moves between files and a reader never sees it twice or not at all.
 */
import { DateTime } from "luxon"
import { NY } from "./calendar.js"
import type { Feed } from "./feeds.js"

export type BucketSpec = { readonly kind: "time"; readonly minutes: number } | { readonly kind: "day" }

export const BUCKETS: Readonly<Record<Feed, BucketSpec>> = {
  options: { kind: "time", minutes: 10 },
  spy: { kind: "time", minutes: 60 },
  vix: { kind: "time", minutes: 60 },
  news: { kind: "day" },
  contracts: { kind: "day" }
}

export const DAY_FILE = "day.parquet"
const TIME_FILE = /^bars-(\d{2})(\d{2})\.parquet$/
const MINUTES_PER_DAY = 24 * 60

/** The file name of bucket `index` of a feed. */
export const bucketFileName = (feed: Feed, index: number): string => {
  const spec = BUCKETS[feed]
  if (spec.kind === "day") return DAY_FILE
  const minute = index * spec.minutes
  return `bars-${String(Math.floor(minute / 60)).padStart(2, "0")}${String(minute % 60).padStart(2, "0")}.parquet`
}

/** The bucket index a file name stands for under the feed's scheme; undefined for any other file. */
export const bucketOfFile = (feed: Feed, name: string): number | undefined => {
  const spec = BUCKETS[feed]
  if (spec.kind === "day") return name === DAY_FILE ? 0 : undefined
  const m = TIME_FILE.exec(name)
  if (m === null) return undefined
  const minute = Number(m[1]) * 60 + Number(m[2])
  return minute % spec.minutes === 0 && minute < MINUTES_PER_DAY ? minute / spec.minutes : undefined
}

/** New York midnight of `date`, epoch ms. */
const midnightMs = (date: string): number => DateTime.fromISO(date, { zone: NY }).startOf("day").toMillis()

/**
 * A SQL expression of a row's bucket index (INTEGER) in `date`'s partition. A bar outside the
 * date (never written by the platform) is held by the first or last bucket, so it still has one home.
 */
export const bucketSql = (feed: Feed, date: string): string => {
  const spec = BUCKETS[feed]
  if (spec.kind === "day") return "CAST(0 AS INTEGER)"
  const step = spec.minutes * 60_000
  const last = MINUTES_PER_DAY / spec.minutes - 1
  return `CAST(greatest(0, least(${last}, floor(("window_start_ms" - ${midnightMs(date)}) / ${step}))) AS INTEGER)`
}

/** The bucket index of a bar by its start, for many bars of one date (the date is parsed once). */
export const bucketIndexer = (feed: Feed, date: string): ((startMs: number) => number) => {
  const spec = BUCKETS[feed]
  if (spec.kind === "day") return () => 0
  const last = MINUTES_PER_DAY / spec.minutes - 1
  const midnight = midnightMs(date)
  const step = spec.minutes * 60_000
  return (startMs) => Math.max(0, Math.min(last, Math.floor((startMs - midnight) / step)))
}

/** The bucket index of a bar starting at `startMs` (the TypeScript twin of `bucketSql`). */
export const bucketOf = (feed: Feed, date: string, startMs: number): number => bucketIndexer(feed, date)(startMs)
