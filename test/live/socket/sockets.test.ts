/**
 * FeedSocket on the TestClock against a fake Polygon server: auth_failed is fatal at once,
 * max_connections retries at most once per live.max_connections_retry_s and alerts, a half-open
 * connection is detected by the idle watchdog and replaced, and 100,000 frames pass one
 * connection into the journal and the lake exactly.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import * as Journal from "../../../src/live/journal/Journal.js"
import * as LiveWriter from "../../../src/live/writer/LiveWriter.js"
import { connectionsFor } from "../../../src/live/socket/sharding.js"
import { recorder } from "../../../src/live/telemetry.js"
import {
  type FeedSocketConfig,
  runConnection,
  WebSocketConnector,
  withRealFloor
} from "../../../src/live/socket/FeedSocket.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../fixtures/fakeRest.js"
import { FakeServer } from "../fixtures/fakeWs.js"
import { liveTestLayer, readLake, realTick, realWait } from "../fixtures/harness.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../helpers/lakeLayout.js"

const DATE = "2025-10-28"
const market = makeSyntheticMarket(42)
const cfg: FeedSocketConfig = {
  baseUrl: "ws://fake",
  apiKey: "k",
  idleTimeoutMs: 30_000,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  maxConnectionsRetryMs: 60_000,
  maxConsecutiveFailures: 3
}
const spec = connectionsFor("spy", ["SPY"], "A", 100)[0]!

const setup = (server: FakeServer, config: FeedSocketConfig = cfg) =>
  Effect.gen(function* () {
    const root = yield* Effect.promise(() => tempRoot("live-sock-"))
    const journal = yield* Journal.open(root, "spy", DATE)
    const rec = recorder()
    const run = runConnection(spec, config, journal).pipe(
      Effect.provide(Layer.merge(rec.layer, Layer.succeed(WebSocketConnector, server.connect)))
    )
    return { root, journal, rec, run }
  })

describe("FeedSocket", () => {
  it.scoped("auth_failed fails fast with the server's message, no retry", () =>
    Effect.gen(function* () {
      const server = new FakeServer(market, DATE, { rejectKey: true })
      const { run, rec } = yield* setup(server)
      const exit = yield* Effect.exit(run)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) && exit.cause), "authentication failed")
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(server.sockets.length, 1)
      assert.deepStrictEqual(
        rec.alerts.map((a) => a.kind),
        ["auth_failed"]
      )
    })
  )

  it.scoped("max_connections: at most one attempt per minute, and an alert", () =>
    Effect.gen(function* () {
      const server = new FakeServer(market, DATE, { alwaysMaxConnections: true })
      const { run, rec } = yield* setup(server)
      const fiber = yield* Effect.fork(run)
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("30 seconds")
      yield* Fiber.interrupt(fiber)
      // t = 0, 60, 120, 180, 240, 300 s: six attempts in five minutes, never a storm.
      assert.strictEqual(server.sockets.length, 6)
      assert.isTrue(rec.alerts.some((a) => a.kind === "max_connections"))
      assert.isTrue(rec.alerts.some((a) => a.kind === "connection_failures"))
    })
  )

  it.scoped("a half-open connection is detected by the idle watchdog and replaced; data flows again", () =>
    Effect.gen(function* () {
      const server = new FakeServer(market, DATE, { halfOpenAfterSubscribe: true })
      const start = nyTimeMs(DATE, 10)
      yield* TestClock.setTime(start)
      server.nowMs = start
      const { run, journal, rec } = yield* setup(server)
      const fiber = yield* Effect.fork(run)
      for (let t = start + 10_000; t <= start + 60_000; t += 10_000) {
        yield* TestClock.adjust("10 seconds")
        server.emitUntil(t)
        yield* realTick
      }
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(server.sockets.length, 2)
      assert.isTrue(server.sockets[0]!.closed)
      assert.isFalse(server.sockets[1]!.silent)
      const text = fs.readFileSync(journal.file, "utf8")
      assert.include(text, '"epoch":2')
      assert.isAbove(server.frames, 1)
      assert.strictEqual(rec.totals.failures, 1)
    })
  )

  it.scoped(
    "keepalive: answered pings keep a connection; an unanswered ping ends a quiet half-open one before the idle watchdog would",
    () =>
      Effect.gen(function* () {
        const keepaliveCfg = { ...cfg, idleTimeoutMs: 600_000, pingIntervalMs: 10_000, pongTimeoutMs: 5_000 }
        const server = new FakeServer(market, DATE)
        const start = nyTimeMs(DATE, 10)
        yield* TestClock.setTime(start)
        const { run, rec } = yield* setup(server, keepaliveCfg)
        const fiber = yield* Effect.fork(run)
        for (let i = 0; i < 12; i++) {
          // 60 s, no data at all: only pongs prove the socket alive
          yield* realTick
          yield* TestClock.adjust("5 seconds")
        }
        yield* realTick
        assert.strictEqual(server.sockets.length, 1)
        assert.strictEqual(server.sockets[0]!.pings, 6) // at 10, 20, …, 60 s
        assert.strictEqual(rec.totals.failures, 0)

        server.sockets[0]!.silent = true // half-open from now on: no data, no pongs
        for (let i = 0; i < 3; i++) {
          // the ping at 70 s is unanswered; at 75 s the session ends
          yield* TestClock.adjust("5 seconds")
          yield* realTick
        }
        yield* realWait(() => server.sockets[0]!.closed)
        assert.strictEqual(server.sockets[0]!.pings, 7)
        yield* realWait(() => rec.totals.failures === 1)
        yield* TestClock.adjust("2 seconds") // reconnect backoff (≤ 1 s with jitter)
        yield* realWait(() => server.sockets.length === 2)
        assert.isFalse(server.sockets[1]!.closed)
        yield* Fiber.interrupt(fiber)
      })
  )

  it.scoped(
    "a ping that could not be sent (socket still connecting) is not outstanding: no pong timeout, the next ping is sent",
    () =>
      Effect.gen(function* () {
        const keepaliveCfg = { ...cfg, idleTimeoutMs: 600_000, pingIntervalMs: 10_000, pongTimeoutMs: 5_000 }
        const server = new FakeServer(market, DATE, { refusePings: 1 })
        const start = nyTimeMs(DATE, 10)
        yield* TestClock.setTime(start)
        const { run, rec } = yield* setup(server, keepaliveCfg)
        const fiber = yield* Effect.fork(run)
        for (let i = 0; i < 12; i++) {
          // 60 s without data: the ping at 10 s throws, those at 20 … 60 s are answered
          yield* realTick
          yield* TestClock.adjust("5 seconds")
        }
        yield* realTick
        assert.strictEqual(server.sockets.length, 1)
        assert.isFalse(server.sockets[0]!.closed)
        assert.strictEqual(server.sockets[0]!.pingsRefused, 1)
        assert.strictEqual(server.sockets[0]!.pings, 5)
        assert.strictEqual(rec.totals.failures, 0)
        yield* Fiber.interrupt(fiber)
      })
  )

  it("socket timeouts on a fast simulated clock: at least 5 real seconds (k × 5 s at speed k)", () => {
    assert.strictEqual(withRealFloor(30_000, 1), 30_000)
    assert.strictEqual(withRealFloor(30_000, 60), 300_000)
    assert.strictEqual(withRealFloor(600_000, 60), 600_000)
    assert.strictEqual(withRealFloor(2_000, 0.5), 5_000)
  })

  it.scoped(
    "100,000 frames through one connection reach the journal and the lake exactly",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-100k-"))
        const settings = yield* Effect.promise(() => loadTestSettings({ storage: { root } }))
        const server = new FakeServer(market, DATE)
        const { layer } = liveTestLayer(settings, fakeRest(market).service, server.connect)
        const open = nyTimeMs(DATE, 9, 30)
        yield* TestClock.setTime(open)
        yield* Effect.gen(function* () {
          const journal = yield* Journal.open(root, "spy", DATE)
          const writer = yield* LiveWriter.start({
            root,
            feed: "spy",
            date: DATE,
            openMs: open,
            closeMs: nyTimeMs(DATE, 16),
            journal,
            ev: "A",
            timespan: "second",
            flushIntervalMs: 5000,
            maxRows: 50_000,
            graceSeconds: 0
          })
          const fiber = yield* Effect.fork(runConnection(spec, cfg, journal))
          yield* realWait(() => server.open().some((s) => s.subs.size > 0))
          const sock = server.open()[0]!
          const N = 100_000
          for (let i = 0; i < N; i++) {
            const s = open + i * 100 // 100k distinct windows inside the session
            sock.deliver(
              JSON.stringify([
                {
                  ev: "A",
                  sym: "SPY",
                  v: i + 1,
                  av: i + 1,
                  op: 580,
                  vw: 580.5,
                  o: 580,
                  c: 581,
                  h: 582,
                  l: 579,
                  a: 580.4,
                  z: 10,
                  s,
                  e: s + 1000
                }
              ])
            )
            if (i % 10_000 === 0) yield* realTick
          }
          yield* Fiber.interrupt(fiber)
          yield* writer.finish()
          const lines = fs.readFileSync(journal.file, "utf8").trimEnd().split("\n")
          assert.strictEqual(lines.filter((l) => l.includes('"ev":"A"')).length, N)
          const rows = yield* readLake(root, "spy", DATE)
          assert.strictEqual(rows.length, N)
          assert.strictEqual(new Set(rows.map((r) => r.s)).size, N)
          assert.deepStrictEqual(yield* Effect.promise(() => lakeLayout(root, "spy", DATE)), CLEAN_LAYOUT)
        }).pipe(Effect.provide(layer))
      }),
    { timeout: 60_000 }
  )
})
