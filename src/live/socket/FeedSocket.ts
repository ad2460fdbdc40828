/**
 * FeedSocket: one supervised WebSocket connection (polygon-wire.md §10). Each session is
 * connected → auth → subscribe; every received frame goes straight to the feed's journal, as the
 * bytes received (the socket is never slowed by the lake), and only status frames are parsed here. A session ends
 * only by error — a close of ANY code, a socket error, a server disconnect status, or the idle
 * watchdog (no message for `live.idle_timeout_s`), or an unanswered keepalive ping (`live.ping_interval_s`,
 * `live.pong_timeout_s`: catches a half-open socket even when the feed is quiet) — and is retried forever with a capped,
 * jittered exponential backoff (reset once data flows), resubscribing everything. `auth_failed`
 * is fatal; `max_connections` waits `live.max_connections_retry_s` and alerts; more than
 * `alerts.max_consecutive_connection_failures` failures in a row alert.
 */
import { Clock, Context, Duration, Effect, Layer, Runtime, Schedule } from "effect"
import WebSocket from "ws"
import type { JournalHandle } from "../journal/Journal.js"
import {
  actionFor,
  AuthFailed,
  authMessage,
  describe,
  type SessionError,
  SocketClosed,
  SocketError,
  statusesOf,
  subscribeMessages
} from "./protocol.js"
import { keepalive, type SessionState, watchdog, withRealFloor } from "./socketWatch.js"
import type { ConnectionSpec } from "./sharding.js"
import { LiveTelemetry } from "../telemetry.js"
import { cappedJittered } from "../../lib/schedules.js"
import type { Settings } from "../../config/Settings.js"
import { AppSettings } from "../../services/AppSettings.js"

/** The part of a `ws` WebSocket the feed uses (tests provide a fake). */
export interface WsLike {
  on(event: "message", listener: (data: WebSocket.RawData | string, isBinary: boolean) => void): unknown
  on(event: "close", listener: (code: number, reason: Buffer) => void): unknown
  on(event: "error", listener: (error: Error) => void): unknown
  on(event: "pong", listener: () => void): unknown
  send(data: string): void
  /** A WebSocket ping frame (RFC 6455 §5.5.2: the server must answer with a pong). */
  ping?(): void
  terminate(): void
}

export type WsConnect = (url: string) => WsLike

export { MIN_REAL_TIMEOUT_MS, withRealFloor } from "./socketWatch.js"

export class WebSocketConnector extends Context.Tag("spy/live/WebSocketConnector")<WebSocketConnector, WsConnect>() {}

/** Real sockets through `ws` (no compression: frames are journaled as received). */
export const layerWs: Layer.Layer<WebSocketConnector> = Layer.succeed(
  WebSocketConnector,
  (url) => new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 10_000 })
)

export interface FeedSocketConfig {
  /** Base URL, e.g. `wss://socket.polygon.io`; the cluster path is appended. */
  readonly baseUrl: string
  readonly apiKey: string
  readonly idleTimeoutMs: number
  /** Keepalive ping period; absent or 0 = no pings (then only the idle watchdog detects a dead socket). */
  readonly pingIntervalMs?: number
  /** A ping unanswered for this long ends the session (default: the ping interval). */
  readonly pongTimeoutMs?: number
  readonly reconnectBaseMs: number
  readonly reconnectMaxMs: number
  readonly maxConnectionsRetryMs: number
  readonly maxConsecutiveFailures: number
}

/** A message's bytes as received (no decoding: frames are journaled as bytes). */
const toBytes = (data: WebSocket.RawData | string): Buffer =>
  typeof data === "string"
    ? Buffer.from(data, "utf8")
    : Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data as ArrayBuffer)
const STATUS = Buffer.from('"status"', "latin1")

export const urlOf = (baseUrl: string, cluster: string): string => `${baseUrl.replace(/\/+$/, "")}/${cluster}`

