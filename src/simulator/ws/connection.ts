/**
 * One client connection: the auth/subscribe protocol (messages handled strictly in arrival
 * order), data frames (JSON arrays < 512 KiB) and the per-connection faults.
 *
 * Protocol choices where the real API is unconfirmed: subscribe/unsubscribe before auth →
 * `auth_required` (connection stays open); a second auth → `auth_success` again; auth_failed and
 * max_connections close with 1008; an unknown action → `error` `unknown action: X`.
 */
import type { RawData, WebSocket } from "ws"
import type { Cluster } from "./events.js"
import { HARD_BUFFER_CAP, isNth, isStalled, type WsFaults } from "./faults.js"
import type { WsStats } from "./stats.js"
import { ReadTracker } from "./readTracker.js"
import { frame, Status, type StatusMessage } from "./status.js"
import { splitParams, Subscriptions } from "./subscriptions.js"

export const MAX_FRAME_BYTES = 512 * 1024

export interface ConnectionDeps {
  readonly apiKey: string | undefined
  readonly faults: () => WsFaults
  readonly stats: WsStats
  /** Simulated time the replay has reached (for the half-open age). */
  readonly replayNow: () => number
  readonly onAuthenticated: (c: Connection) => void
  readonly onClosed: (c: Connection) => void
  /** A data frame has been written to the socket, or the client confirmed reading (the replay may be waiting). */
  readonly onDrained: () => void
  /** Track what the client has read (speed max: readTracker.ts). */
  readonly trackReads: boolean
}

export class Connection {
  readonly subs = new Subscriptions()
  key: string | undefined
  halfOpen = false
  closed = false
  /** Declared a slow consumer: only the status and the close go out. */
  private dropping = false
  readonly connectedAtSim: number
  /** Wall-clock time the connection opened. */
  readonly openedAtMs = Date.now()
  private dataFrames = 0
  private events = 0
  private duplicates: Array<string> = []
  private readonly reads: ReadTracker | undefined

