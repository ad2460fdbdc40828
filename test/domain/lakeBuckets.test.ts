/**
 * A partition holds a bounded number of files at every moment, live or not (the "live
 * files"): every writer merges into the file its keys map to (src/domain/lakeBuckets.ts) and the
 * live tests check that a partition holds no other file (test/helpers/lakeLayout.ts `foreign`), so
 * the bound is the number of bucket files a day's bars can map to. Counted here over every minute
 * of a day: 39 option files and 7 SPY/VIX files for the regular session (what the lake stores by
 * default), 144 and 24 at most for a whole day, 1 for news and contracts; also on a 25-hour day.
 */
import { describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { Feed } from "../../src/domain/feeds.js"
import { bucketFileName, bucketOf, bucketOfFile } from "../../src/domain/lakeBuckets.js"

const filesFor = (feed: Feed, date: string, fromMs: number, toMs: number) => {
  const names = new Set<string>()
  // windows start on whole minutes: one start per minute meets every file a second could map to
  for (let t = fromMs; t < toMs; t += 60_000) names.add(bucketFileName(feed, bucketOf(feed, date, t)))
  return names
}

const FEEDS: ReadonlyArray<Feed> = ["options", "spy", "vix", "news", "contracts"]

describe("lake buckets: files per partition", () => {
  for (const date of ["2025-10-28", "2025-11-02"])
    it(`${date}: regular session 39 option files, 7 SPY/VIX, 1 news/contracts; a whole day 144 / 24 / 1`, () => {
      const session = Object.fromEntries(
        FEEDS.map((f) => [f, filesFor(f, date, nyTimeMs(date, 9, 30), nyTimeMs(date, 16, 0)).size])
      )
      expect(session).toEqual({ options: 39, spy: 7, vix: 7, news: 1, contracts: 1 })
      const day = filesFor("options", date, nyTimeMs(date, 0), nyTimeMs(date, 0) + 26 * 3600_000)
      expect([day.size, filesFor("spy", date, nyTimeMs(date, 0), nyTimeMs(date, 0) + 26 * 3600_000).size]).toEqual([
        144, 24
      ])
      // each of those names is a bucket file of its feed, and no other name is
      for (const name of day) expect(bucketFileName("options", bucketOfFile("options", name)!)).toBe(name)
      expect(
        ["backfill.parquet", "live-000002.parquet", "bars-0935.parquet", "bars-2400.parquet"].map((n) =>
          bucketOfFile("options", n)
        )
      ).toEqual([undefined, undefined, undefined, undefined])
    })
})
