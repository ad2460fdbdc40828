/**
 * One API request end to end, minus the socket: route → auth → plan rate limit → injected fault → handler.
 * Unknown routes answer 404 before auth; faults hit only authenticated requests on known routes.
 */
import type * as http from "node:http"
import { checkApiKey } from "./auth.js"
import { faultFor, type RestFaults } from "./faults.js"
import { type ApiResponse, errorResponse, notFound, RATE_LIMIT_MESSAGE, type RestContext } from "./http.js"
import { findHandler, type Target } from "./router.js"

export interface RespondInput {
  readonly req: http.IncomingMessage
  readonly target: Target
  readonly requestNumber: number
  readonly requestId: string
  readonly origin: string
  readonly seed: number
  readonly apiKey: string | undefined
  readonly faults: RestFaults
  readonly ctx: RestContext
  /** The plan's request limit (see rateLimit.ts): false = over it. */
  readonly admit: () => boolean
}

export const respond = (input: RespondInput): ApiResponse => {
  const { req, target, requestId } = input
  const handler = req.method === "GET" || req.method === "HEAD" ? findHandler(target.segments) : undefined
  if (handler === undefined) return notFound(requestId, "The requested resource was not found.")
  const authFailure = checkApiKey(req, target.query, input.apiKey)
  if (authFailure !== undefined) return errorResponse(401, requestId, authFailure)
  if (!input.admit()) return errorResponse(429, requestId, RATE_LIMIT_MESSAGE)
  const fault = faultFor(input.seed, input.requestNumber, input.faults)
  if (fault._tag === "ServerError") return errorResponse(fault.status, requestId, "Internal server error")
  if (fault._tag === "RateLimited")
    return errorResponse(429, requestId, RATE_LIMIT_MESSAGE, { "Retry-After": String(input.faults.retryAfterS) })
  try {
    return handler({ segments: target.segments, query: target.query, origin: input.origin, requestId }, input.ctx)
  } catch (error) {
    console.error(`simulator: ${req.url} failed`, error)
    return errorResponse(500, requestId, "Internal server error")
  }
}
