/** Snowflake SQL generation: exact strings (no server needed). */
import { describe, expect, it } from "vitest"
import * as sfc from "../../../src/services/sinks/snowflakeConsolidated.js"
import * as sf from "../../../src/services/sinks/snowflakeSql.js"

describe("snowflakeSql", () => {
  it("PUT, COPY INTO and the load table", () => {
    expect(sf.put("/data/raw/spy/date=2025-10-28/backfill.parquet", "SPY_LAKE_STAGE", "spy", "2025-10-28")).toBe(
      `PUT 'file:///data/raw/spy/date=2025-10-28/backfill.parquet' @"SPY_LAKE_STAGE"/raw/spy/date=2025-10-28/ AUTO_COMPRESS = FALSE OVERWRITE = TRUE`
    )
    expect(sf.createLoadTable("vix")).toBe(`CREATE OR REPLACE TEMPORARY TABLE "VIX_VALUES_LOAD" LIKE "VIX_VALUES"`)
    expect(sf.copyInto("news", "S1", "2025-10-28")).toBe(
      `COPY INTO "NEWS_LOAD" FROM @"S1"/raw/news/date=2025-10-28/ FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT`
    )
    expect(sf.deleteDate("options", "2025-10-28")).toEqual({
      sqlText: `DELETE FROM "OPTION_BARS" WHERE "DATE" = ?`,
      binds: ["2025-10-28"]
    })
  })

  it("MERGE keeps the latest received version", () => {
    const m = sf.merge("contracts", "2025-10-28")
    expect(m.binds).toEqual(["2025-10-28", "2025-10-28"])
    expect(m.sqlText).toBe(
      `MERGE INTO "OPTION_CONTRACTS" t USING (SELECT * FROM "OPTION_CONTRACTS_LOAD" QUALIFY ROW_NUMBER() OVER (PARTITION BY "AS_OF", "TICKER" ORDER BY "RECEIVED_AT_MS" DESC) = 1) s ` +
        `ON t."AS_OF" = s."AS_OF" AND t."TICKER" = s."TICKER" ` +
        `WHEN MATCHED AND s."RECEIVED_AT_MS" >= t."RECEIVED_AT_MS" THEN UPDATE SET t."UNDERLYING_TICKER" = s."UNDERLYING_TICKER", t."CONTRACT_TYPE" = s."CONTRACT_TYPE", t."EXERCISE_STYLE" = s."EXERCISE_STYLE", t."EXPIRATION_DATE" = s."EXPIRATION_DATE", t."STRIKE_PRICE" = s."STRIKE_PRICE", t."SHARES_PER_CONTRACT" = s."SHARES_PER_CONTRACT", t."PRIMARY_EXCHANGE" = s."PRIMARY_EXCHANGE", t."CFI" = s."CFI", t."CORRECTION" = s."CORRECTION", t."ADDITIONAL_UNDERLYINGS" = s."ADDITIONAL_UNDERLYINGS", t."OPEN_PRICE" = s."OPEN_PRICE", t."MONEYNESS_RANK" = s."MONEYNESS_RANK", t."SOURCE" = s."SOURCE", t."RECEIVED_AT_MS" = s."RECEIVED_AT_MS", t."EXTRA" = s."EXTRA", t."DATE" = ? ` +
        `WHEN NOT MATCHED THEN INSERT ("AS_OF", "TICKER", "UNDERLYING_TICKER", "CONTRACT_TYPE", "EXERCISE_STYLE", "EXPIRATION_DATE", "STRIKE_PRICE", "SHARES_PER_CONTRACT", "PRIMARY_EXCHANGE", "CFI", "CORRECTION", "ADDITIONAL_UNDERLYINGS", "OPEN_PRICE", "MONEYNESS_RANK", "SOURCE", "RECEIVED_AT_MS", "EXTRA", "DATE") ` +
        `VALUES (s."AS_OF", s."TICKER", s."UNDERLYING_TICKER", s."CONTRACT_TYPE", s."EXERCISE_STYLE", s."EXPIRATION_DATE", s."STRIKE_PRICE", s."SHARES_PER_CONTRACT", s."PRIMARY_EXCHANGE", s."CFI", s."CORRECTION", s."ADDITIONAL_UNDERLYINGS", s."OPEN_PRICE", s."MONEYNESS_RANK", s."SOURCE", s."RECEIVED_AT_MS", s."EXTRA", ?)`
    )
  })

  it("plan order: PUTs, load table before BEGIN, delete only on overwrite, checkpoint in the transaction", () => {
    const plan = sf
      .loadPlan("spy", "2025-10-28", "ST", ["/l/a.parquet", "/l/b.parquet"], "fp", true)
      .map((s) => s.sqlText.split(" ").slice(0, 3).join(" "))
    expect(plan).toEqual([
      `PUT 'file:///l/a.parquet' @"ST"/raw/spy/date=2025-10-28/`,
      `PUT 'file:///l/b.parquet' @"ST"/raw/spy/date=2025-10-28/`,
      "CREATE OR REPLACE",
      "BEGIN",
      `DELETE FROM "SPY_BARS"`,
      `COPY INTO "SPY_BARS_LOAD"`,
      `MERGE INTO "SPY_BARS"`,
      `MERGE INTO "SINK_CHECKPOINTS"`,
      "COMMIT"
    ])
  })

  it("incremental loads (loadFilesPlan): the named files only, staged under live/, purged once copied, no checkpoint", () => {
    const files = ["/l/raw/spy/date=2025-10-28/live-000003.parquet", "/l/raw/spy/date=2025-10-28/live-000004.parquet"]
    const plan = sf.loadFilesPlan("spy", "2025-10-28", "ST", files)
    expect(plan.map((s) => s.sqlText)).toEqual([
      `PUT 'file:///l/raw/spy/date=2025-10-28/live-000003.parquet' @"ST"/live/spy/date=2025-10-28/ AUTO_COMPRESS = FALSE OVERWRITE = TRUE`,
      `PUT 'file:///l/raw/spy/date=2025-10-28/live-000004.parquet' @"ST"/live/spy/date=2025-10-28/ AUTO_COMPRESS = FALSE OVERWRITE = TRUE`,
      `CREATE OR REPLACE TEMPORARY TABLE "SPY_BARS_LOAD" LIKE "SPY_BARS"`,
      "BEGIN",
      `COPY INTO "SPY_BARS_LOAD" FROM @"ST"/live/spy/date=2025-10-28/ FILES = ('live-000003.parquet', 'live-000004.parquet') ` +
        `FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT PURGE = TRUE`,
      sf.merge("spy", "2025-10-28").sqlText,
      "COMMIT"
    ])
    expect(plan.map((s) => s.binds)).toEqual([[], [], [], [], [], ["2025-10-28", "2025-10-28"], []])
    expect(plan.some((s) => s.sqlText.includes("SINK_CHECKPOINTS"))).toBe(false)
    expect(sf.loadFilesPlan("spy", "2025-10-28", "ST", [])).toEqual([])
    expect(() => sf.loadFilesPlan("spy", "2025-10-28", "ST", ["/l/x') OR (1=1.parquet"])).toThrow()
    expect(() => sf.copyFiles("spy", "ST", "2025-10-28", ["/l/a b.parquet"])).toThrow()
  })

  it("rejects hostile stage names, paths and dates", () => {
    expect(() => sf.stageName(`X"; DROP TABLE t; --`)).toThrow()
    expect(() => sf.put("/tmp/it's.parquet", "ST", "spy", "2025-10-28")).toThrow()
    expect(() => sf.deleteDate("spy", "2025-10-28' OR 1=1")).toThrow()
  })

  it("consolidation: one transaction, the date and window as binds, ASOF JOINs per second", () => {
    const plan = sfc.consolidatePlan("2025-10-28", 900_000)
    expect(plan.map((s) => s.sqlText.split(/\s+/).slice(0, 3).join(" "))).toEqual([
      "BEGIN",
      `DELETE FROM "OPTIONS_CONSOLIDATED"`,
      `INSERT INTO "OPTIONS_CONSOLIDATED"`,
      "COMMIT"
    ])
    expect(plan.map((s) => s.binds)).toEqual([
      [],
      ["2025-10-28"],
      ["2025-10-28", "2025-10-28", "2025-10-28", 900_000, "2025-10-28"],
      []
    ])
    expect(plan[2]!.sqlText.match(/\?/g)).toHaveLength(5)
    expect(plan[2]!.sqlText.match(/ASOF JOIN \w+ x MATCH_CONDITION \(secs\.T[N0]? >= x\."\w+"\)/g)).toHaveLength(4)
    expect(sfc.createConsolidatedTable()).toMatch(
      /^CREATE TABLE IF NOT EXISTS "OPTIONS_CONSOLIDATED" \("DATE" VARCHAR\(10\), "TICKER" VARCHAR, .* PRIMARY KEY \("TICKER", "WINDOW_START_MS"\)\)$/
    )
    expect(() => sfc.consolidatePlan("2025-10-28'; DROP TABLE x", 1)).toThrow()
  })
})
