/**
 * PolygonRest: the Polygon/Massive REST API (or the simulator) as a service.
 * Returns raw result items (all pages followed); decoding into lake rows happens in
 * src/domain/normalize.ts so drift and quarantine are decided in one place.
 */
import { Context, Data, type Effect } from "effect"
import type { AggColumns, AggShape } from "../../domain/aggColumns.js"

export type PolygonErrorReason =
  | "Unauthorized" // 401: bad or missing key, fail fast
  | "Forbidden" // 403: plan does not include this data, fail fast
  | "NotFound"
  | "RateLimited" // 429, retried honouring Retry-After
  | "Server" // 5xx, retried
  | "Timeout" // retried
  | "Transport" // connection refused/reset, retried
  | "Decode" // body is not the JSON envelope we expect
  | "Client" // other 4xx

export class PolygonError extends Data.TaggedError("PolygonError")<{
  readonly reason: PolygonErrorReason
  readonly status?: number | undefined
  /** The server's own message (body `error` or `message`), never containing the key. */
  readonly message: string
  /** Request path without query string (no key can be in it). */
  readonly path: string
  readonly retryAfterMs?: number | undefined
}> {}

export type RawItem = Readonly<Record<string, unknown>>

export interface AggsRequest {
  readonly ticker: string
  readonly timespan: "second" | "minute" | "hour" | "day"
  readonly multiplier?: number
  /** YYYY-MM-DD or epoch ms */
  readonly from: string | number
  readonly to: string | number
}

/**
 * Aggregates decoded straight into columns when every item of every page has the clean shape
 * (src/domain/aggColumns.ts), else the raw items exactly as `aggs` returns them.
 */
export type ColumnarAggs =
  | { readonly _tag: "Columns"; readonly columns: AggColumns }
  | { readonly _tag: "Items"; readonly items: ReadonlyArray<RawItem> }

export type QueryParams = Readonly<Record<string, string | number | boolean>>

export interface PolygonRestService {
  /** Every aggregate in [from, to], all pages followed, ascending by `t`. */
  readonly aggs: (request: AggsRequest) => Effect.Effect<ReadonlyArray<RawItem>, PolygonError>
  /**
   * Optional fast path of `aggs` for bulk loads: same requests, same errors and retries, no
   * object per bar. Callers fall back to `aggs` when an implementation does not offer it.
   */
  readonly aggsColumnar?: (request: AggsRequest, shape: AggShape) => Effect.Effect<ColumnarAggs, PolygonError>
  /** `/v3/reference/options/contracts` with the given filters, all pages. */
  readonly contracts: (params: QueryParams) => Effect.Effect<ReadonlyArray<RawItem>, PolygonError>
  /** `/v2/reference/news` with the given filters (e.g. `ticker`, `published_utc.gte`), all pages. */
  readonly news: (params: QueryParams) => Effect.Effect<ReadonlyArray<RawItem>, PolygonError>
  /** `/v1/marketstatus/upcoming` */
  readonly holidays: () => Effect.Effect<ReadonlyArray<RawItem>, PolygonError>
  /** `/v1/marketstatus/now` */
  readonly marketStatus: () => Effect.Effect<RawItem, PolygonError>
}

export class PolygonRest extends Context.Tag("spy/PolygonRest")<PolygonRest, PolygonRestService>() {}
