/**
 * The idle watchdog after a blocked event loop, with a real `ws` server on loopback and the real
 * clock: the server sends a frame every 20 ms; the client's loop is then blocked for 1.5 s, longer
 * than the 1 s idle timeout, while frames keep arriving in the kernel. When the loop runs again the
 * watchdog's timer is due before those frames are read (timers run before I/O callbacks); it must
 * let them be handled first and see the connection alive: no reconnect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { WebSocketServer } from "ws"
import * as Journal from "../../../src/live/journal/Journal.js"
import { connectionsFor } from "../../../src/live/socket/sharding.js"
import { recorder } from "../../../src/live/telemetry.js"
import { type FeedSocketConfig, layerWs, runConnection } from "../../../src/live/socket/FeedSocket.js"
import { tempRoot } from "../../helpers/settings.js"

const status = (s: string) => JSON.stringify([{ ev: "status", status: s, message: s }])
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

describe("FeedSocket idle watchdog on a blocked event loop (real socket, real time)", () => {
  it.scopedLive(
    "frames that arrived while the loop was blocked count: the healthy connection is kept",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(
          Effect.async<WebSocketServer>((resume) => {
            const wss: WebSocketServer = new WebSocketServer({ host: "127.0.0.1", port: 0 }, (): void =>
              resume(Effect.succeed(wss))
            )
          }),
          (wss) =>
            Effect.sync(() => {
              for (const c of wss.clients) c.terminate()
              wss.close()
            })
        )
        let connections = 0
        server.on("connection", (sock) => {
          connections++
          sock.send(status("connected"))
          let timer: NodeJS.Timeout | undefined
          sock.on("message", (data) => {
            const msg = JSON.parse(data.toString()) as { action: string }
            if (msg.action === "auth") sock.send(status("auth_success"))
            else if (msg.action === "subscribe") {
              sock.send(status("success"))
              timer = setInterval(() => sock.send(JSON.stringify([{ ev: "A", sym: "SPY", s: Date.now() }])), 20)
            }
          })
          sock.on("close", () => clearInterval(timer))
        })
        const port = (server.address() as { port: number }).port
        const root = yield* Effect.promise(() => tempRoot("watchdog-busy-"))
        const journal = yield* Journal.open(root, "spy", "2025-10-28")
        const rec = recorder()
        const cfg: FeedSocketConfig = {
          baseUrl: `ws://127.0.0.1:${port}`,
          apiKey: "k",
          idleTimeoutMs: 1_000,
          reconnectBaseMs: 100,
          reconnectMaxMs: 1_000,
          maxConnectionsRetryMs: 1_000,
          maxConsecutiveFailures: 3
        }
        const spec = connectionsFor("spy", ["SPY"], "A", 100)[0]!
        const fiber = yield* Effect.fork(
          runConnection(spec, cfg, journal).pipe(Effect.provide(Layer.merge(rec.layer, layerWs)))
        )
        yield* realSleep(600) // connected, subscribed, frames flowing
        assert.strictEqual(connections, 1)
        const t = Date.now()
        while (Date.now() - t < 1_500) {
          /* a sink round hogging the main thread */
        }
        yield* realSleep(600)
        assert.strictEqual(rec.totals.failures, 0)
        assert.strictEqual(connections, 1)
        yield* Fiber.interrupt(fiber)
      }),
    30_000
  )
})
