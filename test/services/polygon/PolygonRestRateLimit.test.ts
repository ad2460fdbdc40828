/**
 * The plan's REST limit: the simulator refuses the (limit+1)-th request of a rolling window with
 * the real 429 body and no Retry-After; `polygon.requests_per_minute` paces the client so it never
 * sees one; a 429 without Retry-After under pacing waits for the window instead of spending an
 * attempt. Real loopback HTTP with a 1-second window (the pacing is real time).
 */
import { FetchHttpClient, HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted, TestClock } from "effect"
import { PolygonRest } from "../../../src/services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../../../src/services/polygon/PolygonRestLive.js"
import { RATE_LIMIT_MESSAGE } from "../../../src/simulator/rest/http.js"
import { makeRateLimit } from "../../../src/simulator/rest/rateLimit.js"
import { startSimulator } from "../../../src/simulator/server.js"

const KEY = "rate-limit-key-4242"
const retry = {
  maxRetries: 0,
  baseDelayMs: 10,
  maxDelayMs: 100,
  jitter: false,
  requestTimeoutMs: 10_000,
  maxRetryAfterMs: 1_000
}
const WINDOW_MS = 1_000
const LIMIT = 4

const simulator = Effect.acquireRelease(
  Effect.promise(() =>
    startSimulator({ port: 0, seed: 3, apiKey: KEY, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS } })
  ),
  (sim) => Effect.promise(() => sim.close())
)

/** `n` concurrent market-status calls through a PolygonRest client; the exits, in order. */
const burst = (url: string, n: number, requestsPerMinute: number, maxRetries = 0) =>
  Effect.gen(function* () {
    const rest = yield* PolygonRest
    return yield* Effect.forEach(Array.from({ length: n }), () => Effect.exit(rest.marketStatus()), {
      concurrency: "unbounded"
    })
  }).pipe(
    Effect.provide(
      Layer.scoped(
        PolygonRest,
        PolygonRestLive.make({
          baseUrl: url,
          apiKey: Redacted.make(KEY),
          retry: { ...retry, maxRetries },
          maxConcurrency: 8,
          pageLimit: 1000,
          requestsPerMinute,
          rateWindowMs: WINDOW_MS
        })
      ).pipe(Layer.provide(FetchHttpClient.layer))
    )
  )

describe("REST rate limit of the plan", () => {
  it("simulator: a rolling window of N admitted requests; only admitted ones count", () => {
    let now = 0
    const limit = makeRateLimit({ limit: 2, windowMs: 1000 }, () => now)
    const seen = [limit.admit(), limit.admit(), limit.admit()]
    now = 999
    seen.push(limit.admit())
    now = 1000
    seen.push(limit.admit(), limit.admit(), limit.admit())
    assert.deepStrictEqual(seen, [true, true, false, false, true, true, false])
  })

  it.live("simulator: the request over the limit gets the real 429 body and no Retry-After", () =>
    Effect.gen(function* () {
      const sim = yield* simulator
      const replies = yield* Effect.promise(() =>
        Promise.all(
          Array.from({ length: LIMIT + 1 }, () =>
            fetch(`${sim.url}/v1/marketstatus/now`, { headers: { authorization: `Bearer ${KEY}` } })
          )
        )
      )
      const refused = replies.filter((r) => r.status === 429)
      assert.strictEqual(refused.length, 1)
      assert.strictEqual(refused[0]!.headers.get("retry-after"), null)
      const body = (yield* Effect.promise(() => refused[0]!.json())) as Record<string, unknown>
      assert.deepStrictEqual(
        [body["status"], body["error"], typeof body["request_id"]],
        ["ERROR", RATE_LIMIT_MESSAGE, "string"]
      )
    }).pipe(Effect.scoped)
  )

  it.live(
    "requests_per_minute = the plan's limit: 3 windows' worth of calls, zero 429s; without it the same burst is refused",
    () =>
      Effect.gen(function* () {
        const paced = yield* simulator
        const exits = yield* burst(paced.url, 3 * LIMIT, LIMIT)
        assert.strictEqual(exits.filter(Exit.isSuccess).length, 3 * LIMIT)
        assert.strictEqual(paced.stats().byStatus["429"], undefined)
        const unpaced = yield* simulator
        const free = yield* burst(unpaced.url, 3 * LIMIT, 0)
        assert.strictEqual(unpaced.stats().byStatus["429"], 2 * LIMIT)
        assert.strictEqual(free.filter(Exit.isFailure).length, 2 * LIMIT)
      }).pipe(Effect.scoped)
  )
})

describe("a 429 without Retry-After under pacing (TestClock)", () => {
  const scripted = (statuses: Array<number>, calls: { n: number }) =>
    HttpClient.make((request) =>
      Effect.sync(() => {
        calls.n++
        const status = statuses.shift() ?? 200
        const body =
          status === 200
            ? { status: "OK", market: "open" }
            : { status: "ERROR", request_id: "r", error: RATE_LIMIT_MESSAGE }
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status }))
      })
    )
  const call = (statuses: Array<number>, calls: { n: number }, requestsPerMinute: number) =>
    Effect.flatMap(PolygonRest, (r) => r.marketStatus()).pipe(
      Effect.provide(
        Layer.scoped(
          PolygonRest,
          PolygonRestLive.make({
            baseUrl: "https://api.polygon.io",
            apiKey: Redacted.make(KEY),
            retry,
            maxConcurrency: 1,
            pageLimit: 1000,
            requestsPerMinute
          })
        ).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted(statuses, calls))))
      ),
      Effect.exit
    )

  it.effect(
    "paced: waits a whole window per 429 and succeeds with max_retries 0; unpaced: the 429 is the one attempt",
    () =>
      Effect.gen(function* () {
        const calls = { n: 0 }
        const fiber = yield* Effect.fork(call([429, 429, 429], calls, 5))
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(calls.n, 1)
        yield* TestClock.adjust("59 seconds")
        assert.strictEqual(calls.n, 1)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(calls.n, 2)
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual(calls.n, 4)
        assert.ok(Exit.isSuccess(yield* Fiber.join(fiber)))

        const unpaced = { n: 0 }
        const exit = yield* call([429], unpaced, 0)
        assert.strictEqual(unpaced.n, 1)
        assert.ok(Exit.isFailure(exit))
      })
  )
})
