/**
 * The DuckDB load statements (src/sql/duckdbMerge.ts) on a real in-memory DuckDB: a first load
 * inserts every staged row; the same rows again change nothing; a newer version of a bar replaces
 * it, an older one does not; a news article whose corrected `published_utc` moves it to another
 * date is stored once, under the new date.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type Feed, SCHEMAS } from "../../../src/domain/feeds.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { duckdbMerge } from "../../../src/sql/duckdbMerge.js"
import { ddl } from "../../../src/sql/tables.js"

const stageOf = (feed: Feed, rows: ReadonlyArray<Record<string, string | number>>) => {
  const cols = SCHEMAS[feed].columns
  const values = rows.map(
    (r) =>
      `(${cols.map((c) => (r[c.name] === undefined ? `NULL::${c.type}` : typeof r[c.name] === "number" ? `${r[c.name]}::${c.type}` : `'${r[c.name]}'`)).join(", ")})`
  )
  return `(SELECT * FROM (VALUES ${values.join(", ")}) v(${cols.map((c) => `"${c.name}"`).join(", ")}))`
}

const bar = (t: number, close: number, received: number) => ({
  ticker: "O:SPY251028C00580000",
  window_start_ms: t,
  open: 1,
  high: 2,
  low: 0.5,
  close,
  volume: 10,
  vwap: 1,
  transactions: 3,
  source: "ws",
  received_at_ms: received
})

const run = <A>(f: (db: DuckDb.DuckDbService) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const db = yield* DuckDb.make()
        for (const s of ddl("duckdb")) yield* db.run(s)
        return yield* f(db)
      })
    )
  )

const merge = (
  db: DuckDb.DuckDbService,
  feed: Feed,
  date: string,
  rows: ReadonlyArray<Record<string, string | number>>
) =>
  Effect.forEach(duckdbMerge(feed, date, stageOf(feed, rows)), (s) =>
    db.query<{ Count: bigint }>(s).pipe(Effect.map((r) => Number(r[0]?.Count ?? 0)))
  )

describe("duckdbMerge", () => {
  it("insert new, same rows change nothing, newer wins, older loses", () =>
    run((db) =>
      Effect.gen(function* () {
        const day = [bar(1000, 1.1, 50), bar(2000, 1.2, 50), bar(3000, 1.3, 50)]
        expect(yield* merge(db, "options", "2025-10-28", day)).toEqual([3, 0])
        expect(yield* merge(db, "options", "2025-10-28", day)).toEqual([0, 0])
        expect(
          yield* merge(db, "options", "2025-10-28", [bar(2000, 9.9, 60), bar(3000, 0.1, 40), bar(4000, 1.4, 50)])
        ).toEqual([1, 1])
        const rows = yield* db.query<{ t: number; close: number; r: number }>(
          `SELECT window_start_ms::DOUBLE AS t, close, received_at_ms::DOUBLE AS r FROM option_bars ORDER BY t`
        )
        expect(rows).toEqual([
          { t: 1000, close: 1.1, r: 50 },
          { t: 2000, close: 9.9, r: 60 },
          { t: 3000, close: 1.3, r: 50 },
          { t: 4000, close: 1.4, r: 50 }
        ])
      })
    ))

  it("a news article moved to another date by a correction is stored once, under the new date", () =>
    run((db) =>
      Effect.gen(function* () {
        const article = {
          id: "n1",
          published_utc_ms: Date.parse("2025-10-28T03:50:00Z"),
          title: "first",
          author: "a",
          article_url: "u",
          publisher_name: "p",
          tickers: '["SPY"]',
          source: "rest",
          received_at_ms: 10
        }
        expect(yield* merge(db, "news", "2025-10-27", [article])).toEqual([1, 0])
        const moved = {
          ...article,
          published_utc_ms: Date.parse("2025-10-28T04:10:00Z"),
          title: "corrected",
          received_at_ms: 20
        }
        expect(yield* merge(db, "news", "2025-10-28", [moved])).toEqual([0, 1])
        expect(yield* db.query(`SELECT id, title, "date" FROM news`)).toEqual([
          { id: "n1", title: "corrected", date: "2025-10-28" }
        ])
      })
    ))
})