/** One session: resolves never, fails with why it ended. */
const session = (
  connect: WsConnect,
  spec: ConnectionSpec,
  cfg: FeedSocketConfig,
  journal: JournalHandle,
  epoch: number,
  state: SessionState,
  onConnected: () => void
) =>
  Effect.clockWith((clock) =>
    Effect.async<never, SessionError>((resume) => {
      let done = false
      let detach: (() => void) | undefined
      const end = (e: SessionError) => {
        if (done) return
        done = true
        detach?.()
        resume(Effect.fail(e))
      }
      let ws: WsLike
      try {
        ws = connect(urlOf(cfg.baseUrl, spec.cluster))
      } catch (e) {
        end(new SocketError({ message: e instanceof Error ? e.message : String(e) }))
        return
      }
      ws.on("message", (data) => {
        if (done) return
        const ms = clock.unsafeCurrentTimeMillis()
        state.lastMessageMs = ms
        const bytes = toBytes(data)
        journal.append(bytes, ms)
        // Only frames that may hold a status are decoded here (a cheap byte search decides).
        if (bytes.indexOf(STATUS) < 0) {
          if (!state.gotData) state.onFirstData?.()
          state.gotData = true
          return
        }
        for (const status of statusesOf(bytes.toString("utf8"))) {
          const action = actionFor(status, spec.cluster)
          if (action._tag === "SendAuth") ws.send(authMessage(cfg.apiKey))
          else if (action._tag === "Subscribe") {
            // The marker precedes every frame of the new subscription: gap repair starts from it.
            // Changing subscriptions (re-centring): the current set, and later changes through `attach`.
            const subs = spec.subscriptions?.current() ?? spec
            journal.marker({ conn: spec.id, epoch, tickers: subs.tickers }, ms)
            for (const m of subscribeMessages(subs.params)) ws.send(m)
            detach = spec.subscriptions?.attach((m) => ws.send(m))
            onConnected()
          } else if (action._tag === "Fail") end(action.error)
        }
      })
      ws.on("pong", () => void (state.pingOutstandingSinceMs = undefined))
      if (ws.ping) {
        const sendPing = ws.ping.bind(ws)
        state.ping = () => {
          // ws throws on a socket still CONNECTING (a slow handshake outlasting the ping interval, e.g. under
          // load on a fast simulated clock): that ping was never sent, so it is not outstanding (the caller
          // tries again next interval); a handshake that never completes is ended by the idle watchdog.
          if (done) return false
          try {
            sendPing()
            return true
          } catch {
            return false
          }
        }
      }
      ws.on("close", (code, reason) => end(new SocketClosed({ code, reason: reason.toString("utf8") })))
      ws.on("error", (error) => end(new SocketError({ message: error.message })))
      return Effect.sync(() => {
        done = true
        detach?.()
        try {
          ws.terminate()
        } catch {
          // already closed
        }
      })
    })
  )

/**
 * Run one connection for as long as the enclosing fiber lives. Only fails on `auth_failed`.
 * Fork it with `Effect.forkScoped` or a FiberMap.
 */
export const runConnection = (
  spec: ConnectionSpec,
  cfg: FeedSocketConfig,
  journal: JournalHandle
): Effect.Effect<never, AuthFailed, WebSocketConnector | LiveTelemetry> =>
  Effect.gen(function* () {
    const connect = yield* WebSocketConnector
    const telemetry = yield* LiveTelemetry
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const backoff = cappedJittered(Duration.millis(cfg.reconnectBaseMs), Duration.millis(cfg.reconnectMaxMs))
    const driver = yield* Schedule.driver(backoff)
    let failures = 0
    for (let epoch = 1; ; epoch++) {
      yield* telemetry.connection(spec.feed, epoch === 1 ? "connecting" : "reconnecting")
      const state: SessionState = {
        lastMessageMs: yield* Clock.currentTimeMillis,
        gotData: false,
        // Data flows again: the failure streak (and its alert) ends now, not at this session's end.
        onFirstData: () => void runFork(telemetry.connectionOk(spec.feed))
      }
      const connected = () => void runFork(telemetry.connection(spec.feed, "connected"))
      const pingMs = cfg.pingIntervalMs ?? 0
      const watchers =
        pingMs > 0
          ? Effect.raceFirst(watchdog(state, cfg.idleTimeoutMs), keepalive(state, pingMs, cfg.pongTimeoutMs ?? pingMs))
          : watchdog(state, cfg.idleTimeoutMs)
      const error = yield* Effect.flip(
        Effect.raceFirst(session(connect, spec, cfg, journal, epoch, state, connected), watchers)
      )
      if (state.gotData) {
        failures = 0
        yield* driver.reset
        yield* telemetry.connectionOk(spec.feed)
      }
      if (error._tag === "AuthFailed") {
        yield* telemetry.connection(spec.feed, "closed")
        yield* telemetry.alert("auth_failed", `${spec.cluster}: ${error.message}`, {
          source: spec.feed,
          connection: spec.id
        })
        return yield* Effect.fail(error)
      }
      failures++
      yield* telemetry.connection(spec.feed, "disconnected")
      yield* telemetry.connectionFailure(spec.feed)
      yield* Effect.logWarning(`${spec.id}: ${describe(error)}; reconnecting (consecutive failures: ${failures})`)
      if (failures === cfg.maxConsecutiveFailures + 1) {
        yield* telemetry.alert(
          "connection_failures",
          `${spec.id}: ${failures} consecutive connection failures (last: ${describe(error)})`,
          {
            source: spec.feed,
            connection: spec.id,
            failures
          }
        )
      }
      if (error._tag === "MaxConnections") {
        yield* telemetry.alert("max_connections", `${spec.id}: ${error.message}`, {
          source: spec.feed,
          connection: spec.id
        })
        yield* Effect.sleep(Duration.millis(cfg.maxConnectionsRetryMs))
      } else {
        yield* driver.next(undefined).pipe(Effect.ignore)
      }
    }
  })

