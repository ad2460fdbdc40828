import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Metrics from "../../../src/services/observability/Metrics.js"

const make = Metrics.make({ errorWindowS: 900 })

describe("Metrics", () => {
  it.effect("5-minute message window rolls by the second", () =>
    Effect.gen(function* () {
      const m = yield* make
      yield* m.recordMessages("spy", 10)
      yield* TestClock.adjust("200 seconds")
      yield* m.recordMessages("spy", 5)
      yield* TestClock.adjust(99_999)
      let s = yield* m.snapshot("spy")
      assert.strictEqual(s.messagesLast5Min, 15)
      yield* TestClock.adjust(1)
      s = yield* m.snapshot("spy")
      assert.strictEqual(s.messagesLast5Min, 5)
      assert.strictEqual(s.totalMessagesToday, 15)
      assert.strictEqual(s.lastMessageAtMs, 200_000)
      yield* TestClock.adjust("200 seconds")
      assert.strictEqual((yield* m.snapshot("spy")).messagesLast5Min, 0)
    })
  )

  it.effect("today resets at New York midnight", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-10-29T03:59:59.000Z")) // 23:59:59 EDT
      const m = yield* make
      yield* m.recordMessages("spy", 7)
      assert.strictEqual((yield* m.snapshot("spy")).totalMessagesToday, 7)
      yield* TestClock.adjust("1 second")
      const s = yield* m.snapshot("spy")
      assert.strictEqual(s.totalMessagesToday, 0)
      assert.strictEqual(s.messagesLast5Min, 7)
      yield* m.recordMessages("spy", 2)
      assert.strictEqual((yield* m.snapshot("spy")).totalMessagesToday, 2)
    })
  )

  it.effect("commit latency percentiles, events/s, error rate, connection state", () =>
    Effect.gen(function* () {
      const m = yield* make
      for (let i = 1; i <= 100; i++) yield* m.recordCommit("spy", i, 10)
      yield* m.recordEvents("spy", 600)
      for (let i = 0; i < 99; i++) yield* m.recordSuccess("spy")
      yield* m.recordError("spy")
      yield* m.setConnection("spy", "connected")
      yield* m.recordConnectionFailure("spy")
      yield* m.recordConnectionFailure("spy")
      yield* m.recordOutsideSession("spy", 7)
      yield* m.recordOutsideSession("spy", 5)
      const s = yield* m.snapshot("spy")
      assert.deepStrictEqual(s, {
        source: "spy",
        messagesLast5Min: 0,
        totalMessagesToday: 0,
        totalEventsToday: 600,
        rowsCommittedToday: 1000,
        reconnectsToday: 0,
        connectionStatus: "connected",
        connectionSinceMs: 0,
        lastMessageAtMs: null,
        lastCommitAtMs: 0,
        lastCommitLatencyMs: 100,
        commitLatency: { p50: 50, p95: 95, p99: 99 },
        eventsPerSecond: 10,
        eventsPerSecond15Min: 600 / 900,
        errorRate: 0.01,
        errorsInWindow: 1,
        successesInWindow: 99,
        consecutiveConnectionFailures: 2,
        outsideSessionToday: 12
      })
      yield* m.resetConnectionFailures("spy")
      yield* TestClock.adjust("300 seconds")
      const later = yield* m.snapshot("spy")
      assert.strictEqual(later.consecutiveConnectionFailures, 0)
      assert.strictEqual(later.commitLatency, null)
      assert.strictEqual(later.lastCommitLatencyMs, 100)
      assert.strictEqual(later.eventsPerSecond, 0)
      assert.strictEqual(later.eventsPerSecond15Min, 600 / 900) // still inside the 15 minutes
      assert.strictEqual(later.errorsInWindow, 1)
      yield* TestClock.adjust("600 seconds")
      assert.strictEqual((yield* m.snapshot("spy")).errorRate, 0)
      assert.deepStrictEqual(yield* m.sources, ["spy"])
    })
  )

  it.effect("reservoir keeps the last N commits", () =>
    Effect.gen(function* () {
      const m = yield* Metrics.make({ errorWindowS: 900, reservoirSize: 10 })
      for (let i = 1; i <= 20; i++) yield* m.recordCommit("sink:postgres", i * 10, 1)
      assert.deepStrictEqual((yield* m.snapshot("sink:postgres")).commitLatency, { p50: 150, p95: 200, p99: 200 })
    })
  )
})
