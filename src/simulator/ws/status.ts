/** Status messages (`ev:"status"`, §10.2) and their exact texts. */
export interface StatusMessage {
  readonly ev: "status"
  readonly status: string
  readonly message: string
}

const status = (s: string, message: string): StatusMessage => ({ ev: "status", status: s, message })

export const Status = {
  connected: status("connected", "Connected Successfully"),
  authSuccess: status("auth_success", "authenticated"),
  authFailed: status("auth_failed", "authentication failed"),
  /** Text unconfirmed for the real API. */
  authRequired: status("auth_required", "authentication required"),
  invalidJson: status("error", "Invalid JSON"),
  unknownAction: (action: string) => status("error", `unknown action: ${action}`),
  subscribed: (param: string) => status("success", `subscribed to: ${param}`),
  unsubscribed: (param: string) => status("success", `unsubscribed to: ${param}`),
  maxConnections: status(
    "max_connections",
    "Maximum number of websocket connections exceeded. You have reached the connection limit for your account. Please contact support at https://polygon.io/contact to increase your limit."
  ),
  /** Text unconfirmed for the real API. */
  slowConsumer: status("slow_consumer", "Slow consumer: the server-side buffer for this connection is full.")
} as const

export const frame = (...messages: ReadonlyArray<StatusMessage>): string => JSON.stringify(messages)
