/**
 * The per-underlying parts of a consolidation (src/sql/consolidatedUnderlyings.ts) as SQL text:
 * one underlying gives exactly the one-underlying statements; several give one statement per
 * underlying, each the one-underlying statement of that underlying plus one condition on the
 * per-contract rows. What those statements compute is checked on real servers by
 * manyUnderlyingsSql.test.ts.
 */
import { describe, expect, it } from "vitest"
import { consolidateInsert, consolidatePlan } from "../../../src/services/sinks/snowflakeConsolidated.js"
import { OCC_REGEX } from "../../../src/sql/consolidated.js"
import { MYSQL_TEMP_TABLES, mysqlSteps } from "../../../src/sql/consolidatedMysql.js"
import { postgresConsolidate } from "../../../src/sql/consolidatedPerSecond.js"
import { insightSentiment } from "../../../src/sql/consolidatedNews.js"
import { mysqlDropPartTemp, underlyingParts } from "../../../src/sql/consolidatedUnderlyings.js"

const DATE = "2025-10-28"
const W = 900_000
const SEVERAL = { underlying: "SPY", index: "I:VIX", underlyings: ["SPY", "QQQ", "IWM"] }
const owner = (f0: string) => `CASE WHEN (${f0}) IN ('SPY', 'QQQ', 'IWM') THEN (${f0}) ELSE 'SPY' END`

