/** Counters of the WebSocket server, for tests and benchmarks. */
export interface WsStats {
  /** Currently open connections. */
  connections: number
  connectionsTotal: number
  framesSent: number
  eventsSent: number
  bytesSent: number
  /** Largest `bufferedAmount` seen on any connection right after a send. */
  maxBufferedAmount: number
  malformedSent: number
  duplicatesSent: number
  correctionsSent: number
  drops: number
  evictions: number
  slowConsumers: number
}

export const makeStats = (): WsStats => ({
  connections: 0,
  connectionsTotal: 0,
  framesSent: 0,
  eventsSent: 0,
  bytesSent: 0,
  maxBufferedAmount: 0,
  malformedSent: 0,
  duplicatesSent: 0,
  correctionsSent: 0,
  drops: 0,
  evictions: 0,
  slowConsumers: 0
})
