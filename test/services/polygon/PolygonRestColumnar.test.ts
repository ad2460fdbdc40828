/**
 * `aggsColumnar` is `aggs` without the objects: over loopback HTTP against the simulator (several
 * pages), the same rows as `aggs` + the normalizer; any drift → the very items `aggs` returns;
 * the same typed errors for a body that is not JSON or a next_url that leaves the origin.
 */
import { FetchHttpClient, HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { aggBatch } from "../../../src/domain/aggBatch.js"
import { batchRows } from "../../../src/domain/columnBatch.js"
import { SPY_SCHEMA, VIX_SCHEMA } from "../../../src/domain/feeds.js"
import { restAggRow, restIndexRow } from "../../../src/domain/normalize.js"
import { type AggsRequest, PolygonRest } from "../../../src/services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../../../src/services/polygon/PolygonRestLive.js"
import { startSimulator } from "../../../src/simulator/server.js"

const KEY = "columnar-key-0042"
const DATE = "2025-10-28"
const retry = {
  maxRetries: 0,
  baseDelayMs: 1,
  maxDelayMs: 1,
  jitter: false,
  requestTimeoutMs: 30_000,
  maxRetryAfterMs: 1
}
const p = { source: "rest" as const, receivedAtMs: 5 }

const live = (baseUrl: string, pageLimit: number) =>
  Layer.scoped(
    PolygonRest,
    PolygonRestLive.make({ baseUrl, apiKey: Redacted.make(KEY), retry, maxConcurrency: 2, pageLimit })
  )

const both = (request: AggsRequest, shape: "agg" | "index") =>
  Effect.gen(function* () {
    const rest = yield* PolygonRest
    return { items: yield* rest.aggs(request), columnar: yield* rest.aggsColumnar!(request, shape) }
  })

describe("PolygonRest.aggsColumnar", () => {
  it.live("clean pages over HTTP: columns whose rows are exactly aggs + restAggRow / restIndexRow, across pages", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: 3, apiKey: KEY }))
      const viaSim = <A, E>(self: Effect.Effect<A, E, PolygonRest>) =>
        self.pipe(Effect.provide(live(sim.url, 5000)), Effect.provide(FetchHttpClient.layer))
      const spy = yield* viaSim(both({ ticker: "SPY", timespan: "second", from: DATE, to: DATE }, "agg"))
      assert.ok(spy.items.length > 15_000)
      assert.strictEqual(spy.columnar._tag, "Columns")
      if (spy.columnar._tag === "Columns") {
        assert.deepStrictEqual(
          batchRows(SPY_SCHEMA, aggBatch("SPY", spy.columnar.columns, p)!),
          spy.items.map((raw) => (restAggRow("spy", "SPY", raw, p) as { row: unknown }).row)
        )
      }
      const vix = yield* viaSim(both({ ticker: "I:VIX", timespan: "second", from: DATE, to: DATE }, "index"))
      assert.strictEqual(vix.columnar._tag, "Columns")
      if (vix.columnar._tag === "Columns") {
        assert.deepStrictEqual(
          batchRows(VIX_SCHEMA, aggBatch("I:VIX", vix.columnar.columns, p)!),
          vix.items.map((raw) => (restIndexRow("I:VIX", raw, p) as { row: unknown }).row)
        )
      }
      const pages = sim.stats().requests
      assert.ok(pages >= 4 * 5, `several pages per series (${pages} requests)`)
      yield* Effect.promise(() => sim.close())
    })
  )

  it.live("drift served by the simulator: the very items aggs returns (order and damage kept)", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() =>
        startSimulator({
          port: 0,
          seed: 3,
          apiKey: KEY,
          faults: { drift: { aggs: { missingFieldEvery: 9000, unknownField: false } } }
        })
      )
      const r = yield* both({ ticker: "SPY", timespan: "second", from: DATE, to: DATE }, "agg").pipe(
        Effect.provide(live(sim.url, 5000)),
        Effect.provide(FetchHttpClient.layer)
      )
      assert.strictEqual(r.columnar._tag, "Items")
      if (r.columnar._tag === "Items") assert.deepStrictEqual(r.columnar.items, r.items)
      assert.ok(
        r.items.some((i) => i["c"] === undefined),
        "the damaged items are there"
      )
      yield* Effect.promise(() => sim.close())
    })
  )

  it.effect("a clean first page then an unclean one: the items of both pages, as aggs returns them", () =>
    Effect.gen(function* () {
      const bar = (t: number) => ({ v: 1, vw: 2.5, o: 3, c: 4, h: 5, l: 0.5, t, n: 7 })
      const pages: Record<string, string> = {
        first: JSON.stringify({
          results: [bar(1000), bar(2000)],
          next_url: "https://api.polygon.io/v2/aggs/ticker/SPY/range/1/second/3000/4000?cursor=second"
        }),
        second: JSON.stringify({ results: [bar(3000), { ...bar(4000), brand_new: true }] })
      }
      const client = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.succeed(
            HttpClientResponse.fromWeb(
              request,
              new Response(request.url.includes("cursor=second") ? pages["second"] : pages["first"], { status: 200 })
            )
          )
        )
      )
      const r = yield* both({ ticker: "SPY", timespan: "second", from: DATE, to: DATE }, "agg").pipe(
        Effect.provide(live("https://api.polygon.io", 2)),
        Effect.provide(client)
      )
      assert.deepStrictEqual(r.columnar, { _tag: "Items", items: r.items })
      assert.deepStrictEqual(
        r.items.map((i) => i["t"]),
        [1000, 2000, 3000, 4000]
      )
    })
  )

  it.effect("a body that is not JSON and a next_url to another host fail as aggs does", () =>
    Effect.gen(function* () {
      const answer = (body: string) =>
        Layer.succeed(
          HttpClient.HttpClient,
          HttpClient.make((request) =>
            Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200 })))
          )
        )
      const request = { ticker: "SPY", timespan: "second", from: DATE, to: DATE } as const
      for (const body of [
        "<html>gateway</html>",
        '{"results":[],"next_url":"https://evil.example/v2/aggs?cursor=1"}',
        '{"results":{"t":1}}'
      ]) {
        const run = <A>(f: (rest: PolygonRest["Type"]) => Effect.Effect<A, unknown>) =>
          Effect.flatMap(PolygonRest, f).pipe(
            Effect.provide(live("https://api.polygon.io", 50_000)),
            Effect.provide(answer(body)),
            Effect.exit
          )
        const plain = yield* run((rest) => rest.aggs(request))
        const columnar = yield* run((rest) => rest.aggsColumnar!(request, "agg"))
        assert.ok(Exit.isFailure(plain))
        assert.deepStrictEqual(columnar as Exit.Exit<unknown, unknown>, plain as Exit.Exit<unknown, unknown>)
      }
    })
  )
})
