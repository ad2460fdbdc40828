/**
 * The HTTP implementation of PolygonRest. The key travels only in `Authorization: Bearer`;
 * `next_url` is followed only on the configured origin (so the key is never sent elsewhere);
 * failures are typed PolygonErrors whose messages never contain the key.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Duration, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import type { RetryPolicy } from "../../config/Settings.js"
import { AggColumnsBuilder, type AggShape, decodeAggPage } from "../../domain/aggColumns.js"
import {
  type AggsRequest,
  type ColumnarAggs,
  PolygonError,
  PolygonRest,
  type PolygonRestService,
  type QueryParams,
  type RawItem
} from "./PolygonRest.js"
import { pacer } from "./pacer.js"
import { retrySchedule } from "./retryPolicy.js"

export interface PolygonRestOptions {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly retry: RetryPolicy
  readonly maxConcurrency: number
  readonly pageLimit: number
  /** The plan's limit (requests per rolling window, 0 = unlimited) and its window (60 s; shorter in tests). */
  readonly requestsPerMinute?: number
  readonly rateWindowMs?: number
  /** Told of each REST attempt that failed to connect or timed out (with the run's length so far), and of the success that ends a run. */
  readonly connectionFailures?: {
    readonly failed: (consecutive: number, last: PolygonError) => Effect.Effect<void>
    readonly recovered: Effect.Effect<void>
  }
}

const isConnectionFailure = (e: PolygonError) => e.reason === "Transport" || e.reason === "Timeout"

/** A 429 without `Retry-After` under a paced plan: the window, not the request, is the problem. */
const isUnpacedRateLimit = (e: PolygonError) => e.reason === "RateLimited" && e.retryAfterMs === undefined
/** At most this many window waits per request before a 429 counts as an attempt again. */
const MAX_WINDOW_WAITS = 10

// The envelope only: items are validated one by one in src/domain/normalize.ts (so one bad item
// is quarantined instead of failing the page), hence `results` is checked to be an array here
// without walking its 50,000 elements a second time.
const Page = Schema.Struct({
  results: Schema.optional(
    Schema.NullOr(Schema.Unknown.pipe(Schema.filter(Array.isArray, { message: () => "results is not an array" })))
  ),
  next_url: Schema.optional(Schema.String)
})
const decodePage = Schema.decodeUnknown(Page)
const utf8 = new TextDecoder()

/** Only the last 4 characters of a secret may ever be shown. */
export const maskKey = (key: Redacted.Redacted<string>): string => `****${Redacted.value(key).slice(-4)}`

const reasonOf = (status: number): PolygonError["reason"] =>
  status === 401
    ? "Unauthorized"
    : status === 403
      ? "Forbidden"
      : status === 404
        ? "NotFound"
        : status === 429
          ? "RateLimited"
          : status >= 500
            ? "Server"
            : "Client"

