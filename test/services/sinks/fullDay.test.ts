/**
 * A real-sized day in every engine: the simulator's default day (24 contracts, ~100 k option bars;
 * ./simDay.ts) plus a corrections file, loaded into DuckDB, PostgreSQL and MariaDB/MySQL through
 * the SinkRouter and consolidated. Each engine's `option_bars` equals the lake's latest version per
 * key (every column), and each engine's `options_consolidated` equals the plain-TypeScript
 * reference row for row (so the three engines are identical row for row).
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SCHEMAS } from "../../../src/domain/feeds.js"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { expectSameLines, lines, referenceRows, type SimDay, simulatedDay } from "./simDay.js"
import { prepareMysql, preparePg, queryDuck, queryMysql, queryPg, withRouter } from "./support.js"

const WINDOW_MS = 15 * 60_000 // consolidated.news_window_minutes in config/settings.yaml
const pg = await preparePg("t_fullday")
const mysql = await prepareMysql("fullday")
let day: SimDay

const barColumns = SCHEMAS.options.columns
const viewColumns = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")

type Read = (table: string, columns: ReadonlyArray<string>) => Promise<Array<Record<string, unknown>>>
const engines: Array<readonly [string, Read]> = [
  [
    "duckdb",
    (table, columns) =>
      queryDuck(
        day.root,
        `SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM ${table} WHERE "date" = '${day.date}'`
      )
  ],
  ...(pg
    ? [
        [
          "postgres",
          (table: string, columns: ReadonlyArray<string>) =>
            queryPg(pg, `SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM ${table} WHERE "date" = $1`, [day.date])
        ] as const
      ]
    : []),
  ...(mysql
    ? [
        [
          "mysql",
          (table: string, columns: ReadonlyArray<string>) =>
            queryMysql(mysql, `SELECT ${columns.map((c) => `\`${c}\``).join(", ")} FROM ${table} WHERE \`date\` = ?`, [
              day.date
            ])
        ] as const
      ]
    : [])
]

beforeAll(async () => {
  day = await simulatedDay()
  await withRouter({ root: day.root, pg, mysql, batchRows: 5_000 }, (router) =>
    Effect.gen(function* () {
      for (const feed of FEEDS) yield* router.loadPartition(feed, day.date)
      const r = yield* router.consolidate(day.date)
      expect(Object.keys(r.bySink).sort()).toEqual(engines.map(([name]) => name).sort())
    })
  )
}, 600_000)

afterAll(() => (day ? fs.rm(day.root, { recursive: true, force: true }) : undefined))

describe("a full simulated day in every engine", () => {
  it("is real-sized: 24 contracts, ~100 k option bars, corrections that change values", () => {
    const tickers = new Set([...day.truth.options.values()].map((r) => r["ticker"]))
    expect([tickers.size, day.truth.options.size]).toEqual([24, 100_215]) // seed 42, as settings.yaml runs the simulator
    expect(day.corrected).toBeGreaterThan(900)
    expect([...day.truth.options.values()].filter((r) => r["source"] === "ws").length).toBe(day.corrected)
  })

  it.each(engines)("%s: option_bars equals the lake's latest version of every key, every column", async (_, read) => {
    const expected = lines(barColumns, [...day.truth.options.values()])
    expectSameLines(
      lines(
        barColumns,
        await read(
          "option_bars",
          barColumns.map((c) => c.name)
        )
      ),
      expected
    )
  })

  it.each(engines)("%s: options_consolidated equals the reference row for row", async (_, read) => {
    const reference = referenceRows(day, WINDOW_MS)
    // anti-vacuity: the day exercises SPY gaps, news counts and latest headlines
    expect(reference.some((r) => r["spy_staleness_ms"] !== null && Number(r["spy_staleness_ms"]) > 0)).toBe(true)
    expect(new Set(reference.map((r) => r["news_count_15m"])).size).toBeGreaterThan(2)
    expect(reference.filter((r) => r["latest_headline"] !== null).length).toBeGreaterThan(50_000)
    expectSameLines(
      lines(
        viewColumns,
        await read(
          "options_consolidated",
          viewColumns.map((c) => c.name)
        )
      ),
      lines(viewColumns, reference)
    )
  })
})