describe("consolidation parts per underlying", () => {
  it("one underlying: one part, the tickers as given, no condition; the statements unchanged", () => {
    const one = { underlying: "QQQ", index: "I:SPX", underlyings: ["QQQ"] }
    for (const t of [undefined, { underlying: "SPY", index: "I:VIX" }, one]) {
      const parts = underlyingParts(t)
      expect(parts).toHaveLength(1)
      expect(parts[0]!.owns).toBeUndefined()
      expect(parts[0]!.insight).toBeUndefined()
      expect(parts[0]!.tickers).toEqual(t ?? { underlying: "SPY", index: "I:VIX" })
    }
    expect(consolidatePlan(DATE, W, 1000, one)).toEqual(
      consolidatePlan(DATE, W, 1000, { underlying: "QQQ", index: "I:SPX" })
    )
    expect(postgresConsolidate(1000, one, underlyingParts(one)[0]!.owns)).toEqual(postgresConsolidate(1000, one))
    expect(mysqlSteps(DATE, W, 1, 2, 1000, one, "QQQ", underlyingParts(one)[0]!.owns)).toEqual(
      mysqlSteps(DATE, W, 1, 2, 1000, one, "QQQ")
    )
  })

  it("several: one part per underlying in order, the index shared, contracts owned as DuckDB's ku.u", () => {
    const parts = underlyingParts({ ...SEVERAL, underlyings: [...SEVERAL.underlyings, "QQQ"] })
    expect(parts.map((p) => p.tickers)).toEqual(
      ["SPY", "QQQ", "IWM"].map((underlying) => ({ underlying, index: "I:VIX" }))
    )
    expect(parts.map((p) => p.owns!("f"))).toEqual(["'SPY'", "'QQQ'", "'IWM'"].map((u) => `${owner("f")} = ${u}`))
    expect(parts.map((p) => p.insight)).toEqual([undefined, "QQQ", "IWM"]) // the first reads spy_sentiment
    expect(mysqlDropPartTemp).toBe(
      `DROP TEMPORARY TABLE IF EXISTS ${MYSQL_TEMP_TABLES.filter((t) => t !== "cons_secs" && t !== "cons_tk").join(", ")}`
    )
    expect(mysqlDropPartTemp).not.toContain("cons_secs")
    expect(mysqlDropPartTemp).not.toContain("cons_tk")
  })

  it("PostgreSQL and MySQL: each part is its underlying's statement with the per-contract rows filtered", () => {
    const t = "t.ticker"
    const f0 = (matches: string) => `CASE WHEN ${matches} THEN SUBSTR(${t}, 3, CHAR_LENGTH(${t}) - 17) END`
    for (const part of underlyingParts(SEVERAL)) {
      const u = `'${part.tickers.underlying}'`
      const pg = postgresConsolidate(1000, part.tickers, part.owns)
      const plainPg = postgresConsolidate(1000, part.tickers)
      const cond = `${owner(f0(`${t} ~ ${OCC_REGEX}`))} = ${u}`
      expect(pg.contracts).toBe(`${plainPg.contracts} AND ${cond}`)
      expect(plainPg.contracts.endsWith("WHERE t.ticker IS NOT NULL")).toBe(true)
      expect(pg.seconds).toBe(plainPg.seconds)
      expect(pg.seconds).toContain(`FROM spy_bars WHERE ticker = ${u} AND`)
      expect(pg.seconds).toContain(`x.tickers LIKE '%"${part.tickers.underlying}"%'`)
      expect(pg.seconds).toContain(`FROM vix_values WHERE ticker = 'I:VIX' AND`)
      const my = mysqlSteps(DATE, W, 1, 2, 1000, part.tickers, part.tickers.underlying, part.owns)
      const plainMy = mysqlSteps(DATE, W, 1, 2, 1000, part.tickers, part.tickers.underlying)
      const myCond = `${owner(f0(`${t} REGEXP ${OCC_REGEX}`))} = ${u}`
      expect(my.map((s) => s.params)).toEqual(plainMy.map((s) => s.params))
      expect(plainMy.filter((s) => s.sql.startsWith("INSERT INTO `consolidated_contracts`"))).toHaveLength(1)
      expect(my.map((s) => s.sql)).toEqual(
        plainMy.map((s) =>
          s.sql.startsWith("INSERT INTO `consolidated_contracts`") ? `${s.sql}\nWHERE ${myCond}` : s.sql
        )
      )
      // latest_sentiment: the first part reads spy_sentiment; a further one its insight, in the news it selects
      const u0 = part.tickers.underlying
      const pgInsight = insightSentiment("postgres", "x.insights", u0)
      const myInsight = insightSentiment("mysql", "x.insights", u0)
      expect(part.insight).toBe(u0 === "SPY" ? undefined : u0)
      const withPg = postgresConsolidate(1000, part.tickers, part.owns, part.insight)
      const withMy = mysqlSteps(DATE, W, 1, 2, 1000, part.tickers, part.tickers.underlying, part.owns, part.insight)
      if (part.insight === undefined) {
        expect(withPg).toEqual(pg)
        expect(withMy).toEqual(my)
      } else {
        expect(withPg.seconds.split(`${pgInsight} AS spy_sentiment`)).toHaveLength(3)
        expect(withPg.seconds.replaceAll(`${pgInsight} AS spy_sentiment`, "x.spy_sentiment")).toBe(pg.seconds)
        expect(withPg.contracts).toBe(pg.contracts)
        expect(withMy[0]!.sql.replaceAll(`${myInsight} AS spy_sentiment`, "x.spy_sentiment")).toBe(my[0]!.sql)
        expect(withMy[0]!.sql).not.toBe(my[0]!.sql)
        expect(withMy.slice(1)).toEqual(my.slice(1))
      }
    }
  })

  it("Snowflake: one INSERT per underlying in one transaction, each filtering its contracts", () => {
    const plan = consolidatePlan(DATE, W, 1000, SEVERAL)
    expect(plan.map((s) => s.sqlText.split(/\s+/).slice(0, 3).join(" "))).toEqual([
      "BEGIN",
      `DELETE FROM "OPTIONS_CONSOLIDATED"`,
      ...SEVERAL.underlyings.map(() => `INSERT INTO "OPTIONS_CONSOLIDATED"`),
      "COMMIT"
    ])
    const t = `t."TICKER"`
    const f0 = `CASE WHEN REGEXP_LIKE(${t}, ${OCC_REGEX}) THEN SUBSTR(${t}, 3, LENGTH(${t}) - 17) END`
    SEVERAL.underlyings.forEach((u, i) => {
      const plain = consolidateInsert(
        DATE,
        W,
        1000,
        { underlying: u, index: "I:VIX" },
        undefined,
        i > 0 ? u : undefined
      )
      expect(plan[2 + i]).toEqual({
        sqlText: plain.sqlText.replace(` FROM o) t),`, () => ` FROM o) t WHERE ${owner(f0)} = '${u}'),`),
        binds: plain.binds
      })
      expect(plan[2 + i]!.sqlText).not.toBe(plain.sqlText)
      expect(plain.sqlText).toContain(`"TICKER" = '${u}'`)
    })
  })
})
