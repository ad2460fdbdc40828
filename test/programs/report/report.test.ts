/**
 * `report` of a real simulated day (backfill of the built-in simulator's default day), opened in
 * headless Chromium with the network cut off: both charts render with marks, the feed table equals
 * the lake's counts, a SPY gap and an option-contract gap planted by the test show on the price
 * chart and as empty heatmap cells, and each PNG has more than one colour in its plot area.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import { reportProgram, type ReportResult } from "../../../src/programs/report.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { chromiumOrSkip, launch, offlinePage, pngColours } from "../../helpers/browser.js"
import { tempRoot } from "../../helpers/settings.js"

const DAY = "2025-10-28"
const chromiumPath = chromiumOrSkip()

const lake = <A>(sql: string) =>
  Effect.runPromise(
    DuckDb.DuckDb.pipe(
      Effect.flatMap((db) => db.query<A>(sql)),
      Effect.provide(DuckDb.layer()),
      Effect.scoped
    )
  )

/** Rewrites a partition file without the rows matching `where`. */
const cut = async (file: string, where: string) => {
  await lake(`COPY (SELECT * FROM read_parquet('${file}') WHERE NOT (${where})) TO '${file}.new' (FORMAT parquet)`)
  await fs.rename(`${file}.new`, file)
}

describe.runIf(chromiumPath !== undefined)("day report in a real browser", () => {
  let root: string
  let result: ReportResult
  let contract: string
  const [gapFrom, gapTo] = [nyTimeMs(DAY, 11, 0), nyTimeMs(DAY, 11, 10)]
  const [optFrom, optTo] = [nyTimeMs(DAY, 12, 0), nyTimeMs(DAY, 12, 10)]

  beforeAll(async () => {
    root = await tempRoot("report-")
    const settings = AppSettings.layer({
      configPath: "config/settings.yaml",
      ignoreEnv: true,
      overrides: { storage: { root }, simulator: { seed: 5 }, sinks: { enabled: [] } }
    })
    const run = <A, E>(e: Effect.Effect<A, E, AppSettings.AppSettings>) =>
      Effect.runPromise(e.pipe(Effect.provide(settings), Effect.provide(NodeContext.layer)))
    await run(backfillProgram({ startDate: DAY, endDate: DAY }).pipe(Effect.provide(BackfillLayer)))
    // The planted gaps lie inside one bucket file each (domain/lakeBuckets.ts).
    await cut(
      path.join(root, "raw/spy", `date=${DAY}`, "bars-1100.parquet"),
      `window_start_ms >= ${gapFrom} AND window_start_ms < ${gapTo}`
    )
    const options = path.join(root, "raw/options", `date=${DAY}`, "bars-1200.parquet")
    const [busiest] = await lake<{ ticker: string }>(
      `SELECT ticker FROM read_parquet('${options}') GROUP BY ticker ORDER BY count(*) DESC, ticker LIMIT 1`
    )
    contract = busiest!.ticker
    await cut(options, `ticker = '${contract}' AND window_start_ms >= ${optFrom} AND window_start_ms < ${optTo}`)
    result = await run(reportProgram({ date: DAY }))
  }, 180_000)

  it("renders offline, its numbers equal the lake, the planted gaps show, the PNGs are not blank", async () => {
    const browser = await launch(chromiumPath!)
    try {
      const { page, blocked } = await offlinePage(browser)
      await page.goto(pathToFileURL(result.html).toString())
      for (const id of ["price", "coverage"])
        await page.waitForSelector(`#chart-${id}[data-rendered="true"] svg`, { timeout: 30_000 })
      for (const line of ["SPY line", "VIX line"]) {
        const d = await page.locator(`#chart-price [aria-label="${line}"]`).getAttribute("d")
        expect(d!.split(/[ML]/).length).toBeGreaterThan(300) // a vertex per minute of the session
      }
      const cells = await page.locator(`#chart-coverage [aria-label*=" ET: "][aria-label$=" bars"]`).count()
      const [contracts] = await lake<{ n: number }>(
        `SELECT count(*)::DOUBLE AS n FROM read_parquet('${root}/raw/contracts/date=${DAY}/*.parquet')`
      )
      expect(cells).toBe(contracts!.n * 390)
      expect(blocked).toEqual([])

      for (const feed of ["spy", "vix", "options", "news", "contracts"]) {
        const [n] = await lake<{ n: number }>(
          `SELECT count(*)::DOUBLE AS n FROM read_parquet('${root}/raw/${feed}/date=${DAY}/*.parquet')`
        )
        expect(await page.locator(`td[data-feed="${feed}"][data-field="rows"]`).textContent()).toBe(
          n!.n.toLocaleString("en-US")
        )
      }

      expect(await page.locator(`#chart-price [aria-label="gap SPY 11:00:00–11:10:00 ET (600 s)"]`).count()).toBe(1)
      for (let m = optFrom; m < optTo; m += 60_000) {
        const hhmm = new Date(m - 4 * 3600_000).toISOString().slice(11, 19)
        const cell = page.locator(`#chart-coverage [aria-label="${contract} ${hhmm} ET: 0 bars"]`)
        expect(await cell.count()).toBe(1)
        expect(await cell.getAttribute("fill")).toBe("#ffffff")
      }
      const before = new Date(optFrom - 60_000 - 4 * 3600_000).toISOString().slice(11, 19)
      expect(
        await page
          .locator(`#chart-coverage [aria-label^="${contract} ${before} ET: "]:not([aria-label$=": 0 bars"])`)
          .count()
      ).toBe(1)

      for (const png of result.pngs) expect(await pngColours(page, await fs.readFile(png))).toBeGreaterThan(10)
    } finally {
      await browser.close()
    }
  })

  afterAll(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true })
  })
})