export const make = (options: PolygonRestOptions) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const base = new URL(options.baseUrl)
    const semaphore = yield* Effect.makeSemaphore(Math.max(1, options.maxConcurrency))
    const windowMs = options.rateWindowMs ?? 60_000
    let consecutiveFailures = 0
    const countConnectionFailures = <A>(attempt: Effect.Effect<A, PolygonError>): Effect.Effect<A, PolygonError> => {
      const hooks = options.connectionFailures
      if (hooks === undefined) return attempt
      return attempt.pipe(
        Effect.tapBoth({
          onFailure: (e) =>
            isConnectionFailure(e) ? Effect.suspend(() => hooks.failed(++consecutiveFailures, e)) : Effect.void,
          onSuccess: () =>
            consecutiveFailures === 0 ? Effect.void : Effect.suspend(() => ((consecutiveFailures = 0), hooks.recovered))
        })
      )
    }
    const paced = yield* pacer(options.requestsPerMinute ?? 0, windowMs)
    const secret = Redacted.value(options.apiKey)
    const scrub = (text: string) => (secret.length > 0 ? text.split(secret).join(maskKey(options.apiKey)) : text)

    const failFrom = (path: string, response: HttpClientResponse.HttpClientResponse) =>
      response.text.pipe(
        Effect.orElseSucceed(() => ""),
        Effect.flatMap((text) => {
          let message = text.slice(0, 300)
          try {
            const body = JSON.parse(text) as { error?: string; message?: string }
            message = body.error ?? body.message ?? message
          } catch {
            // not JSON (a gateway page): keep the raw excerpt
          }
          const retryAfterS = Number(response.headers["retry-after"])
          return Effect.fail(
            new PolygonError({
              reason: reasonOf(response.status),
              status: response.status,
              message: scrub(message || `HTTP ${response.status}`),
              path,
              retryAfterMs: Number.isFinite(retryAfterS) ? retryAfterS * 1000 : undefined
            })
          )
        })
      )

    /** One GET, with timeout, typed errors and the retry policy: the 2xx body's bytes. */
    const getBytes = (url: URL): Effect.Effect<Uint8Array, PolygonError> => {
      const path = url.pathname
      const once = http
        .execute(HttpClientRequest.get(url.toString()).pipe(HttpClientRequest.bearerToken(options.apiKey)))
        .pipe(
          Effect.mapError((e) => new PolygonError({ reason: "Transport", message: scrub(e.message), path })),
          Effect.flatMap((response) =>
            response.status >= 200 && response.status < 300
              ? response.arrayBuffer.pipe(
                  Effect.map((buffer) => new Uint8Array(buffer)),
                  Effect.mapError(() => new PolygonError({ reason: "Decode", message: "response is not JSON", path }))
                )
              : failFrom(path, response)
          ),
          Effect.scoped,
          Effect.timeoutFail({
            duration: Duration.millis(options.retry.requestTimeoutMs),
            onTimeout: () =>
              new PolygonError({
                reason: "Timeout",
                message: `no response within ${options.retry.requestTimeoutMs} ms`,
                path
              })
          }),
          (request) => Option.match(paced, { onNone: () => request, onSome: (limiter) => limiter(request) }),
          semaphore.withPermits(1),
          countConnectionFailures
        )
      const windowWaits = Option.isNone(paced)
        ? once
        : once.pipe(
            Effect.retry({
              schedule: Schedule.spaced(Duration.millis(windowMs)).pipe(
                Schedule.intersect(Schedule.recurs(MAX_WINDOW_WAITS)),
                Schedule.tapOutput(() =>
                  Effect.logWarning(
                    `${path}: 429 without Retry-After; waiting ${windowMs} ms for the rate window (not counted as an attempt)`
                  )
                )
              ),
              while: (e: PolygonError) => isUnpacedRateLimit(e)
            })
          )
      return windowWaits.pipe(Effect.retry(retrySchedule(options.retry)))
    }

    const parseJson = (bytes: Uint8Array, path: string): Effect.Effect<unknown, PolygonError> =>
      Effect.try({
        try: () => JSON.parse(utf8.decode(bytes)) as unknown,
        catch: () => new PolygonError({ reason: "Decode", message: "response is not JSON", path })
      })

    const getJson = (url: URL): Effect.Effect<unknown, PolygonError> =>
      getBytes(url).pipe(Effect.flatMap((bytes) => parseJson(bytes, url.pathname)))

    /** A list page's envelope (`results`, `next_url`), checked. */
    const pageOf = (bytes: Uint8Array, path: string): Effect.Effect<typeof Page.Type, PolygonError> =>
      parseJson(bytes, path).pipe(
        Effect.flatMap(decodePage),
        Effect.mapError((e) =>
          e._tag === "PolygonError"
            ? e
            : new PolygonError({ reason: "Decode", message: "unexpected response envelope", path })
        )
      )

    /** The next page to fetch: `next_url` only on our own origin (the key goes nowhere else). */
    const nextPage = (nextUrl: string | undefined, path: string): Effect.Effect<URL | undefined, PolygonError> => {
      if (!nextUrl) return Effect.succeed(undefined)
      const candidate = new URL(nextUrl, base)
      return candidate.origin === base.origin
        ? Effect.succeed(candidate)
        : Effect.fail(
            new PolygonError({
              reason: "Decode",
              message: `next_url leaves ${base.origin}; refusing to send the key there`,
              path
            })
          )
    }

    const urlFor = (path: string, params: QueryParams = {}) => {
      const url = new URL(path, base)
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v))
      return url
    }

    /** Follow `next_url` pages on our own origin, collecting `results`. */
    const allPages = (first: URL): Effect.Effect<ReadonlyArray<RawItem>, PolygonError> =>
      Effect.gen(function* () {
        const items: Array<RawItem> = []
        let next: URL | undefined = first
        while (next !== undefined) {
          const page: typeof Page.Type = yield* pageOf(yield* getBytes(next), next.pathname)
          for (const item of (page.results ?? []) as ReadonlyArray<RawItem>) items.push(item)
          next = yield* nextPage(page.next_url, next.pathname)
        }
        return items
      })

    const aggsUrl = (r: AggsRequest) =>
      urlFor(
        `/v2/aggs/ticker/${encodeURIComponent(r.ticker)}/range/${r.multiplier ?? 1}/${r.timespan}/${r.from}/${r.to}`,
        {
          adjusted: "true",
          sort: "asc",
          limit: options.pageLimit
        }
      )

    /**
     * `aggs` decoded into columns while every page is clean; at the first page that is not, the
     * pages so far are parsed again as JSON and the rest are read item by item, as `aggs` does.
     */
    const aggsColumnar = (r: AggsRequest, shape: AggShape): Effect.Effect<ColumnarAggs, PolygonError> =>
      Effect.gen(function* () {
        const into = new AggColumnsBuilder(shape)
        const decoded: Array<readonly [Uint8Array, string]> = []
        let items: Array<RawItem> | undefined
        let next: URL | undefined = aggsUrl(r)
        while (next !== undefined) {
          const path: string = next.pathname
          const bytes: Uint8Array = yield* getBytes(next)
          const fast: { readonly nextUrl: string | undefined } | undefined =
            items === undefined ? decodeAggPage(bytes, into) : undefined
          if (fast !== undefined) {
            decoded.push([bytes, path])
            next = yield* nextPage(fast.nextUrl, path)
            continue
          }
          if (items === undefined) {
            items = []
            for (const [earlier, p] of decoded)
              for (const item of ((yield* pageOf(earlier, p)).results ?? []) as ReadonlyArray<RawItem>) items.push(item)
          }
          const page: typeof Page.Type = yield* pageOf(bytes, path)
          for (const item of (page.results ?? []) as ReadonlyArray<RawItem>) items.push(item)
          next = yield* nextPage(page.next_url, path)
        }
        return items === undefined ? { _tag: "Columns", columns: into.finish() } : { _tag: "Items", items }
      })

    const service: PolygonRestService = {
      aggs: (r) => allPages(aggsUrl(r)),
      aggsColumnar,
      contracts: (params) => allPages(urlFor("/v3/reference/options/contracts", { limit: 1000, ...params })),
      news: (params) => allPages(urlFor("/v2/reference/news", { limit: 1000, ...params })),
      holidays: () =>
        getJson(urlFor("/v1/marketstatus/upcoming")).pipe(
          Effect.flatMap((body) =>
            Array.isArray(body)
              ? Effect.succeed(body as ReadonlyArray<RawItem>)
              : Effect.fail(
                  new PolygonError({
                    reason: "Decode",
                    message: "holidays: expected an array",
                    path: "/v1/marketstatus/upcoming"
                  })
                )
          )
        ),
      marketStatus: () => getJson(urlFor("/v1/marketstatus/now")).pipe(Effect.map((body) => body as RawItem))
    }
    return service
  })

export const layer = (options: PolygonRestOptions): Layer.Layer<PolygonRest, never, HttpClient.HttpClient> =>
  Layer.scoped(PolygonRest, make(options))