  constructor(
    readonly ws: WebSocket,
    readonly cluster: Cluster,
    private readonly deps: ConnectionDeps
  ) {
    this.connectedAtSim = deps.replayNow()
    this.reads = deps.trackReads ? new ReadTracker(ws, deps.onDrained) : undefined
    deps.stats.connectionsTotal++
    if (this.stalled()) this.goHalfOpen()
    else this.sendStatus(Status.connected)
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary))
    ws.on("close", () => this.onClose())
    ws.on("error", () => this.onClose())
  }

  /** Data sent that the client has not confirmed reading (readTracker.ts; 0 when not tracked). */
  get unread(): number {
    return this.reads?.unread ?? 0
  }

  /** Authenticated, open and still talking: the replay delivers to it. */
  get live(): boolean {
    return (
      this.key !== undefined && !this.halfOpen && !this.closed && !this.dropping && this.ws.readyState === this.ws.OPEN
    )
  }

  private onClose(): void {
    if (this.closed) return
    this.closed = true
    this.deps.onClosed(this)
  }

  private stalled(): boolean {
    return isStalled(this.deps.faults(), this.deps.replayNow())
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!this.halfOpen && this.stalled()) this.goHalfOpen()
    if (this.halfOpen || this.closed || this.dropping) return
    let msg: unknown
    try {
      msg = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString("utf8") : data.toString())
    } catch {
      return this.sendStatus(Status.invalidJson)
    }
    const { action, params } = (typeof msg === "object" && msg !== null ? msg : {}) as {
      action?: unknown
      params?: unknown
    }
    switch (action) {
      case "auth":
        return this.auth(params)
      case "subscribe":
      case "unsubscribe": {
        if (this.key === undefined) return this.sendStatus(Status.authRequired)
        for (const p of splitParams(params)) {
          if (action === "subscribe") this.subs.add(p)
          else this.subs.remove(p)
          this.sendStatus(action === "subscribe" ? Status.subscribed(p) : Status.unsubscribed(p))
        }
        return
      }
      default:
        return this.sendStatus(Status.unknownAction(String(action)))
    }
  }

  private auth(params: unknown): void {
    const ok =
      typeof params === "string" && params.length > 0 && (this.deps.apiKey === undefined || params === this.deps.apiKey)
    if (!ok) {
      this.sendStatus(Status.authFailed)
      return this.close(1008, "authentication failed")
    }
    this.sendStatus(Status.authSuccess)
    if (this.key === undefined) {
      this.key = params
      this.reads?.probe() // learn early whether the client answers pings (flow control)
      this.deps.onAuthenticated(this)
    }
  }

  sendStatus(...messages: ReadonlyArray<StatusMessage>): void {
    this.write(frame(...messages))
  }

  /** Close politely; a client that does not answer the close handshake is cut after 2 s. */
  close(code: number, reason: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.ws.close(code, reason)
    setTimeout(() => this.ws.terminate(), 2000).unref()
  }

  evict(message: StatusMessage): void {
    this.sendStatus(message)
    this.close(1008, message.status)
  }

  goHalfOpen(): void {
    this.halfOpen = true
    this.ws.pause() // unread pings get no pong, messages no reply
  }

  /** Send already-serialized events (plus the duplicates due) as frames of < 512 KiB. */
  deliver(events: ReadonlyArray<string>): void {
    if (!this.live) return
    const faults = this.deps.faults()
    const resend = this.duplicates
    this.duplicates = []
    for (const e of events) if (isNth(++this.events, faults.duplicateEvery)) this.duplicates.push(e)
    this.deps.stats.duplicatesSent += resend.length
    let parts: Array<string> = []
    let size = 2
    const flush = () => {
      if (parts.length > 0) this.sendData(`[${parts.join(",")}]`, parts.length, faults)
      parts = []
      size = 2
    }
    for (const e of resend.length > 0 ? [...events, ...resend] : events) {
      if (size + e.length + 1 > MAX_FRAME_BYTES) flush()
      parts.push(e)
      size += e.length + 1
    }
    flush()
  }

  /** Duplicates are waiting for the next data frame (the replay then frames per second). */
  get hasPendingDuplicates(): boolean {
    return this.duplicates.length > 0
  }

  /**
   * Send one data frame already serialized as the UTF-8 bytes of a JSON array of `count` events
   * (< 512 KiB; the batched replay at speed max), as a text frame. Malformed-frame and
   * slow-consumer faults apply; duplicates are the per-second path's business.
   */
  sendFrameBytes(frame: Buffer, count: number, written?: () => void): void {
    if (!this.live) return
    this.sendData(frame, count, this.deps.faults(), written)
  }

  private sendData(data: string | Buffer, count: number, faults: WsFaults, written?: () => void): void {
    if (isNth(++this.dataFrames, faults.malformedEvery)) {
      const text = typeof data === "string" ? data : data.toString("utf8")
      this.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))))
      this.deps.stats.malformedSent++
    }
    const drained = this.deps.onDrained
    this.write(data, written === undefined ? drained : () => (written(), drained()))
    this.reads?.count(typeof data === "string" ? Buffer.byteLength(data) : data.length)
    this.deps.stats.eventsSent += count
  }

  /**
   * Send a text frame (a string, or its UTF-8 bytes); `sent` is called once the socket has
   * written it out (or failed to), not at all when the frame is not sent.
   */
  private write(data: string | Buffer, sent?: () => void): void {
    if (this.closed || this.halfOpen || this.dropping || this.ws.readyState !== this.ws.OPEN) return
    if (sent === undefined) this.ws.send(data)
    else this.ws.send(data, { binary: false }, sent)
    const stats = this.deps.stats
    stats.framesSent++
    stats.bytesSent += data.length // bytes of a data frame, UTF-16 units of a string (the same for ASCII)
    const buffered = this.ws.bufferedAmount
    if (buffered > stats.maxBufferedAmount) stats.maxBufferedAmount = buffered
    const limit = this.deps.faults().slowConsumerBytes || HARD_BUFFER_CAP
    if (buffered > limit) {
      stats.slowConsumers++
      this.dropping = true
      this.ws.send(frame(Status.slowConsumer))
      this.close(1008, "slow consumer")
    }
  }
}
