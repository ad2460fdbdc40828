/**
 * The simulator's Polygon-compatible server: REST routes (rest/*) and the WebSocket clusters
 * (ws/*) on one loopback port. Admin routes for tests that drive a child process:
 * `POST /_sim/faults` (Partial<RestFaults>, plus `ws: {...}` for the WebSocket faults),
 * `GET /_sim/faults`, `GET /_sim/stats`.
 */
import { randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"
import { extendedHoursView, type MarketData } from "./MarketData.js"
import { makeSimClock, type SimClock } from "./SimClock.js"
import { makeSyntheticMarket } from "./market/SyntheticMarket.js"
import { NO_FAULTS, type RestFaults, withFaults } from "./rest/faults.js"
import { makeRateLimit, type RateLimitOptions } from "./rest/rateLimit.js"
import type { ApiResponse, RestContext } from "./rest/http.js"
import { respond } from "./rest/respond.js"
import { parseTarget, type Target } from "./rest/router.js"
import { attachWebSocket, type WsServerHandle } from "./ws/index.js"

export type { RestFaults } from "./rest/faults.js"

export interface SimulatorOptions {
  /** 0 or undefined = a free port. */
  readonly port?: number
  readonly seed?: number
  readonly market?: MarketData
  /** undefined = any non-empty key is accepted. */
  readonly apiKey?: string
  readonly clock?: SimClock
  /** REST fault knobs, plus `ws` for the WebSocket side's (as `POST /_sim/faults` takes them). */
  readonly faults?: Partial<RestFaults> & { readonly ws?: Record<string, unknown> }
  /** The plan's REST limit: `limit` requests per rolling `windowMs` (60 s), 429 without Retry-After beyond it. */
  readonly rateLimit?: RateLimitOptions
  /**
   * Extended hours, as the real API (default true): REST aggregates carry pre-market and
   * after-hours bars (`market.extendedSecondBars`) and the WebSocket replays them at their time
   * of day. false = the regular session only.
   */
  readonly extendedHours?: boolean
  /**
   * A delayed plan (`--delay-s`, seconds; default 0 = real time): WebSocket windows go out this
   * long after they end (the `delayMs` knob), and REST aggregates serve only bars that ended
   * this long ago (rest/delayCut.ts).
   */
  readonly delayS?: number
}

export interface SimulatorStats {
  readonly requests: number
  readonly byStatus: Record<string, number>
}

export interface RunningSimulator {
  readonly url: string
  readonly wsUrl: string
  readonly port: number
  readonly market: MarketData
  readonly clock: SimClock
  readonly setFaults: (f: Partial<RestFaults>) => void
  readonly setWsFaults: (f: Record<string, unknown>) => void
  /** The WebSocket side (fault knobs, stats, replay position). */
  readonly ws: WsServerHandle
  readonly stats: () => SimulatorStats
  readonly close: () => Promise<void>
}

const DEFAULT_SEED = 1

const newRequestId = (): string => randomBytes(16).toString("hex")

const send = (res: http.ServerResponse, response: ApiResponse, requestId = newRequestId(), headOnly = false): void => {
  const chunks = response.json ?? [Buffer.from(JSON.stringify(response.body), "utf8")]
  let length = 0
  for (const c of chunks) length += c.byteLength
  res.writeHead(response.status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": length,
    "X-Request-ID": requestId,
    ...response.headers
  })
  if (headOnly) {
    res.end()
    return
  }
  // pre-serialized pages are a few chunks (envelope head, cached bar bytes, tail): one writev
  if (chunks.length === 1) {
    res.end(chunks[0])
    return
  }
  res.cork()
  for (const c of chunks) res.write(c)
  res.end() // flushes the corked writes
}

const readJson = (req: http.IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      try {
        resolve(chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch (e) {
        reject(e)
      }
    })
    req.on("error", reject)
  })

export const startSimulator = async (options: SimulatorOptions = {}): Promise<RunningSimulator> => {
  const seed = options.seed ?? DEFAULT_SEED
  const market = options.market ?? makeSyntheticMarket(seed)
  const clock = options.clock ?? makeSimClock()
  const { ws: initialWsFaults, ...initialRestFaults } = options.faults ?? {}
  let faults = withFaults(NO_FAULTS, initialRestFaults)
  const rateLimit = makeRateLimit(options.rateLimit ?? { limit: 0 })
  let requests = 0
  const byStatus: Record<string, number> = {}
  const restMarket = options.extendedHours === false ? market : extendedHoursView(market)
  const delayMs = Math.max(0, (options.delayS ?? 0) * 1000)
  const ctx: RestContext = { market: restMarket, clock, drift: (kind) => faults.drift[kind], delayMs }
  const server = http.createServer()
  // the real-time feed sends what trades at that time of day: pre-market and after-hours bars too
  const wsExtended = options.extendedHours !== false && market.extendedSecondBars !== undefined
  const ws = attachWebSocket(server, {
    market: wsExtended ? restMarket : market,
    clock,
    apiKey: options.apiKey,
    extendedHours: wsExtended,
    faults: { delayMs }
  })
  if (initialWsFaults !== undefined) ws.setFaults(initialWsFaults)
  const setFaults = (f: Partial<RestFaults>) => {
    faults = withFaults(faults, f)
  }
  const stats = (): SimulatorStats => ({ requests, byStatus: { ...byStatus } })

  const admin = async (req: http.IncomingMessage, res: http.ServerResponse, target: Target): Promise<void> => {
    const what = target.segments[1]
    if (what === "faults" && req.method === "POST") {
      const body = (await readJson(req)) as Partial<RestFaults> & { ws?: Record<string, unknown> }
      const { ws: wsFaults, ...rest } = body
      setFaults(rest)
      if (wsFaults !== undefined) ws.setFaults(wsFaults)
      return send(res, { status: 200, body: { status: "OK", faults } })
    }
    if (what === "faults") return send(res, { status: 200, body: faults })
    if (what === "stats") return send(res, { status: 200, body: stats() })
    send(res, { status: 404, body: { status: "NOT_FOUND", message: "unknown admin route" } })
  }

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const target = parseTarget(req.url ?? "/")
    if (target?.segments[0] === "_sim") {
      admin(req, res, target).catch(() =>
        send(res, { status: 400, body: { status: "ERROR", error: "invalid JSON body" } })
      )
      return
    }
    const requestNumber = ++requests
    const requestId = newRequestId()
    const response: ApiResponse =
      target === undefined
        ? { status: 400, body: { status: "ERROR", request_id: requestId, error: "malformed request path" } }
        : respond({
            req,
            target,
            requestNumber,
            requestId,
            seed,
            faults,
            ctx,
            admit: rateLimit.admit,
            origin: `http://${req.headers.host ?? `127.0.0.1:${port}`}`,
            apiKey: options.apiKey
          })
    const key = String(response.status)
    byStatus[key] = (byStatus[key] ?? 0) + 1
    const finish = () => {
      if (!res.destroyed) send(res, response, requestId, req.method === "HEAD")
    }
    if (faults.latencyMs > 0) setTimeout(finish, faults.latencyMs)
    else finish()
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    market,
    clock,
    setFaults,
    setWsFaults: (f) => ws.setFaults(f),
    ws,
    stats,
    close: async () => {
      await ws.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}

/** The simulator as a scoped resource: started on acquire, closed when the scope closes. */
export const simulatorResource = (options?: SimulatorOptions): Effect.Effect<RunningSimulator, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startSimulator(options)),
    (sim) => Effect.promise(() => sim.close())
  )