/** Where the sockets connect and with which key (resolved by src/layers/Live.ts). */
export class FeedEndpoint extends Context.Tag("spy/live/FeedEndpoint")<
  FeedEndpoint,
  { readonly baseUrl: string; readonly apiKey: string }
>() {}

/**
 * The FeedSocket service: live's connections. `run` keeps one connection (cluster, tickers)
 * alive for as long as the calling fiber lives, journaling every frame; it fails only on
 * `auth_failed`. Another implementation (a replay of a journal, a recorded day) can be provided
 * in its place.
 */
export interface FeedSocketService {
  readonly run: (spec: ConnectionSpec, journal: JournalHandle) => Effect.Effect<never, AuthFailed>
}

export class FeedSocket extends Context.Tag("spy/FeedSocket")<FeedSocket, FeedSocketService>() {}

export const make = (
  cfg: FeedSocketConfig
): Effect.Effect<FeedSocketService, never, WebSocketConnector | LiveTelemetry> =>
  Effect.map(Effect.context<WebSocketConnector | LiveTelemetry>(), (ctx) => ({
    run: (spec, journal) => Effect.provide(runConnection(spec, cfg, journal), ctx)
  }))

/** The socket settings of `live.*` (and `alerts.*`) for the endpoint. */
export const configOf = (
  settings: Settings,
  endpoint: Context.Tag.Service<FeedEndpoint>,
  clockSpeed: number
): FeedSocketConfig => ({
  baseUrl: endpoint.baseUrl,
  apiKey: endpoint.apiKey,
  // On a fast simulated clock both socket timeouts are at least MIN_REAL_TIMEOUT_MS of real time.
  idleTimeoutMs: withRealFloor(settings.live.idleTimeoutS * 1000, clockSpeed),
  pingIntervalMs: settings.live.pingIntervalS * 1000,
  pongTimeoutMs: withRealFloor(settings.live.pongTimeoutS * 1000, clockSpeed),
  reconnectBaseMs: settings.live.reconnectBaseMs,
  reconnectMaxMs: settings.live.reconnectMaxMs,
  maxConnectionsRetryMs: settings.live.maxConnectionsRetryS * 1000,
  maxConsecutiveFailures: settings.alerts.maxConsecutiveConnectionFailures
})

/** Connections to FeedEndpoint with the settings' timeouts; `clockSpeed` defaults to `clock.speed`. */
export const layer = (
  clockSpeed?: number
): Layer.Layer<FeedSocket, never, AppSettings | FeedEndpoint | WebSocketConnector | LiveTelemetry> =>
  Layer.effect(
    FeedSocket,
    Effect.gen(function* () {
      const settings = yield* AppSettings
      return yield* make(configOf(settings, yield* FeedEndpoint, clockSpeed ?? settings.clock.speed))
    })
  )
