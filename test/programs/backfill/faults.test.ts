import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type AlertRecord, openAlertsOf } from "../../../src/services/observability/alertLog.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { damageOf } from "../../../src/simulator/rest/faults.js"
import { type RunningSimulator, startSimulator } from "../../../src/simulator/server.js"
import { loadTestSettings, tempRoot, testSettingsLayer } from "../../helpers/settings.js"

const SEED = 11
const DATE = "2025-10-28"
const KEY = "fault-test-key-4321"

const run = (
  sim: RunningSimulator,
  root: string,
  extra: Record<string, unknown> = {},
  feeds: Array<"spy" | "vix" | "news" | "options"> = ["spy", "vix"]
) =>
  Effect.promise(() =>
    loadTestSettings({
      polygon: { rest_url: sim.url },
      storage: { root },
      POLYGON_API_KEY: KEY,
      retry: { max_retries: 9, base_delay_ms: 5, max_delay_ms: 50, max_retry_after_ms: 1000 },
      ...extra
    })
  ).pipe(
    Effect.flatMap((settings) =>
      backfillProgram({ startDate: DATE, endDate: DATE, feeds }).pipe(
        Effect.provide(BackfillLayer.pipe(Layer.provideMerge(testSettingsLayer(settings))))
      )
    )
  )

const count = (root: string, feed: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.DuckDb
    const [r] = yield* db.query<{ n: number; keys: number }>(
      `SELECT count(*)::DOUBLE n, count(DISTINCT (ticker, window_start_ms))::DOUBLE keys FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet')`
    )
    return r!
  }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)

describe("backfill under injected faults", () => {
  it.live("a 5xx and 429 storm is retried and the lake is still exact", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() =>
        startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { rate5xx: 0.4, rate429: 0.2, retryAfterS: 0 } })
      )
      const root = yield* Effect.promise(() => tempRoot())
      const summary = yield* run(sim, root)
      const market = makeSyntheticMarket(SEED)
      assert.strictEqual(summary.days[0]!.rows.spy, market.secondBars("SPY", DATE).length)
      assert.strictEqual(summary.days[0]!.rows.vix, market.secondBars("I:VIX", DATE).length)
      const spy = yield* count(root, "spy")
      assert.deepStrictEqual(spy, {
        n: market.secondBars("SPY", DATE).length,
        keys: market.secondBars("SPY", DATE).length
      })
      const statuses = sim.stats().byStatus
      assert.ok(
        (statuses["429"] ?? 0) > 0 && (statuses["500"] ?? 0) + (statuses["502"] ?? 0) + (statuses["503"] ?? 0) > 0,
        JSON.stringify(statuses)
      )
      yield* Effect.promise(() => sim.close())
    })
  )

  it.live("401 fails fast with the server's message, a non-zero result and no key in the error", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: "the-right-key" }))
      const root = yield* Effect.promise(() => tempRoot())
      const exit = yield* run(sim, root).pipe(Effect.exit)
      assert.ok(Exit.isFailure(exit))
      const text = JSON.stringify(exit)
      assert.include(text, "Unknown API Key")
      assert.include(text, "Unauthorized")
      assert.notInclude(text, KEY)
      assert.strictEqual(sim.stats().requests, 1, "no retries on 401")
      yield* Effect.promise(() => sim.close())
    })
  )

  it.live("schema drift is recorded once and damaged rows are quarantined, counted exactly", () =>
    Effect.gen(function* () {
      const drift = { missingFieldEvery: 997, wrongTypeEvery: 1499, nullFieldEvery: 2003, unknownField: true }
      const sim = yield* Effect.promise(() =>
        startSimulator({ port: 0, seed: SEED, apiKey: KEY, faults: { drift: { aggs: drift } } })
      )
      const root = yield* Effect.promise(() => tempRoot())
      const summary = yield* run(sim, root, {}, ["spy"])
      // drift indices count the bars REST serves (the extended day); the lake keeps the session's undamaged ones
      const sessionTimes = new Set(
        makeSyntheticMarket(SEED)
          .secondBars("SPY", DATE)
          .map((b) => b.t)
      )
      const served = makeSyntheticMarket(SEED).extendedSecondBars!("SPY", DATE)
      const damaged = served.filter((_, i) => damageOf(drift, i) !== undefined).length
      const bars = served.filter((b, i) => damageOf(drift, i) === undefined && sessionTimes.has(b.t))
      assert.ok(damaged > 20)
      assert.strictEqual(summary.days[0]!.quarantined, damaged)
      assert.strictEqual(summary.days[0]!.rows.spy, bars.length)
      const lines = (yield* Effect.promise(() =>
        fs.readFile(path.join(root, "quarantine/spy/date=2025-10-28/_day.ndjson"), "utf8")
      ))
        .trim()
        .split("\n")
      assert.strictEqual(lines.length, damaged)
      const reasons = new Set(lines.map((l) => (JSON.parse(l) as { reason: string }).reason))
      assert.deepStrictEqual([...reasons].sort(), [
        "field c has type string, expected number",
        "missing required field c",
        "missing required field c (null)"
      ])
      const driftLog = (yield* Effect.promise(() => fs.readFile(path.join(root, "state/schema_drift.ndjson"), "utf8")))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { kind: string; field: string; date: string })
      assert.deepStrictEqual(driftLog.map((d) => `${d.date}|${d.kind}|${d.field}`).sort(), [
        "2025-10-28|type_change|c",
        "2025-10-28|unknown_field|sim_extra_field"
      ])
      // one schema_drift alert event for the feed and day, naming both fields; it never stays open
      const alertLines = (yield* Effect.promise(() => fs.readFile(path.join(root, "state/alerts.ndjson"), "utf8")))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as AlertRecord)
      const driftAlerts = alertLines.filter((a) => a.kind === "schema_drift")
      assert.deepStrictEqual(
        driftAlerts.map((a) => [a.source, a.open, a.event, (a.details as { date: string }).date]),
        [["spy", false, true, DATE]]
      )
      assert.include(driftAlerts[0]!.message, '"c"')
      assert.include(driftAlerts[0]!.message, '"sim_extra_field"')
      assert.deepStrictEqual(openAlertsOf(alertLines), [])
      // a second run of the same day (restart) raises no new alert
      yield* run(sim, root, {}, ["spy"])
      const again = (yield* Effect.promise(() => fs.readFile(path.join(root, "state/alerts.ndjson"), "utf8")))
        .trim()
        .split("\n")
      assert.strictEqual(again.filter((l) => l.includes("schema_drift")).length, 1)
      // unknown fields are kept, not dropped
      const kept = yield* Effect.gen(function* () {
        const duck = yield* DuckDb.DuckDb
        return yield* duck.query<{ n: number }>(
          `SELECT count(*)::DOUBLE n FROM read_parquet('${root}/raw/spy/date=*/*.parquet') WHERE extra = '{"sim_extra_field":1}'`
        )
      }).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)
      assert.strictEqual(kept[0]!.n, bars.length)
      yield* Effect.promise(() => sim.close())
    })
  )
})
