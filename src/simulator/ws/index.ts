/**
 * The simulator's WebSocket clusters (/stocks, /options, /indices) on the REST server's port.
 * PLACEHOLDER: the live-streaming work replaces this with the real replay server.
 */
import type * as http from "node:http"
import type { SimClock } from "../SimClock.js"
import type { MarketData } from "../MarketData.js"

export interface WsFaults {
  /** Drop every connection every N simulated seconds (0 = never). */
  readonly dropEverySimSeconds: number
}

export interface WsContext {
  readonly market: MarketData
  readonly clock: SimClock
  /** Accepted API key; undefined = any non-empty key. */
  readonly apiKey: string | undefined
}

export interface WsServerHandle {
  readonly setFaults: (faults: Partial<WsFaults> & Record<string, unknown>) => void
  readonly close: () => Promise<void>
}

export const attachWebSocket = (_server: http.Server, _ctx: WsContext): WsServerHandle => ({
  setFaults: () => {},
  close: async () => {}
})
