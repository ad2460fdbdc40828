/**
 * Two lake days loaded into DuckDB, PostgreSQL and MariaDB/MySQL through the SinkRouter: table
 * counts equal the lake's (deduplicated), options_consolidated has one row per option bar, every
 * engine equals the TypeScript reference row for row, edge cases are exact, hostile strings intact.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Feed, SCHEMAS } from "../../../src/domain/feeds.js"
import { lakePaths } from "../../../src/domain/paths.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { consolidatedColumns, FEEDS, TABLES } from "../../../src/sql/tables.js"
import { consolidateInsert } from "../../../src/services/sinks/snowflakeConsolidated.js"
import { DATES, dayRows, HOSTILE, makeDay, referenceView, WINDOW_MS } from "./fixtures.js"
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

const pg = await preparePg("t_engines")
const mysql = await prepareMysql("engines")
const root = await tempRoot()
const days = DATES.map((d, i) => makeDay(d, i))
const cols = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")
const normalize = normalizeView
const select = (q: (id: string) => string) =>
  `SELECT ${cols.map((c) => q(c.name)).join(", ")} FROM options_consolidated WHERE ${q("date")} = `

type Engine = {
  name: string
  view: (date: string) => Promise<Array<Record<string, unknown>>>
  count: (table: string, date: string) => Promise<number>
  titles: () => Promise<Array<string>>
}
const engines: Array<Engine> = [
  {
    name: "duckdb",
    view: async (date) => queryDuck(root, `${select((c) => `"${c}"`)}'${date}'`),
    count: async (table, date) =>
      Number((await queryDuck<{ n: bigint }>(root, `SELECT count(*) n FROM ${table} WHERE "date" = '${date}'`))[0]!.n),
    titles: async () =>
      (await queryDuck<{ title: string }>(root, `SELECT title FROM news ORDER BY id`)).map((r) => r.title)
  },
  ...(pg
    ? [
        {
          name: "postgres",
          view: (date: string) => queryPg(pg, `${select((c) => `"${c}"`)}$1`, [date]),
          count: async (table: string, date: string) =>
            Number(
              (await queryPg<{ n: string }>(pg, `SELECT count(*) n FROM ${table} WHERE "date" = $1`, [date]))[0]!.n
            ),
          titles: async () =>
            (await queryPg<{ title: string }>(pg, `SELECT title FROM news ORDER BY id COLLATE "C"`)).map((r) => r.title)
        }
      ]
    : []),
  ...(mysql
    ? [
        {
          name: "mysql",
          view: (date: string) => queryMysql(mysql, `${select((c) => `\`${c}\``)}?`, [date]),
          count: async (table: string, date: string) =>
            Number(
              (await queryMysql<{ n: number }>(mysql, `SELECT count(*) n FROM ${table} WHERE \`date\` = ?`, [date]))[0]!
                .n
            ),
          titles: async () =>
            (await queryMysql<{ title: string }>(mysql, `SELECT title FROM news ORDER BY id`)).map((r) => r.title)
        }
      ]
    : [])
]

/**
 * No Snowflake account here: its consolidation SQL runs on the DuckDB warehouse after three
 * mechanical rewrites (ASOF JOIN … MATCH_CONDITION → ASOF LEFT JOIN … ON, REGEXP_LIKE →
 * regexp_full_match, FLOAT → DOUBLE), which checks its logic, not Snowflake's dialect.
 */
const snowflakeOnDuckDb: Engine = {
  name: "snowflake SQL (on DuckDB)",
  view: async (date) => {
    const st = consolidateInsert(date, WINDOW_MS)
    const sql = st.sqlText
      .slice(st.sqlText.indexOf("\nWITH ") + 1)
      .replace(/ASOF JOIN (\w+) x MATCH_CONDITION \(([^()]*)\)/g, "ASOF LEFT JOIN $1 x ON $2")
      .replaceAll("REGEXP_LIKE(", "regexp_full_match(")
      .replaceAll(" AS FLOAT)", " AS DOUBLE)")
    const rows = await Effect.runPromise(
      Effect.flatMap(DuckDb.make(lakePaths(root).warehouse), (db) =>
        db.withConnection(async (c) => (await c.runAndReadAll(sql, [...st.binds])).getRowsJS(), "snowflake sql")
      ).pipe(Effect.scoped)
    )
    return rows.map((r) => Object.fromEntries(consolidatedColumns.map((c, i) => [c.name, r[i]])))
  },
  count: () => Promise.reject(new Error("view only")),
  titles: () => Promise.reject(new Error("view only"))
}
const viewEngines = [...engines, snowflakeOnDuckDb]
let counted: Readonly<Record<string, Readonly<Record<string, number>>>> = {}

