/**
 * The simulator's WebSocket clusters (/stocks, /options, /indices, also reached as //stocks …)
 * on the REST server's port. Other upgrade paths get 404. Text frames only, each a JSON array.
 * Protocol: connection.ts; scheduling: replay.ts; fault semantics: faults.ts.
 */
import type * as http from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import type { MarketData, WireAgg } from "../MarketData.js"
import type { SimClock } from "../SimClock.js"
import { Connection } from "./connection.js"
import type { Cluster } from "./events.js"
import { type CorrectionRecord, DEFAULT_WS_FAULTS, groundTruth, mergeFaults, type WsFaults } from "./faults.js"
import { makeReplay } from "./replay.js"
import { makeStats, type WsStats } from "./stats.js"
import { Status } from "./status.js"

export type { WsFaults } from "./faults.js"
export type { CorrectionRecord } from "./faults.js"
export type { WsStats } from "./stats.js"

export interface WsContext {
  readonly market: MarketData
  readonly clock: SimClock
  /** Accepted API key; undefined = any non-empty key. */
  readonly apiKey: string | undefined
  /** Initial fault knobs (defaults: all off, 10 connections per key and cluster). */
  readonly faults?: Partial<WsFaults> | undefined
  /** The market serves the extended day (`extendedHoursView`): replay pre-market and after-hours too. */
  readonly extendedHours?: boolean | undefined
}

export interface WsServerHandle {
  /** Merge fault knobs (unknown keys ignored); takes effect at the next window end. */
  readonly setFaults: (faults: Partial<WsFaults> & Record<string, unknown>) => void
  readonly faults: () => WsFaults
  readonly stats: () => Readonly<WsStats>
  /** Simulated time through which windows have been broadcast (the replay's "now"). */
  readonly nowMs: () => number
  /** Corrections broadcast so far, keyed `${sym}|${s}`. */
  readonly corrections: () => ReadonlyMap<string, CorrectionRecord>
  /** MarketData's second bars of a stock/option with broadcast corrections applied. */
  readonly groundTruth: (ticker: string, date: string) => ReadonlyArray<WireAgg>
  readonly close: () => Promise<void>
}

const CLUSTERS: ReadonlyArray<Cluster> = ["stocks", "options", "indices"]

/** `/stocks`, `//stocks?x=1` → `stocks`; anything else → undefined. */
export const clusterOfPath = (url: string | undefined): Cluster | undefined => {
  const pathname = (url ?? "").split("?")[0]!.replace(/^\/+/, "").replace(/\/+$/, "")
  return CLUSTERS.find((c) => c === pathname)
}

export const attachWebSocket = (server: http.Server, ctx: WsContext): WsServerHandle => {
  let faults: WsFaults = mergeFaults(DEFAULT_WS_FAULTS, ctx.faults ?? {})
  const stats = makeStats()
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 2 * 1024 * 1024 })
  let connections: ReadonlyArray<Connection> = []
  /** Authenticated connections per `${key}|${cluster}`, oldest first. */
  const byKey = new Map<string, Array<Connection>>()

  const replay = makeReplay({
    clock: ctx.clock,
    market: ctx.market,
    faults: () => faults,
    stats,
    connections: () => connections,
    dropAll: () => connections.forEach((c) => c.ws.terminate()),
    extendedHours: ctx.extendedHours
  })

  const forget = (c: Connection) => {
    connections = connections.filter((x) => x !== c)
    stats.connections = connections.length
    const group = byKey.get(`${c.key}|${c.cluster}`)
    const i = group?.indexOf(c) ?? -1
    if (i >= 0) group!.splice(i, 1)
  }

  const onAuthenticated = (c: Connection) => {
    const id = `${c.key}|${c.cluster}`
    let group = byKey.get(id)
    if (!group) byKey.set(id, (group = []))
    group.push(c)
    while (group.length > Math.max(1, faults.maxConnectionsPerCluster)) {
      const oldest = group.shift()!
      stats.evictions++
      oldest.evict(Status.maxConnections)
    }
  }

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const cluster = clusterOfPath(req.url)
    if (cluster === undefined) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = new Connection(ws, cluster, {
        apiKey: ctx.apiKey,
        faults: () => faults,
        stats,
        replayNow: replay.nowMs,
        onAuthenticated,
        onClosed: forget,
        onDrained: replay.drained,
        trackReads: ctx.clock.speed === "max"
      })
      if (!c.closed) {
        connections = [...connections, c]
        stats.connections = connections.length
        replay.wake()
      }
    })
  }
  server.on("upgrade", onUpgrade)

  return {
    setFaults: (patch) => {
      faults = mergeFaults(faults, patch)
    },
    faults: () => faults,
    stats: () => ({ ...stats }),
    nowMs: replay.nowMs,
    corrections: replay.corrections,
    groundTruth: (ticker, date) => groundTruth(ctx.market, replay.corrections(), ticker, date),
    close: async () => {
      replay.stop()
      server.off("upgrade", onUpgrade)
      for (const c of connections) c.ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}
