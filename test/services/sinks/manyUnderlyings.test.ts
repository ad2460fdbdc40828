/**
 * Several underlyings in DuckDB's consolidated view (the days and the expectation:
 * ./manyUnderlyingsDays.ts): with `underlyings: [SPY, QQQ]` every O:SPY row equals the reference
 * view of the SPY days and every O:QQQ row the reference view of the QQQ days (each option joined
 * with its own underlying's bars and news, the index shared), and every ticker of no configured
 * underlying is joined with SPY; rebuilt with `[QQQ, SPY]`, those go with QQQ. Over loaded tables
 * and over the lake alike. PostgreSQL, MariaDB and the Snowflake SQL: manyUnderlyingsSql.test.ts.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { FEEDS } from "../../../src/sql/tables.js"
import { DATES } from "./fixtures.js"
import { allDays, asLake, expectedView, optionBarsOf, underlyingsOverrides } from "./manyUnderlyingsDays.js"
import { normalizeView, queryDuck, tempRoot, withRouter, writeDays } from "./support.js"

const ORDERS = [
  ["SPY", "QQQ"],
  ["QQQ", "SPY"]
] as const

describe.each(["tables", "lake"] as const)("DuckDB consolidated view with SPY and QQQ (storage: %s)", (storage) => {
  it("joins each option with its own underlying's bars and news, the index shared, the others with the first", async () => {
    const root = await tempRoot()
    await writeDays(root, allDays.map(asLake))
    for (const order of ORDERS) {
      await withRouter(
        {
          root,
          overrides: {
            ...underlyingsOverrides(order),
            sinks: { enabled: ["duckdb"], duckdb: { storage, batch_rows: 500 } }
          }
        },
        (router) =>
          Effect.gen(function* () {
            for (const date of DATES) for (const feed of FEEDS) yield* router.loadPartition(feed, date)
            for (const date of DATES) yield* router.consolidate(date)
          })
      )
      for (const date of DATES) {
        const view = normalizeView(await queryDuck(root, `SELECT * FROM options_consolidated WHERE "date" = '${date}'`))
        const want = normalizeView(expectedView(date, order))
        expect(want.length).toBe(optionBarsOf(date))
        expect(view.filter((r) => String(r["ticker"]).startsWith("O:QQQ")).length).toBeGreaterThan(1000)
        expect(view).toEqual(want)
      }
    }
  }, 120_000)
})
