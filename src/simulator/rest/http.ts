/** The REST layer's request/response values and the API's error bodies (polygon-wire.md §4). */
import type { SimClock } from "../SimClock.js"
import type { MarketData } from "../MarketData.js"
import type { DriftKind, DriftKnobs } from "./faults.js"

export interface ApiRequest {
  /** Percent-decoded, non-empty path segments. */
  readonly segments: ReadonlyArray<string>
  readonly query: URLSearchParams
  /** `http://HOST` from the request's Host header, for absolute `next_url`s. */
  readonly origin: string
  readonly requestId: string
}

export interface ApiResponse {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** The body already serialized (chunks sent in order, UTF-8 JSON); when present, `body` is not used. */
  readonly json?: ReadonlyArray<Uint8Array>
}

export interface RestContext {
  readonly market: MarketData
  readonly clock: SimClock
  readonly drift: (kind: DriftKind) => DriftKnobs | undefined
  /**
   * The plan's delay (`--delay-s`, ms; 0 = real time, no cut): aggregates serve only bars whose
   * end is at or before simulated now − delay (see delayCut.ts).
   */
  readonly delayMs?: number | undefined
}

export type Handler = (req: ApiRequest, ctx: RestContext) => ApiResponse

export const ok = (body: unknown): ApiResponse => ({ status: 200, body })

/** 200 with a body given as JSON text chunks (strings are UTF-8 encoded). */
export const okJson = (chunks: ReadonlyArray<Uint8Array | string>): ApiResponse => ({
  status: 200,
  body: undefined,
  json: chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "utf8") : c))
})

export const errorResponse = (
  status: number,
  requestId: string,
  error: string,
  headers?: Record<string, string>
): ApiResponse => ({
  status,
  body: { status: "ERROR", request_id: requestId, error },
  ...(headers ? { headers } : {})
})

export const badRequest = (requestId: string, error: string): ApiResponse => errorResponse(400, requestId, error)

export const notFound = (requestId: string, message: string): ApiResponse => ({
  status: 404,
  body: { status: "NOT_FOUND", request_id: requestId, message }
})

export const RATE_LIMIT_MESSAGE =
  "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://polygon.io/pricing"
