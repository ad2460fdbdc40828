/**
 * `report --date D [--out data/reports/D.html]`: one self-contained HTML page of a lake day (charts,
 * the `verify` figures, gaps, news, drift, alerts; for a live day its commit latency over the day,
 * reconnects and alerts raised and resolved) and a PNG of each chart beside it (`D-price.png`,
 * `D-coverage.png`, `D-latency.png` for a live day). The page opens offline.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { sessionOf } from "../domain/calendar.js"
import { writeFileAtomic } from "../lib/atomicFile.js"
import { AppSettings } from "../services/AppSettings.js"
import * as DuckDb from "../services/DuckDb.js"
import { compile, heatmapSpec, latencySpec, priceSpec, render } from "./report/charts.js"
import { dayData } from "./report/dayData.js"
import { liveDayOf, readHistory } from "./report/liveDay.js"
import { reportHtml } from "./report/html.js"
import { verifyReport } from "./verify.js"
import { fileIo } from "../lib/fileIo.js"

/** Gaps at least this long are marked on the price chart. */
const MARK_GAPS_FROM_S = 30

export interface ReportResult {
  readonly html: string
  readonly pngs: ReadonlyArray<string>
}

export const reportProgram = (options: { readonly date: string; readonly out?: string | undefined }) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const report = yield* verifyReport({ date: options.date })
    const session = sessionOf(report.date, new Map())!
    const db = yield* DuckDb.make()
    const data = yield* dayData(
      db,
      settings.storage.root,
      report.date,
      { ...session, ...report.session },
      MARK_GAPS_FROM_S,
      settings.tickers
    )
    const history = yield* fileIo("read history", settings.storage.root, () =>
      readHistory(settings.storage.root, report.date)
    )
    const live = liveDayOf(history, data.alerts)
    const charts = {
      price: compile(priceSpec(data)),
      coverage: compile(heatmapSpec(data)),
      ...(history.length === 0 ? {} : { latency: compile(latencySpec(history)) })
    }
    const html = options.out ?? path.join(settings.storage.root, "reports", `${report.date}.html`)
    yield* fileIo("mkdir", path.dirname(html), () => fs.mkdir(path.dirname(html), { recursive: true }))
    const pngs: Array<string> = []
    for (const [id, spec] of Object.entries(charts)) {
      const { png } = yield* Effect.promise(() => render(spec))
      const file = path.join(path.dirname(html), `${path.basename(html, ".html")}-${id}.png`)
      yield* fileIo("write", file, () => writeFileAtomic(file, png))
      pngs.push(file)
    }
    yield* fileIo("write", html, () => writeFileAtomic(html, reportHtml(report, data, live, charts)))
    yield* Effect.logInfo(`Report of ${report.date}: ${html} (+ ${pngs.map((p) => path.basename(p)).join(", ")})`)
    return { html, pngs } satisfies ReportResult
  }).pipe(Effect.scoped)