beforeAll(async () => {
  await writeDays(root, days)
  await withRouter({ root, pg, mysql }, (router) =>
    Effect.gen(function* () {
      for (const day of days) for (const feed of FEEDS) yield* router.loadPartition(feed, day.date)
      for (const date of DATES) {
        const r = yield* router.consolidate(date)
        expect(Object.keys(r.bySink).sort()).toEqual(engines.map((e) => e.name).sort())
      }
      counted = yield* router.counts(DATES[0])
    })
  )
}, 90_000)

afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe("sinks: two days in every engine", () => {
  it.each(engines.map((e) => [e.name, e] as const))(
    "%s: row counts per table equal the deduplicated lake",
    async (_, engine) => {
      for (const day of days)
        for (const feed of FEEDS as ReadonlyArray<Feed>)
          expect([feed, await engine.count(TABLES[feed], day.date)]).toEqual([feed, dayRows(day, feed).size])
    }
  )

  it.each(engines.map((e) => [e.name, e] as const))(
    "%s: Sink.counts (what verify compares) equals the deduplicated lake, table by table",
    async (_, engine) => {
      const day = days[0]!
      expect(counted[engine.name]).toEqual({
        ...Object.fromEntries((FEEDS as ReadonlyArray<Feed>).map((feed) => [TABLES[feed], dayRows(day, feed).size])),
        options_consolidated: dayRows(day, "options").size
      })
    }
  )

  it.each(viewEngines.map((e) => [e.name, e] as const))(
    "%s: options_consolidated equals the reference row for row",
    async (_, engine) => {
      for (const date of DATES) {
        const reference = normalize(referenceView(days, date))
        const actual = normalize(await engine.view(date))
        expect(actual.length).toBe(
          dayRows(
            days.find((d) => d.date === date)!,
            "options"
          ).size
        )
        expect(new Set(actual.map((r) => `${r["ticker"]}|${r["window_start_ms"]}`)).size).toBe(actual.length)
        expect(actual).toEqual(reference)
      }
    }
  )

  // Hand-computed, point in time: a row's time is its bar's END (start + 1 s). SPY/VIX: the bar of
  // the same second (it ends with the option bar) or the last before; news: published ≤ the end.
  it.each(viewEngines.map((e) => [e.name, e] as const))(
    "%s: staleness, nulls and the news boundary on hand-built cases",
    async (_, engine) => {
      const date = DATES[0]
      const open = Date.parse(`${date}T13:30:00Z`)
      const rows = normalize(await engine.view(date))
      const at = (ticker: string, t: number) => rows.find((r) => r["ticker"] === ticker && r["window_start_ms"] === t)!
      const c0 = "O:SPY251028C00580000"
      const pre = at(c0, open - 1000) // before any SPY/VIX bar of the day
      expect([pre["spy_close"], pre["spy_staleness_ms"], pre["vix_value"], pre["vix_staleness_ms"]]).toEqual([
        null,
        null,
        null,
        null
      ])
      // ends at the open: (open − 15 min, open] holds c (open − 14:59) but not b (open − 15:00 exactly)
      expect([pre["news_count_15m"], pre["latest_headline"], pre["latest_news_age_s"]]).toEqual([
        1,
        HOSTILE[2],
        (WINDOW_MS - 1000) / 1000
      ])
      const first = at(c0, open) // ends at open + 1 s: c, published exactly end − 15 min, is outside (end − 15 min, end]
      expect([
        first["spy_staleness_ms"],
        first["spy_window_start_ms"],
        first["vix_value"],
        first["news_count_15m"],
        first["latest_headline"]
      ]).toEqual([0, open, null, 0, HOSTILE[2]])
      const gap = at(c0, open + 3000) // SPY missing this second → the previous second's bar
      expect([gap["spy_window_start_ms"], gap["spy_staleness_ms"], gap["vix_value"], gap["vix_staleness_ms"]]).toEqual([
        open + 2000,
        1000,
        17.003,
        0
      ])
      const p580 = "O:SPY251028P00580500"
      const tie = at(p580, open + 29_000) // ends when two articles are published at the same ms: both known, the greater id wins
      expect([
        tie["latest_headline"],
        tie["latest_sentiment"],
        tie["latest_news_age_s"],
        tie["news_count_15m"]
      ]).toEqual([HOSTILE[4], "positive", 0, 2])
      const afterTie = at(c0, open + 30_000) // starts at that ms, ends 1 s later
      expect([afterTie["latest_headline"], afterTie["latest_news_age_s"], afterTie["news_count_15m"]]).toEqual([
        HOSTILE[4],
        1,
        2
      ])
      const endsOnPublish = at(p580, open + 119_000) // ends exactly when "SPY at a bar start" is published: known, age 0
      expect([
        endsOnPublish["latest_headline"],
        endsOnPublish["latest_news_age_s"],
        endsOnPublish["news_count_15m"]
      ]).toEqual(["SPY at a bar start", 0, 3])
      const inside = at(c0, open + 120_000) // "SPY mid-bar" is published inside this bar: known at its end
      expect([inside["latest_headline"], inside["latest_news_age_s"], inside["news_count_15m"]]).toEqual([
        "SPY mid-bar",
        0.5,
        4
      ])
      const afterMid = at("O:SPY251028C00581000", open + 121_000)
      expect([
        afterMid["latest_headline"],
        afterMid["latest_news_age_s"],
        afterMid["news_count_15m"],
        afterMid["in_contract_list"]
      ]).toEqual(["SPY mid-bar", 1.5, 4, true])
      const unlisted = rows.find((r) => r["ticker"] === "O:SPY251028P00582500")!
      expect([
        unlisted["in_contract_list"],
        unlisted["contract_type"],
        unlisted["strike"],
        unlisted["expiration"]
      ]).toEqual([false, "put", 582.5, "2025-10-28"])
      const hostile = rows.find((r) => String(r["ticker"]).startsWith("O:X'"))!
      expect([hostile["underlying"], hostile["strike"], hostile["contract_type"], hostile["in_contract_list"]]).toEqual(
        [null, null, null, false]
      )
    }
  )

  it.each(engines.map((e) => [e.name, e] as const))("%s: hostile strings land intact", async (_, engine) => {
    const expected = days
      .flatMap((d) => [...dayRows(d, "news").values()])
      .sort((a, b) => (String(a["id"]) < String(b["id"]) ? -1 : 1))
      .map((r) => r["title"])
    expect(await engine.titles()).toEqual(expected)
    expect(expected).toContain(HOSTILE[3])
  })

  it("duckdb exports consolidated.parquet for each date; timestamps match their *_ms columns everywhere", async () => {
    for (const date of DATES) {
      const file = path.join(lakePaths(root).consolidatedDir(date), "consolidated.parquet")
      const [r] = await queryDuck<{ n: bigint }>(root, `SELECT count(*) n FROM read_parquet('${file}')`)
      expect(Number(r!.n)).toBe(
        dayRows(
          days.find((d) => d.date === date)!,
          "options"
        ).size
      )
      expect(await fs.readdir(path.dirname(file))).toEqual(["consolidated.parquet"])
    }
    const [d] = await queryDuck<{ n: bigint }>(
      root,
      `SELECT count(*) n FROM options_consolidated WHERE epoch_ms(window_start) <> window_start_ms`
    )
    expect(Number(d!.n)).toBe(0)
    if (pg) {
      const [p] = await queryPg<{ n: string }>(
        pg,
        `SELECT count(*) n FROM spy_bars WHERE (extract(epoch FROM window_start) * 1000)::bigint <> window_start_ms`
      )
      expect(Number(p!.n)).toBe(0)
    }
    if (mysql) {
      const [m] = await queryMysql<{ n: number }>(
        mysql,
        `SELECT count(*) n FROM news WHERE TIMESTAMPDIFF(MICROSECOND, '1970-01-01', published_utc) <> published_utc_ms * 1000`
      )
      expect(Number(m!.n)).toBe(0)
    }
    expect(SCHEMAS.news.timestamps).toEqual([["published_utc_ms", "published_utc"]])
  })
})
