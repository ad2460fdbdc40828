/**
 * Several underlyings in the consolidated view of PostgreSQL and MariaDB (real servers) and of the
 * Snowflake SQL (run on DuckDB after the mechanical rewrites of engines.test.ts), against the same
 * expectation as DuckDB's (./manyUnderlyingsDays.ts): every row of the whole view of each date, as
 * a set. Built with `[SPY, QQQ]`, then rebuilt with `[QQQ, SPY]` (the date's per-second and
 * per-contract rows behind the view replaced), so the tickers of no configured underlying go first
 * with SPY, then with QQQ.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { consolidateInsert, consolidatePlan } from "../../../src/services/sinks/snowflakeConsolidated.js"
import { insightSentiment } from "../../../src/sql/consolidatedNews.js"
import { underlyingParts } from "../../../src/sql/consolidatedUnderlyings.js"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { DATES, WINDOW_MS } from "./fixtures.js"
import { allDays, expectedView, optionBarsOf, underlyingsOverrides } from "./manyUnderlyingsDays.js"
import {
  normalizeView,
  prepareMysql,
  preparePg,
  queryDuck,
  queryMysql,
  queryPg,
  tempRoot,
  withRouter,
  writeDays
} from "./support.js"

const pg = await preparePg("t_many")
const mysql = await prepareMysql("many")
const root = await tempRoot()
const INSIGHTS = `"INSIGHTS"`
const ORDERS = [
  ["SPY", "QQQ"],
  ["QQQ", "SPY"]
] as const
type Order = (typeof ORDERS)[number]

/**
 * The Snowflake plan's INSERTs (one per underlying), their SELECTs run on the DuckDB warehouse after
 * the rewrites of engines.test.ts, plus one: a further underlying's insight expression (FILTER over
 * PARSE_JSON: Snowflake only) replaced by DuckDB's (src/sql/consolidatedNews.ts), so only its text
 * is Snowflake's (checked below), the rest of the statement runs.
 */
const snowflakeOnDuckDb = async (date: string, order: Order) => {
  const tickers = { underlying: order[0], index: "I:VIX", underlyings: order }
  const inserts = consolidatePlan(date, WINDOW_MS, 1000, tickers).filter((s) => s.sqlText.startsWith("INSERT"))
  const rows = await Effect.runPromise(
    Effect.flatMap(DuckDb.make(lakePaths(root).warehouse), (db) =>
      db.withConnection(async (c) => {
        const out: Array<Array<unknown>> = []
        for (const st of inserts) {
          const body = st.sqlText
            .slice(st.sqlText.indexOf("\nWITH ") + 1)
            .replace(/ASOF JOIN (\w+) x MATCH_CONDITION \(([^()]*)\)/g, "ASOF LEFT JOIN $1 x ON $2")
            .replaceAll("REGEXP_LIKE(", "regexp_full_match(")
            .replaceAll(" AS FLOAT)", " AS DOUBLE)")
          const sql = order.reduce(
            (q, u) => q.replaceAll(insightSentiment("snowflake", INSIGHTS, u), insightSentiment("duckdb", INSIGHTS, u)),
            body
          )
          out.push(...(await c.runAndReadAll(sql, [...st.binds])).getRowsJS())
        }
        return out
      }, "snowflake sql")
    ).pipe(Effect.scoped)
  )
  return rows.map((r) => Object.fromEntries(consolidatedColumns.map((c, i) => [c.name, r[i]])))
}

interface Engine {
  readonly name: string
  readonly view: (date: string) => Promise<Array<Record<string, unknown>>>
  /** PostgreSQL and MySQL: a count of one query (parameter: the date, written `:d`). */
  readonly count?: (sql: string, date: string) => Promise<number>
}

const cols = consolidatedColumns.map((c) => c.name)
const engines: ReadonlyArray<Engine> = [
  {
    name: "duckdb",
    view: (date: string) => queryDuck(root, `SELECT * FROM options_consolidated WHERE "date" = '${date}'`)
  },
  ...(pg
    ? [
        {
          name: "postgres",
          view: (date: string) => queryPg(pg, `SELECT * FROM options_consolidated WHERE "date" = $1`, [date]),
          count: async (q: string, date: string) =>
            Number((await queryPg<{ n: string }>(pg, q.replaceAll(":d", "$1"), [date]))[0]!.n)
        }
      ]
    : []),
  ...(mysql
    ? [
        {
          name: "mysql",
          view: (date: string) =>
            queryMysql(
              mysql,
              `SELECT ${cols.map((c) => `\`${c}\``).join(", ")} FROM options_consolidated WHERE \`date\` = ?`,
              [date]
            ),
          count: async (q: string, date: string) =>
            Number((await queryMysql<{ n: number }>(mysql, q.replaceAll('"', "`").replaceAll(":d", "?"), [date]))[0]!.n)
        }
      ]
    : [])
]

/** Per order: the view of every engine, and the rows each consolidation reported, by date. */
const seen = new Map<Order, { views: Record<string, Record<string, unknown>>; reported: Record<string, unknown> }>()

