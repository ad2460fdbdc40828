/**
 * The PostgreSQL/MySQL view `options_consolidated` (src/sql/consolidatedView.ts) as SQL text: its
 * columns are the consolidated columns, in order, each taken from the bar, the contract or the
 * second; the two tables' columns are what the consolidation inserts. What the view returns is
 * checked on the real servers (engines, fullDay, consolidateRebuild, migrations tests).
 */
import { describe, expect, it } from "vitest"
import { postgresConsolidate } from "../../../src/sql/consolidatedPerSecond.js"
import { contractsColumns, createView, secondsColumns, viewExpressions } from "../../../src/sql/consolidatedView.js"
import { consolidatedColumns } from "../../../src/sql/tables.js"

describe("the consolidated view's SQL", () => {
  it.each(["postgres", "mysql"] as const)("%s: the view's columns are options_consolidated's, in order", (dialect) => {
    expect(viewExpressions(dialect).map(([, name]) => name)).toEqual(consolidatedColumns.map((c) => c.name))
    const view = createView(dialect)
    const q = dialect === "mysql" ? "`" : '"'
    for (const c of consolidatedColumns) expect(view).toContain(` AS ${q}${c.name}${q}`)
    expect(
      view.startsWith(dialect === "mysql" ? "CREATE OR REPLACE ALGORITHM=MERGE VIEW" : "CREATE OR REPLACE VIEW")
    ).toBe(true)
  })

  it("every per-bar value comes from the bar itself, its contract row or its second's row", () => {
    const sources = viewExpressions("postgres").map(([expr]) => expr.match(/\b[okp]\./g)?.join(" ") ?? "")
    expect(sources.every((s) => s !== "")).toBe(true)
    const seconds = new Set(secondsColumns.map((c) => c.name))
    const contracts = new Set(contractsColumns.map((c) => c.name))
    for (const [expr] of viewExpressions("postgres"))
      for (const [, alias, col] of expr.matchAll(/\b([kp])\."?([a-z_0-9]+)"?/g))
        expect(alias === "p" ? seconds.has(col!) : contracts.has(col!)).toBe(true)
  })

  it("the consolidation inserts every column of both tables, named", () => {
    const { seconds, contracts } = postgresConsolidate()
    expect(seconds.split("\n")[0]).toBe(
      `INSERT INTO "consolidated_seconds" (${secondsColumns.map((c) => `"${c.name}"`).join(", ")})`
    )
    expect(contracts.split("\n")[0]).toBe(
      `INSERT INTO "consolidated_contracts" (${contractsColumns.map((c) => `"${c.name}"`).join(", ")})`
    )
  })
})
