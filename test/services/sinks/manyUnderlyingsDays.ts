/**
 * Lake days with two underlyings, and the consolidated view they must give, for the
 * many-underlying tests (manyUnderlyings.test.ts: DuckDB; manyUnderlyingsSql.test.ts: PostgreSQL,
 * MariaDB and the Snowflake SQL). The SPY days of engines.test.ts, plus a QQQ copy (other prices,
 * other missing seconds, O:QQQ contracts, news tagged QQQ with ids of their own) and one index,
 * plus option bars that belong to no configured underlying: OCC tickers of IWM and of QQQM (QQQ is
 * a prefix of it), a lower-case `O:qqq…` (not an OCC ticker), a bare `QQQ`, and the fixtures'
 * hostile non-OCC ticker. The expectation is the reference view (fixtures.ts) per underlying,
 * computed as if that underlying were SPY, then renamed: each option joined with its own
 * underlying's bars and news, the index shared, every other ticker joined with the FIRST configured
 * underlying (whichever it is).
 */
import type { Feed, Row } from "../../../src/domain/feeds.js"
import { parseOptionTicker } from "../../../src/domain/tickers.js"
import { DATES, type Day, dayRows, makeDay, referenceView } from "./fixtures.js"

export const spyDays = DATES.map((d, i) => makeDay(d, i))

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
export const qqqDays: Array<Day> = qqqAsSpy.map((day) => ({
  date: day.date,
  files: Object.fromEntries(
    (Object.keys(day.files) as Array<Feed>).map((feed) => [
      feed,
      feed === "vix" ? [] : day.files[feed].map(([n, rows]) => [`qqq-${n}`, rows.map((r) => toQqq(feed, r))] as const)
    ])
  ) as unknown as Day["files"]
}))

const EMPTY: Day["files"] = { spy: [], vix: [], options: [], news: [], contracts: [] }

/** Option bars of no configured underlying (a file of their own): copies of a SPY contract's bars, other prices. */
export const otherDays: Array<Day> = spyDays.map((day) => {
  const yymmdd = day.date.slice(2).replaceAll("-", "")
  const model = `O:SPY${yymmdd}C00580000`
  const bars = day.files.options[0]![1].filter((r) => r["ticker"] === model)
  const tickers = [`O:IWM${yymmdd}C00100000`, `O:QQQM${yymmdd}P00480000`, `O:qqq${yymmdd}C00580000`, "QQQ"]
  const rows = tickers.flatMap((ticker, k) =>
    bars.filter((_, j) => (j + k) % 5 === 0).map((r) => ({ ...r, ticker, close: Number(r["close"]) + k + 1 }))
  )
  return { date: day.date, files: { ...EMPTY, options: [["other-backfill.parquet", rows]] } }
})

/** Every stored day: SPY, QQQ, the others. */
export const allDays: ReadonlyArray<Day> = [...spyDays, ...qqqDays, ...otherDays]

/** The settings (YAML shape) listing the underlyings in `order`, and the index. */
export const underlyingsOverrides = (order: ReadonlyArray<string>) => ({
  underlyings: order.map((ticker) => ({ ticker })),
  indices: ["I:VIX"]
})

/** The options of a configured underlying as referenceView reads them (spelled SPY), and how to spell them back. */
const views = [
  { underlying: "SPY", days: spyDays, real: (t: string) => t },
  { underlying: "QQQ", days: qqqAsSpy, real: (t: string) => t.replace(/^O:SPY/, "O:QQQ") }
]

/** The option rows stored outside a view's own files: the others, and the SPY days' non-SPY tickers (the hostile one). */
const outsiders = (i: number, view: (typeof views)[number]) => [
  ...otherDays[i]!.files.options,
  ...(view.underlying === "SPY"
    ? []
    : spyDays[i]!.files.options.map(
        ([n, rows]) => [`spy-${n}`, rows.filter((r) => !String(r["ticker"]).startsWith("O:SPY"))] as const
      ))
]

/** The underlying an option ticker is joined with: its own when configured, else the first. */
const ownerOf = (ticker: string, order: ReadonlyArray<string>): string => {
  const u = parseOptionTicker(ticker)?.underlying
  return u !== undefined && order.includes(u) ? u : order[0]!
}

/** The whole view of `date` with the underlyings listed in `order` (each of SPY and QQQ must be listed). */
export const expectedView = (date: string, order: ReadonlyArray<string>): Array<Record<string, unknown>> =>
  views.flatMap((view) => {
    const days = view.days.map((day, i) => ({
      date: day.date,
      files: {
        ...day.files,
        options: [...day.files.options, ...outsiders(i, view)].map(
          ([n, rows]) =>
            [n, rows.filter((r) => ownerOf(view.real(String(r["ticker"])), order) === view.underlying)] as const
        )
      }
    }))
    return referenceView(days, date).map((r) => {
      const ticker = view.real(String(r["ticker"]))
      return { ...r, ticker, underlying: parseOptionTicker(ticker)?.underlying ?? null }
    })
  })

/** How many option bars the date holds in the lake (one view row each). */
export const optionBarsOf = (date: string): number =>
  allDays.filter((d) => d.date === date).reduce((n, d) => n + dayRows(d, "options").size, 0)

/** One file per feed, one row per key (the lake contract: views over the lake do not deduplicate across files). */
export const asLake = (day: Day): Day => ({
  date: day.date,
  files: Object.fromEntries(
    (Object.keys(day.files) as Array<Feed>).map((feed) => [
      feed,
      day.files[feed].length === 0 ? [] : [[day.files[feed][0]![0], [...dayRows(day, feed).values()]]]
    ])
  ) as unknown as Day["files"]
})