beforeAll(async () => {
  await writeDays(root, allDays)
  for (const order of ORDERS) {
    const reported: Record<string, unknown> = {}
    await withRouter({ root, pg, mysql, overrides: underlyingsOverrides(order) }, (router) =>
      Effect.gen(function* () {
        for (const date of DATES) for (const feed of FEEDS) yield* router.loadPartition(feed, date)
        for (const date of DATES) reported[date] = (yield* router.consolidate(date)).bySink
      })
    )
    const views: Record<string, Record<string, unknown>> = {}
    for (const e of engines) for (const date of DATES) (views[e.name] ??= {})[date] = normalizeView(await e.view(date))
    for (const date of DATES) (views["snowflake"] ??= {})[date] = normalizeView(await snowflakeOnDuckDb(date, order))
    seen.set(order, { views, reported })
  }
}, 300_000)

afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe("consolidated view with several underlyings: PostgreSQL, MariaDB, the Snowflake SQL", () => {
  it("the expectation tells the orders apart (the other tickers' rows, O:QQQ's latest_sentiment) and has one row per option bar", () => {
    for (const date of DATES) {
      const [a, b] = ORDERS.map((o) => normalizeView(expectedView(date, o)))
      expect(a!.length).toBe(optionBarsOf(date))
      expect(b!.length).toBe(a!.length)
      const differ = a!.filter((r, i) => JSON.stringify(r) !== JSON.stringify(b![i]))
      expect(new Set(differ.map((r) => String(r["ticker"]).slice(0, 5)))).toEqual(
        new Set(["O:IWM", "O:QQQ", "O:qqq", "QQQ", `O:X'"`])
      )
      expect(differ.every((r) => !/^O:SPY\d/.test(String(r["ticker"])))).toBe(true)
      // O:QQQ rows: only latest_sentiment differs (QQQ's insight with [SPY, QQQ], spy_sentiment with [QQQ, SPY])
      const qqq = differ.filter((r) => /^O:QQQ\d/.test(String(r["ticker"])))
      expect(qqq.length).toBeGreaterThan(100)
      const i = (r: Record<string, unknown>) => a!.indexOf(r)
      expect(
        qqq.every(
          (r) => JSON.stringify({ ...r, latest_sentiment: 0 }) === JSON.stringify({ ...b![i(r)], latest_sentiment: 0 })
        )
      ).toBe(true)
      // with [SPY, QQQ], O:QQQ rows show QQQ insights: each value, and NULL after an article without one
      const shown = a!.filter((r) => /^O:QQQ\d/.test(String(r["ticker"])) && r["latest_headline"] !== null)
      expect(new Set(shown.map((r) => r["latest_sentiment"]))).toEqual(
        new Set(["positive", "negative", "neutral", null])
      )
    }
  })

  it.each(
    ORDERS.flatMap((order) => [...engines.map((e) => e.name), "snowflake"].map((name) => [name, order] as const))
  )("%s with underlyings %j: the whole view equals the expectation, row for row", (name, order) => {
    const { views, reported } = seen.get(order)!
    for (const date of DATES) {
      const want = normalizeView(expectedView(date, order))
      expect(views[name]![date]).toEqual(want)
      if (name !== "snowflake") expect((reported[date] as Record<string, number>)[name]).toBe(want.length)
    }
  })

  it.each(ORDERS)(
    "the Snowflake SQL with %j: the first part reads SPY_SENTIMENT, the second its insight",
    (...order) => {
      const tickers = { underlying: order[0], index: "I:VIX", underlyings: order }
      const [first, second] = consolidatePlan(DATES[0], WINDOW_MS, 1000, tickers).filter((s) =>
        s.sqlText.startsWith("INSERT")
      )
      const part = underlyingParts(tickers)[0]!
      expect(part.insight).toBeUndefined()
      expect(first).toEqual(consolidateInsert(DATES[0], WINDOW_MS, 1000, part.tickers, part.owns))
      expect(first!.sqlText).not.toContain(INSIGHTS)
      const expr = `GET(GET(FILTER(AS_ARRAY(TRY_PARSE_JSON(${INSIGHTS})), e -> e:ticker::STRING = '${order[1]}'), 0), 'sentiment')::STRING`
      expect(second!.sqlText).toContain(`SELECT "PUBLISHED_UTC_MS", "TITLE", ${expr} AS "SPY_SENTIMENT", COUNT(*) OVER`)
    }
  )

  it.each(engines.flatMap((e) => (e.count ? [[e.name, e.count] as const] : [])))(
    "%s: after the rebuild, one per-second row per underlying and second, one contract row per ticker",
    async (_name, count) => {
      for (const date of DATES) {
        const seconds = await count(
          `SELECT COUNT(DISTINCT window_start_ms) AS n FROM option_bars WHERE "date" = :d`,
          date
        )
        const tickers = await count(`SELECT COUNT(DISTINCT ticker) AS n FROM option_bars WHERE "date" = :d`, date)
        expect(seconds).toBeGreaterThan(0)
        expect(await count(`SELECT COUNT(*) AS n FROM consolidated_seconds WHERE "date" = :d`, date)).toBe(2 * seconds)
        expect(
          await count(
            `SELECT COUNT(DISTINCT part) AS n FROM consolidated_seconds WHERE "date" = :d AND part IN ('SPY', 'QQQ')`,
            date
          )
        ).toBe(2)
        expect(await count(`SELECT COUNT(*) AS n FROM consolidated_contracts WHERE "date" = :d`, date)).toBe(tickers)
      }
    }
  )
})
