/** API key check: `?apiKey=` or `Authorization: Bearer` (polygon-wire.md §2). */
import type * as http from "node:http"

export type AuthFailure = "API Key was not provided" | "Unknown API Key"

/** The failure message, or undefined when the key is accepted (any non-empty key if none is configured). */
export const checkApiKey = (
  req: http.IncomingMessage,
  query: URLSearchParams,
  expected: string | undefined
): AuthFailure | undefined => {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim()
  const key = query.get("apiKey") || bearer
  if (!key) return "API Key was not provided"
  if (expected !== undefined && key !== expected) return "Unknown API Key"
  return undefined
}
