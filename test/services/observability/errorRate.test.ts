/**
 * The error-rate alert as SCOPE states it: bad rows over rows received in the rolling window, above
 * `alerts.error_rate_pct` (1 %). Through the live telemetry (commit = good rows, quarantine = bad
 * rows), so two bad rows among 180 commits of 1,000 rows no longer trip it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { TelemetryFromObservability } from "../../../src/layers/Live.js"
import { LiveTelemetry } from "../../../src/live/telemetry.js"
import { HeartbeatMonitor } from "../../../src/services/observability/HeartbeatMonitor.js"
import { alertLines, observabilityLayer, settingsFor, T0, tempRoot } from "./_helpers.js"

describe("error-rate alert", () => {
  it.scoped(
    "2 bad rows in 180,002 received: no alert; 1,900 bad in 181,900 (1.04 %): alert; the window rolls it off",
    () => {
      const root = tempRoot()
      return Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        yield* Effect.gen(function* () {
          const telemetry = yield* LiveTelemetry
          const monitor = yield* HeartbeatMonitor
          for (let i = 0; i < 180; i++) yield* telemetry.commit("options", 1000, T0, [T0])
          yield* telemetry.error("options", 2)
          yield* monitor.check
          assert.deepStrictEqual(alertLines(root), [])
          yield* telemetry.error("options", 1_898)
          yield* monitor.check
          const [line] = alertLines(root)
          assert.deepStrictEqual(
            [
              line!["kind"],
              line!["source"],
              (line!["details"] as Record<string, unknown>)["errors"],
              (line!["details"] as Record<string, unknown>)["total"]
            ],
            ["error_rate", "options", 1_900, 181_900]
          )
          yield* TestClock.adjust("901 seconds")
          yield* monitor.check
          assert.deepStrictEqual(
            alertLines(root).map((l) => l["open"]),
            [true, false]
          )
        }).pipe(
          Effect.provide(TelemetryFromObservability.pipe(Layer.provideMerge(observabilityLayer(settingsFor(root)))))
        )
      })
    }
  )
})
