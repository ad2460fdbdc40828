/**
 * REST connection failures in a row (refused connections, timeouts) raise `connection_failures`
 * once more than `alerts.max_consecutive_connection_failures` attempts failed, and the next success
 * resolves it (TestClock; scripted HttpClient; the real Alerts service writing its file).
 */
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { restConnectionAlerts } from "../../../src/layers/Polygon.js"
import * as Alerts from "../../../src/services/observability/Alerts.js"
import { parseAlertLines } from "../../../src/services/observability/alertLog.js"
import * as PolygonRestLive from "../../../src/services/polygon/PolygonRestLive.js"

const retry = {
  maxRetries: 6,
  baseDelayMs: 1000,
  maxDelayMs: 1000,
  jitter: false,
  requestTimeoutMs: 30_000,
  maxRetryAfterMs: 1000
}

/** Fails `failures` times with a transport error (connection refused), then answers 200. */
const flaky = (failures: number) => {
  let n = 0
  return HttpClient.make((request) =>
    n++ < failures
      ? Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new Error("connect ECONNREFUSED 127.0.0.1:9")
          })
        )
      : Effect.succeed(
          HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ market: "open" }), { status: 200 }))
        )
  )
}

describe("REST connection-failure alerts", () => {
  it.scoped("5 refused connections in a row: one alert at the 4th (more than 3), resolved by the success", () =>
    Effect.gen(function* () {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rest-alerts-")), "alerts.ndjson")
      const alerts = yield* Alerts.make({ file, webhookUrl: Option.none() }).pipe(
        Effect.provide(Layer.succeed(HttpClient.HttpClient, flaky(0)))
      )
      const rest = yield* PolygonRestLive.make({
        baseUrl: "https://api.polygon.io",
        apiKey: Redacted.make("k-0001"),
        retry,
        maxConcurrency: 1,
        pageLimit: 1000,
        connectionFailures: restConnectionAlerts(alerts, 3)
      }).pipe(Effect.provide(Layer.succeed(HttpClient.HttpClient, flaky(5))))
      const fiber = yield* Effect.fork(rest.marketStatus())
      yield* TestClock.adjust("2500 millis") // attempts at 0, 1, 2 s: three failures, not more than 3
      assert.deepStrictEqual(yield* alerts.openAlerts, [])
      yield* TestClock.adjust("1 second") // the 4th failure
      const open = yield* alerts.openAlerts
      assert.deepStrictEqual(
        open.map((a) => [a.kind, a.source, a.details["failures"]]),
        [["connection_failures", "rest", 4]]
      )
      yield* TestClock.adjust("1 second") // the 5th failure: still one open alert
      assert.strictEqual((yield* alerts.openAlerts).length, 1)
      yield* TestClock.adjust("1 second") // the 6th attempt succeeds
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* alerts.openAlerts, [])
      const lines = parseAlertLines(fs.readFileSync(file, "utf8"))
      assert.deepStrictEqual(
        lines.map((l) => [l.kind, l.open]),
        [
          ["connection_failures", true],
          ["connection_failures", false]
        ]
      )
      assert.notInclude(fs.readFileSync(file, "utf8"), "k-0001")
    })
  )
})
