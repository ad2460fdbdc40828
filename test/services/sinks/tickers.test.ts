/**
 * `tickers.underlying` and `tickers.index` reach the consolidated view in every engine: the two
 * sink days of engines.test.ts with SPY renamed QQQ (its bars and its news tag) and I:VIX renamed
 * I:VIX9D, loaded with `tickers: { underlying: QQQ, index: I:VIX9D }`, give exactly the reference
 * view of the original days; the SPY rows left in the same tables (an older underlying) are not
 * joined.
 */
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { Feed, Row } from "../../../src/domain/feeds.js"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { DATES, type Day, dayRows, makeDay, referenceView } from "./fixtures.js"
import {
  prepareMysql,
  preparePg,
  queryDuck,
  queryMysql,
  queryPg,
  tempRoot,
  withRouter,
  writeDays,
  normalizeView
} from "./support.js"

const pg = await preparePg("t_tickers")
const mysql = await prepareMysql("tickers")
const root = await tempRoot()
const days = DATES.map((d, i) => makeDay(d, i))
const TICKERS = { underlying: "QQQ", index: "I:VIX9D" }

const renamed = (day: Day): Day => {
  const rename = (feed: Feed, row: Row): Row =>
    feed === "spy"
      ? { ...row, ticker: "QQQ" }
      : feed === "vix"
        ? { ...row, ticker: "I:VIX9D" }
        : feed === "news"
          ? { ...row, tickers: String(row["tickers"]).replaceAll('"SPY"', '"QQQ"') }
          : row
  const files = Object.fromEntries(
    (Object.keys(day.files) as Array<Feed>).map((feed) => [
      feed,
      feed === "spy" || feed === "vix"
        ? // the renamed bars, plus the original SPY / I:VIX bars with another price: must not be joined
          [
            ...day.files[feed].map(([name, rows]) => [name, rows.map((r) => rename(feed, r))] as const),
            [`old-${feed}.parquet`, [...dayRows(day, feed).values()].map((r) => ({ ...r, close: 1 }))] as const
          ]
        : day.files[feed].map(([name, rows]) => [name, rows.map((r) => rename(feed, r))] as const)
    ])
  ) as unknown as Day["files"]
  return { ...day, files }
}

const cols = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")
const normalize = normalizeView
const select = (q: (id: string) => string) =>
  `SELECT ${cols.map((c) => q(c.name)).join(", ")} FROM options_consolidated WHERE ${q("date")} = `
const views: Array<[string, (date: string) => Promise<Array<Record<string, unknown>>>]> = [
  ["duckdb", (date) => queryDuck(root, `${select((c) => `"${c}"`)}'${date}'`)],
  ...(pg
    ? [
        ["postgres", (date: string) => queryPg(pg, `${select((c) => `"${c}"`)}$1`, [date])] as [
          string,
          (d: string) => Promise<Array<Record<string, unknown>>>
        ]
      ]
    : []),
  ...(mysql
    ? [
        ["mysql", (date: string) => queryMysql(mysql, `${select((c) => `\`${c}\``)}?`, [date])] as [
          string,
          (d: string) => Promise<Array<Record<string, unknown>>>
        ]
      ]
    : [])
]

beforeAll(async () => {
  await writeDays(root, days.map(renamed))
  await withRouter({ root, pg, mysql, overrides: { tickers: TICKERS } }, (router) =>
    Effect.gen(function* () {
      for (const day of days) for (const feed of FEEDS) yield* router.loadPartition(feed, day.date)
      for (const date of DATES) yield* router.consolidate(date)
    })
  )
}, 180_000)

describe("the configured tickers in the consolidated view", () => {
  it("has every engine the test needs", () => {
    expect(views.map(([name]) => name)).toEqual(
      process.env["CI"] ? ["duckdb", "postgres", "mysql"] : views.map(([name]) => name)
    )
  })

  it.each(views)("%s: QQQ and I:VIX9D joined exactly as SPY and I:VIX were", async (_, view) => {
    for (const date of DATES) expect(normalize(await view(date))).toEqual(normalize(referenceView(days, date)))
  })
})
