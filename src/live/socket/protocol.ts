/**
 * The Polygon WebSocket protocol (polygon-wire.md §10): connected → auth → subscribe, status
 * handling, and the typed reasons a session ends. Every end of a session is an error: a close
 * of ANY code (1000 and 1006 included) must lead to a reconnect, never to a silent stop.
 */
import { Data } from "effect"

export type Cluster = "stocks" | "options" | "indices"

export class SocketClosed extends Data.TaggedError("SocketClosed")<{
  readonly code: number
  readonly reason: string
}> {}
export class SocketError extends Data.TaggedError("SocketError")<{ readonly message: string }> {}
export class IdleTimeout extends Data.TaggedError("IdleTimeout")<{ readonly idleMs: number }> {}
/** A keepalive ping went unanswered: the connection is dead even if TCP has not noticed. */
export class PongTimeout extends Data.TaggedError("PongTimeout")<{ readonly timeoutMs: number }> {}
/** The server refused the key: fatal, never retried. */
export class AuthFailed extends Data.TaggedError("AuthFailed")<{
  readonly message: string
  readonly cluster: Cluster
}> {}
/** The account's connection limit was hit: retried at most once per `live.max_connections_retry_s`. */
export class MaxConnections extends Data.TaggedError("MaxConnections")<{ readonly message: string }> {}
/** `slow_consumer`, `force_disconnect`, `auth_timeout`: server-side disconnects, retried. */
export class ServerDisconnect extends Data.TaggedError("ServerDisconnect")<{
  readonly status: string
  readonly message: string
}> {}

export type SessionError =
  SocketClosed | SocketError | IdleTimeout | PongTimeout | AuthFailed | MaxConnections | ServerDisconnect

export interface StatusMessage {
  readonly status: string
  readonly message: string
}

/** Cheap pre-check on the raw frame: only frames that may hold a status are parsed on the socket path. */
export const mayHoldStatus = (text: string): boolean => text.includes('"status"')

/** The status objects of a frame (empty if it is not a JSON array or has none). */
export const statusesOf = (text: string): ReadonlyArray<StatusMessage> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return []
  }
  if (!Array.isArray(parsed)) return []
  const out: Array<StatusMessage> = []
  for (const m of parsed) {
    if (m && typeof m === "object" && (m as Record<string, unknown>)["ev"] === "status") {
      const r = m as Record<string, unknown>
      out.push({ status: String(r["status"] ?? ""), message: String(r["message"] ?? "") })
    }
  }
  return out
}

export type StatusAction =
  | { readonly _tag: "SendAuth" }
  | { readonly _tag: "Subscribe" }
  | { readonly _tag: "Fail"; readonly error: SessionError }
  | { readonly _tag: "None" }

export const actionFor = (s: StatusMessage, cluster: Cluster): StatusAction => {
  switch (s.status) {
    case "connected":
      return { _tag: "SendAuth" }
    case "auth_success":
      return { _tag: "Subscribe" }
    case "auth_failed":
      return { _tag: "Fail", error: new AuthFailed({ message: s.message || "authentication failed", cluster }) }
    case "max_connections":
      return {
        _tag: "Fail",
        error: new MaxConnections({ message: s.message || "Maximum number of connections exceeded." })
      }
    case "slow_consumer":
    case "force_disconnect":
    case "auth_timeout":
      return { _tag: "Fail", error: new ServerDisconnect({ status: s.status, message: s.message }) }
    default:
      return { _tag: "None" }
  }
}

export const authMessage = (key: string): string => JSON.stringify({ action: "auth", params: key })

/** Subscribe messages, each under the server's 1 MB limit. */
export const subscribeMessages = (params: ReadonlyArray<string>, maxChars = 900_000): ReadonlyArray<string> =>
  controlMessages("subscribe", params, maxChars)

/** `subscribe` or `unsubscribe` messages for params (none for none), each under the server's 1 MB limit. */
export const controlMessages = (
  action: "subscribe" | "unsubscribe",
  params: ReadonlyArray<string>,
  maxChars = 900_000
): ReadonlyArray<string> => {
  const out: Array<string> = []
  let batch: Array<string> = []
  let size = 0
  for (const p of params) {
    if (size + p.length + 1 > maxChars && batch.length > 0) {
      out.push(JSON.stringify({ action, params: batch.join(",") }))
      batch = []
      size = 0
    }
    batch.push(p)
    size += p.length + 1
  }
  if (batch.length > 0) out.push(JSON.stringify({ action, params: batch.join(",") }))
  return out
}

/** A short description of a session's end, for logs and alerts (never containing the key). */
export const describe = (e: SessionError): string => {
  switch (e._tag) {
    case "SocketClosed":
      return `closed (code ${e.code}${e.reason ? `: ${e.reason}` : ""})`
    case "SocketError":
      return `socket error: ${e.message}`
    case "IdleTimeout":
      return `no message for ${e.idleMs} ms (dead connection)`
    case "PongTimeout":
      return `no pong within ${e.timeoutMs} ms of a keepalive ping (dead connection)`
    case "AuthFailed":
      return `auth_failed: ${e.message}`
    case "MaxConnections":
      return `max_connections: ${e.message}`
    case "ServerDisconnect":
      return `${e.status}: ${e.message}`
  }
}
