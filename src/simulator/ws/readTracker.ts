/**
 * Flow control at speed `max`: how much of the data sent to a connection its client has read.
 * The server pings once on authentication and then after every PROBE_BYTES of data, with the
 * byte count sent so far as the payload. Every client answers pings (RFC 6455 §5.5.2, `ws` and
 * `websocket` do it by themselves) in order, after reading what came before them, so a pong's
 * payload is a position the client has read to. What lies beyond it (in the server's send buffer
 * or the kernel's socket buffers, megabytes on loopback) is `unread`: the replay waits while a
 * connection has more than WINDOW_BYTES unread, so at max it runs at most that far ahead of its
 * slowest reader. A client that never answers a ping is never held by it (`unread` stays 0);
 * the server-side buffer limits still apply.
 */
import type { WebSocket } from "ws"

export const WINDOW_BYTES = 1024 * 1024
const PROBE_BYTES = 256 * 1024
const POSITION = /^\d{1,15}$/

export class ReadTracker {
  private sent = 0
  private read = 0
  private probedAt = 0
  private answered = false

  constructor(
    private readonly ws: WebSocket,
    private readonly onRead: () => void
  ) {
    ws.on("pong", (data: Buffer) => this.onPong(data))
  }

  /** Data bytes sent that the client has not confirmed reading (0 until it answers a ping). */
  get unread(): number {
    return this.answered ? this.sent - this.read : 0
  }

  /** Count data sent; ping when PROBE_BYTES have gone out since the last ping. */
  count(bytes: number): void {
    this.sent += bytes
    if (this.sent - this.probedAt >= PROBE_BYTES) this.probe()
  }

  probe(): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.ws.ping(String(this.sent))
    this.probedAt = this.sent
  }

  private onPong(data: Buffer): void {
    const text = data.toString("latin1")
    if (!POSITION.test(text)) return // not an answer to our ping
    this.answered = true
    this.read = Math.max(this.read, Number(text))
    this.onRead()
  }
}
