/**
 * The HTTP implementation of PolygonRest. The key travels only in `Authorization: Bearer`;
 * `next_url` is followed only on the configured origin (so the key is never sent elsewhere);
 * failures are typed PolygonErrors whose messages never contain the key.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Duration, Effect, Layer, Redacted, Schema } from "effect"
import type { RetryPolicy } from "../config/Settings.js"
import { PolygonError, PolygonRest, type PolygonRestService, type QueryParams, type RawItem } from "./PolygonRest.js"
import { retrySchedule } from "./retryPolicy.js"

export interface PolygonRestOptions {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly retry: RetryPolicy
  readonly maxConcurrency: number
  readonly pageLimit: number
}

// The envelope only: items are validated one by one in src/domain/normalize.ts (so one bad item
// is quarantined instead of failing the page), hence `results` is checked to be an array here
// without walking its 50,000 elements a second time.
const Page = Schema.Struct({
  results: Schema.optional(Schema.NullOr(Schema.Unknown.pipe(Schema.filter(Array.isArray, { message: () => "results is not an array" })))),
  next_url: Schema.optional(Schema.String)
})
const decodePage = Schema.decodeUnknown(Page)

/** Only the last 4 characters of a secret may ever be shown. */
export const maskKey = (key: Redacted.Redacted<string>): string => `****${Redacted.value(key).slice(-4)}`

const reasonOf = (status: number): PolygonError["reason"] =>
  status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 404 ? "NotFound" : status === 429 ? "RateLimited" : status >= 500 ? "Server" : "Client"

export const make = (options: PolygonRestOptions) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const base = new URL(options.baseUrl)
    const semaphore = yield* Effect.makeSemaphore(Math.max(1, options.maxConcurrency))
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

    /** One GET, with timeout, typed errors and the retry policy. */
    const getJson = (url: URL): Effect.Effect<unknown, PolygonError> => {
      const path = url.pathname
      const once = http.execute(HttpClientRequest.get(url.toString()).pipe(HttpClientRequest.bearerToken(options.apiKey))).pipe(
        Effect.mapError((e) => new PolygonError({ reason: "Transport", message: scrub(e.message), path })),
        Effect.flatMap((response) =>
          response.status >= 200 && response.status < 300
            ? response.json.pipe(Effect.mapError(() => new PolygonError({ reason: "Decode", message: "response is not JSON", path })))
            : failFrom(path, response)
        ),
        Effect.scoped,
        Effect.timeoutFail({
          duration: Duration.millis(options.retry.requestTimeoutMs),
          onTimeout: () => new PolygonError({ reason: "Timeout", message: `no response within ${options.retry.requestTimeoutMs} ms`, path })
        }),
        semaphore.withPermits(1)
      )
      return once.pipe(Effect.retry(retrySchedule(options.retry)))
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
          const path: string = next.pathname
          const body: unknown = yield* getJson(next)
          const page: typeof Page.Type = yield* decodePage(body).pipe(
            Effect.mapError(() => new PolygonError({ reason: "Decode", message: "unexpected response envelope", path }))
          )
          for (const item of (page.results ?? []) as ReadonlyArray<RawItem>) items.push(item)
          next = undefined
          if (page.next_url) {
            const candidate: URL = new URL(page.next_url, base)
            if (candidate.origin !== base.origin) {
              return yield* new PolygonError({ reason: "Decode", message: `next_url leaves ${base.origin}; refusing to send the key there`, path })
            }
            next = candidate
          }
        }
        return items
      })

    const service: PolygonRestService = {
      aggs: (r) =>
        allPages(
          urlFor(
            `/v2/aggs/ticker/${encodeURIComponent(r.ticker)}/range/${r.multiplier ?? 1}/${r.timespan}/${r.from}/${r.to}`,
            { adjusted: "true", sort: "asc", limit: options.pageLimit }
          )
        ),
      contracts: (params) => allPages(urlFor("/v3/reference/options/contracts", { limit: 1000, ...params })),
      news: (params) => allPages(urlFor("/v2/reference/news", { limit: 1000, ...params })),
      holidays: () =>
        getJson(urlFor("/v1/marketstatus/upcoming")).pipe(
          Effect.flatMap((body) =>
            Array.isArray(body)
              ? Effect.succeed(body as ReadonlyArray<RawItem>)
              : Effect.fail(new PolygonError({ reason: "Decode", message: "holidays: expected an array", path: "/v1/marketstatus/upcoming" }))
          )
        ),
      marketStatus: () => getJson(urlFor("/v1/marketstatus/now")).pipe(Effect.map((body) => body as RawItem))
    }
    return service
  })

export const layer = (options: PolygonRestOptions): Layer.Layer<PolygonRest, never, HttpClient.HttpClient> =>
  Layer.effect(PolygonRest, make(options))
