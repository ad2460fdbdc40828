/**
 * Two days consolidated at the same time in a fresh DuckDB warehouse (backfill runs days
 * concurrently): both succeed (the view over the exports is created once; two CREATEs at once
 * failed with a catalog write-write conflict, in about 1 run of 3 of this test), and the view then
 * answers for both days.
 */
import { Effect } from "effect"
import { expect, it } from "vitest"
import * as DuckDbSink from "../../../src/services/sinks/DuckDbSink.js"
import { DATES, makeDay } from "./fixtures.js"
import { queryDuck, tempRoot, writeDays } from "./support.js"

it("two dates consolidated concurrently on a fresh warehouse both land in options_consolidated", async () => {
  const root = await tempRoot()
  const days = DATES.map((d, i) => makeDay(d, i))
  await writeDays(root, days)
  const counts = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const sink = yield* DuckDbSink.make({ root, newsWindowMinutes: 15, commitSlaS: 300 })
        for (const d of DATES)
          for (const feed of ["spy", "vix", "news", "contracts", "options"] as const) yield* sink.loadPartition(feed, d)
        return yield* Effect.forEach(DATES, (d) => Effect.map(sink.consolidate!(d), (r) => r.rows), {
          concurrency: "unbounded"
        })
      })
    )
  )
  const optionBars = DATES.map(
    (d) =>
      new Set(
        days
          .find((x) => x.date === d)!
          .files.options.flatMap(([, rows]) => rows.map((r) => `${r["ticker"]}|${r["window_start_ms"]}`))
      ).size
  )
  expect(counts).toEqual(optionBars)
  const view = await queryDuck<{ d: string; n: number }>(
    root,
    `SELECT "date"::VARCHAR AS d, count(*)::DOUBLE AS n FROM options_consolidated GROUP BY ALL ORDER BY d`
  )
  expect(view).toEqual(DATES.map((d, i) => ({ d, n: optionBars[i] })))
})
