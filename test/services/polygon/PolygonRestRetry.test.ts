import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Random, Redacted, TestClock } from "effect"
import { PolygonRest } from "../../../src/services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../../../src/services/polygon/PolygonRestLive.js"

type Scripted = { status: number; body: unknown; headers?: Record<string, string> }

/** An HttpClient that answers from a script and records each request's time, URL and headers. */
const scriptedClient = (script: Array<Scripted>, seen: Array<{ url: string; auth: string | undefined }>) =>
  HttpClient.make((request) =>
    Effect.sync(() => {
      seen.push({ url: request.url, auth: request.headers["authorization"] })
      const next = script.shift() ?? { status: 500, body: { status: "ERROR", error: "script exhausted" } }
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify(next.body), { status: next.status, headers: next.headers ?? {} })
      )
    })
  )

const KEY = "abcdefgh-secret-9876"
const policy = {
  maxRetries: 2,
  baseDelayMs: 1000,
  maxDelayMs: 10_000,
  jitter: false,
  requestTimeoutMs: 30_000,
  maxRetryAfterMs: 120_000
}

const restLayer = (script: Array<Scripted>, seen: Array<{ url: string; auth: string | undefined }>, retry = policy) =>
  Layer.scoped(
    PolygonRest,
    PolygonRestLive.make({
      baseUrl: "https://api.polygon.io",
      apiKey: Redacted.make(KEY),
      retry,
      maxConcurrency: 2,
      pageLimit: 50_000
    })
  ).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, scriptedClient(script, seen))))

const ok = { status: 200, body: { status: "OK", results: [{ t: 1, o: 1, h: 1, l: 1, c: 1, v: 1 }] } }

describe("PolygonRest retries (TestClock)", () => {
  it.effect("a 503 then a 429 with Retry-After are retried on schedule, then succeed", () =>
    Effect.gen(function* () {
      const seen: Array<{ url: string; auth: string | undefined }> = []
      const script: Array<Scripted> = [
        { status: 503, body: { status: "ERROR", error: "Internal server error" } },
        {
          status: 429,
          body: { status: "ERROR", error: "You've exceeded the maximum requests per minute" },
          headers: { "retry-after": "7" }
        },
        ok
      ]
      const fiber = yield* Effect.fork(
        Effect.flatMap(PolygonRest, (r) =>
          r.aggs({ ticker: "SPY", timespan: "second", from: "2025-10-28", to: "2025-10-28" })
        ).pipe(Effect.provide(restLayer(script, seen)))
      )
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(seen.length, 1)
      yield* TestClock.adjust("999 millis") // first backoff: 1 s
      assert.strictEqual(seen.length, 2)
      yield* TestClock.adjust("6 seconds") // exponential would be 2 s, Retry-After asks 7 s
      assert.strictEqual(seen.length, 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(seen.length, 3)
      const items = yield* Fiber.join(fiber)
      assert.strictEqual(items.length, 1)
      assert.ok(
        seen.every((s) => s.auth === `Bearer ${KEY}` && !s.url.includes(KEY)),
        "key only in the Authorization header"
      )
    })
  )

  it.effect("a 5xx storm gives up after max_retries with the server's message", () =>
    Effect.gen(function* () {
      const seen: Array<{ url: string; auth: string | undefined }> = []
      const script = Array.from({ length: 5 }, () => ({ status: 502, body: { status: "ERROR", error: "Bad gateway" } }))
      const fiber = yield* Effect.fork(
        Effect.flatMap(PolygonRest, (r) => r.holidays()).pipe(Effect.provide(restLayer(script, seen)), Effect.exit)
      )
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.join(fiber)
      assert.strictEqual(seen.length, 3)
      assert.ok(Exit.isFailure(exit))
      assert.include(JSON.stringify(exit), "Bad gateway")
    })
  )

  it.effect("jittered, capped delays stay within 0.8x-1.2x of min(base * 2^n, cap)", () =>
    Effect.gen(function* () {
      const seen: Array<{ url: string; auth: string | undefined }> = []
      const times: Array<number> = []
      const script = Array.from({ length: 6 }, () => ({ status: 500, body: { status: "ERROR", error: "boom" } }))
      const retry = { ...policy, maxRetries: 5, jitter: true, maxDelayMs: 3000 }
      const layer = restLayer(script, seen, retry)
      const fiber = yield* Effect.fork(
        Effect.flatMap(PolygonRest, (r) => r.holidays()).pipe(
          Effect.provide(layer),
          Effect.exit,
          Effect.withRandom(Random.make("seed"))
        )
      )
      for (let ms = 0; ms <= 16_000; ms += 20) {
        const before = seen.length
        yield* TestClock.adjust("20 millis")
        if (seen.length > before) times.push(ms + 20)
      }
      yield* Fiber.join(fiber)
      assert.strictEqual(seen.length, 6)
      const gaps = times.slice(1).map((t, i) => t - times[i]!)
      const nominal = [1000, 2000, 3000, 3000, 3000]
      assert.strictEqual(gaps.length, nominal.length)
      gaps.forEach((g, i) => {
        const base = nominal[i]!
        assert.ok(g >= base * 0.8 - 20 && g <= base * 1.2 + 20, `gap ${i} = ${g} ms not within jitter of ${base}`)
      })
      assert.notDeepEqual(gaps, nominal, "jitter actually varies the delays")
    })
  )

  it.effect("401 fails at once with the server's message and never shows the key", () =>
    Effect.gen(function* () {
      const seen: Array<{ url: string; auth: string | undefined }> = []
      const script: Array<Scripted> = [
        { status: 401, body: { status: "ERROR", request_id: "x", error: `Unknown API Key ${KEY}` } }
      ]
      const exit = yield* Effect.flatMap(PolygonRest, (r) => r.news({ ticker: "SPY" })).pipe(
        Effect.provide(restLayer(script, seen)),
        Effect.exit
      )
      assert.strictEqual(seen.length, 1)
      assert.ok(Exit.isFailure(exit))
      const text = JSON.stringify(exit)
      assert.include(text, "Unauthorized")
      assert.include(text, "Unknown API Key ****9876")
      assert.notInclude(text, KEY)
    })
  )

  it.effect("next_url on another origin is refused rather than sent the key", () =>
    Effect.gen(function* () {
      const seen: Array<{ url: string; auth: string | undefined }> = []
      const script: Array<Scripted> = [
        { status: 200, body: { status: "OK", results: [], next_url: "https://evil.example/v2/x?cursor=abc" } }
      ]
      const exit = yield* Effect.flatMap(PolygonRest, (r) => r.contracts({})).pipe(
        Effect.provide(restLayer(script, seen)),
        Effect.exit
      )
      assert.strictEqual(seen.length, 1)
      assert.include(JSON.stringify(exit), "refusing to send the key")
    })
  )
})
