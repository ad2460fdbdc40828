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
 *
 * `latest_sentiment`: the news column `spy_sentiment` is the insight of the underlying first at
 * ingest; the days are stored once, as ingested with SPY first (an article's `spy_sentiment` is its
 * SPY insight, NULL when it has none), and read under both orders. The rule: a row of the FIRST
 * configured underlying (and every ticker joined with it) shows the latest article's `spy_sentiment`;
 * a row of a further underlying U the `sentiment` of the article's `insights` element whose ticker is
 * U (NULL when none). So with `[SPY, QQQ]` O:QQQ rows show QQQ insights, which differ from the
 * articles' `spy_sentiment` or are missing; with `[QQQ, SPY]` (the config reordered over the same
 * lake, without re-ingesting) O:QQQ rows show the column as stored (SPY's insight) and O:SPY rows
 * their SPY insight read from `insights` (equal to the column, as ingested; the QQQ elements among
 * the SPY articles' insights differ, so reading another ticker's insight shows).
 */
import type { Feed, Row } from "../../../src/domain/feeds.js"
import { parseOptionTicker } from "../../../src/domain/tickers.js"
import { DATES, type Day, dayRows, makeDay, referenceView } from "./fixtures.js"

type Insight = readonly [ticker: string, sentiment: string | null]
const insightsJson = (list: ReadonlyArray<Insight> | null) =>
  list === null
    ? null
    : JSON.stringify(
        list.map(([ticker, sentiment]) => ({
          ticker,
          sentiment,
          sentiment_reasoning: `it's ${ticker}: {"ticker":"QQQ","sentiment":"weird"} %_`
        }))
      )

/** Each article's insights by the letter ending its id, as stored: the SPY days' articles, realistic for SPY first. */
const SPY_INSIGHTS: Record<string, ReadonlyArray<Insight> | null> = {
  a: [
    ["QQQ", "neutral"],
    ["SPY", "negative"]
  ],
  b: [["SPY", "neutral"]],
  c: [
    ["SPY", "positive"],
    ["QQQ", "negative"]
  ],
  d: null,
  e: [
    ["SPY", "positive"],
    ["QQQ", "negative"]
  ],
  f: [["AAPL", "positive"]],
  g: [
    ["QQQ", "positive"],
    ["SPY", "neutral"]
  ],
  h: [["SPY", "negative"]]
}

/**
 * The QQQ days' articles: SPY's insight as in `spy_sentiment`, and a QQQ insight that differs from
 * it (a, c, e, g), or none (b; h: no insights at all, so no `spy_sentiment` either); QQQM and a
 * lower-case qqq before QQQ's element (c) must not match.
 */
const QQQ_INSIGHTS: Record<string, { readonly spy: string | null; readonly insights: ReadonlyArray<Insight> | null }> =
  {
    a: {
      spy: "negative",
      insights: [
        ["SPY", "negative"],
        ["QQQ", "positive"]
      ]
    },
    b: { spy: "neutral", insights: [["SPY", "neutral"]] },
    c: {
      spy: "positive",
      insights: [
        ["QQQM", "neutral"],
        ["qqq", "positive"],
        ["SPY", "positive"],
        ["QQQ", "negative"]
      ]
    },
    d: { spy: null, insights: [["QQQ", "negative"]] },
    e: {
      spy: "positive",
      insights: [
        ["QQQ", "neutral"],
        ["SPY", "positive"]
      ]
    },
    f: { spy: null, insights: null },
    g: {
      spy: "neutral",
      insights: [
        ["SPY", "neutral"],
        ["QQQ", "positive"]
      ]
    },
    h: { spy: null, insights: null }
  }
const letter = (r: Row) => String(r["id"]).slice(-1)

const withSpyInsights = (day: Day): Day => ({
  ...day,
  files: {
    ...day.files,
    news: day.files.news.map(
      ([n, rows]) => [n, rows.map((r) => ({ ...r, insights: insightsJson(SPY_INSIGHTS[letter(r)]!) }))] as const
    )
  }
})

export const spyDays = DATES.map((d, i) => withSpyInsights(makeDay(d, i)))

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
      news: files.news.map(
        ([n, rows]) =>
          [
            n,
            rows.map((r) => {
              const q = QQQ_INSIGHTS[letter(r)]!
              return { ...r, id: `q-${String(r["id"])}`, spy_sentiment: q.spy, insights: insightsJson(q.insights) }
            })
          ] as const
      )
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

/** The sentiment toward `ticker` in an article's `insights` (JSON text): the first element's with that ticker, else null. */
export const insightOf = (insights: unknown, ticker: string): string | null => {
  const list: unknown = typeof insights === "string" ? JSON.parse(insights) : null
  const hit = Array.isArray(list)
    ? (list as Array<Record<string, unknown>>).find((e) => e?.["ticker"] === ticker)
    : undefined
  return typeof hit?.["sentiment"] === "string" ? hit["sentiment"] : null
}

/**
 * The news as referenceView must read it for `underlying`'s rows: `spy_sentiment` as stored when
 * it is the first underlying of `order`, else replaced by the article's insight for it.
 */
const sentimentFor = (news: Day["files"]["news"], underlying: string, order: ReadonlyArray<string>) =>
  underlying === order[0]
    ? news
    : news.map(
        ([n, rows]) => [n, rows.map((r) => ({ ...r, spy_sentiment: insightOf(r["insights"], underlying) }))] as const
      )

/** The whole view of `date` with the underlyings listed in `order` (each of SPY and QQQ must be listed). */
export const expectedView = (date: string, order: ReadonlyArray<string>): Array<Record<string, unknown>> =>
  views.flatMap((view) => {
    const days = view.days.map((day, i) => ({
      date: day.date,
      files: {
        ...day.files,
        news: sentimentFor(day.files.news, view.underlying, order),
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
