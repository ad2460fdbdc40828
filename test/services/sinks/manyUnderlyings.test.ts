/**
 * Several underlyings in DuckDB's consolidated view: a lake holding SPY's sink days of
 * engines.test.ts plus a QQQ copy (other prices, other missing seconds, O:QQQ contracts, news
 * tagged QQQ with ids of their own) and one index. With `underlyings: [SPY, QQQ]` every O:SPY row
 * equals the reference view of the SPY days and every O:QQQ row the reference view of the QQQ
 * days (computed as if QQQ were SPY, then renamed): each option joined with its own underlying's
 * bars and news, the index shared. Over loaded tables and over the lake alike.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Feed, Row } from "../../../src/domain/feeds.js"
import { FEEDS } from "../../../src/sql/tables.js"
import { DATES, type Day, dayRows, makeDay, referenceView } from "./fixtures.js"
import { normalizeView, queryDuck, tempRoot, withRouter, writeDays } from "./support.js"

const spyDays = DATES.map((d, i) => makeDay(d, i))

/** The QQQ side, still spelled SPY (so referenceView computes its expectation): other prices and gaps, the SPY days' index. */
const qqqAsSpy: Array<Day> = DATES.map((d, i) => {
  const other = makeDay(d, i + 3)
  const files = other.files
  return {
    date: d,
    files: {
      ...files,
      spy: files.spy.map(([n, rows]) => [n, rows.filter((_, k) => k % 11 !== 5)] as const),
      vix: spyDays[i]!.files.vix,
      options: files.options.map(
        ([n, rows]) => [n, rows.filter((r) => String(r["ticker"]).startsWith("O:SPY"))] as const
      ),
      news: files.news.map(([n, rows]) => [n, rows.map((r) => ({ ...r, id: `q-${String(r["id"])}` }))] as const)
    }
  }
})

const toQqq = (feed: Feed, row: Row): Row =>
  feed === "spy"
    ? { ...row, ticker: "QQQ" }
    : feed === "options" || feed === "contracts"
      ? {
          ...row,
          ticker: String(row["ticker"]).replace(/^O:SPY/, "O:QQQ"),
          ...(feed === "contracts" ? { underlying_ticker: "QQQ" } : {})
        }
      : feed === "news"
        ? { ...row, tickers: String(row["tickers"]).replaceAll('"SPY"', '"QQQ"') }
        : row

/** The QQQ days as stored: renamed, and without the index (the SPY days hold it). */
const qqqDays: Array<Day> = qqqAsSpy.map((day) => ({
  date: day.date,
  files: Object.fromEntries(
    (Object.keys(day.files) as Array<Feed>).map((feed) => [
      feed,
      feed === "vix" ? [] : day.files[feed].map(([n, rows]) => [`qqq-${n}`, rows.map((r) => toQqq(feed, r))] as const)
    ])
  ) as unknown as Day["files"]
}))

const expected = (date: string) => [
  ...referenceView(spyDays, date),
  ...referenceView(qqqAsSpy, date).map((r) => ({
    ...r,
    ticker: String(r["ticker"]).replace(/^O:SPY/, "O:QQQ"),
    underlying: "QQQ"
  }))
]

/** One file per feed, one row per key (the lake contract: views over the lake do not deduplicate across files). */
const asLake = (day: Day): Day => ({
  date: day.date,
  files: Object.fromEntries(
    (Object.keys(day.files) as Array<Feed>).map((feed) => [
      feed,
      day.files[feed].length === 0 ? [] : [[day.files[feed][0]![0], [...dayRows(day, feed).values()]]]
    ])
  ) as unknown as Day["files"]
})

const OVERRIDES = { underlyings: [{ ticker: "SPY" }, { ticker: "QQQ" }], indices: ["I:VIX"] }

describe.each(["tables", "lake"] as const)("DuckDB consolidated view with SPY and QQQ (storage: %s)", (storage) => {
  it("joins each option with its own underlying's bars and news, the index shared", async () => {
    const root = await tempRoot()
    await writeDays(root, [...spyDays, ...qqqDays].map(asLake))
    await withRouter(
      {
        root,
        overrides: { ...OVERRIDES, sinks: { enabled: ["duckdb"], duckdb: { storage, batch_rows: 500 } } }
      },
      (router) =>
        Effect.gen(function* () {
          for (const day of spyDays) for (const feed of FEEDS) yield* router.loadPartition(feed, day.date)
          for (const date of DATES) yield* router.consolidate(date)
        })
    )
    for (const date of DATES) {
      const view = normalizeView(await queryDuck(root, `SELECT * FROM options_consolidated WHERE "date" = '${date}'`))
      const want = normalizeView(expected(date))
      expect(view.filter((r) => String(r["ticker"]).startsWith("O:QQQ")).length).toBeGreaterThan(1000)
      expect(view).toEqual(want)
    }
  }, 120_000)
})
