/**
 * PolygonRest from Settings: the real API with the key from POLYGON_API_KEY / MASSIVE_API_KEY,
 * or, when `polygon.rest_url` is `builtin`, the simulator started in-process on a free loopback
 * port for the life of the layer.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Data, Effect, Layer, Option, Redacted } from "effect"
import { apiKeyOf, simulatorDelayS } from "../config/Settings.js"
import { AppSettings } from "../services/AppSettings.js"
import { Alerts, type AlertsService } from "../services/observability/Alerts.js"
import { type PolygonError, PolygonRest } from "../services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../services/polygon/PolygonRestLive.js"
import { simulatorResource } from "../simulator/server.js"

export class MissingApiKey extends Data.TaggedError("MissingApiKey")<{ readonly message: string }> {}

export const BUILTIN = "builtin"
/** The key the in-process simulator is started with (it is not a secret). */
export const BUILTIN_KEY = "builtin-simulator"

/** Where REST goes and with which key, resolved once. */
export const restEndpoint = Effect.gen(function* () {
  const settings = yield* AppSettings
  if (settings.polygon.restUrl === BUILTIN) {
    const sim = yield* simulatorResource({
      port: 0,
      seed: settings.simulator.seed,
      apiKey: BUILTIN_KEY,
      rateLimit: { limit: settings.simulator.rateLimit },
      extendedHours: settings.simulator.extendedHours,
      delayS: simulatorDelayS(settings)
    })
    yield* Effect.logInfo(`Started the built-in Polygon simulator at ${sim.url} (seed ${settings.simulator.seed})`)
    return { baseUrl: sim.url, apiKey: Redacted.make(BUILTIN_KEY) }
  }
  const key = apiKeyOf(settings)
  if (Option.isNone(key)) {
    return yield* new MissingApiKey({
      message: `polygon.rest_url is ${settings.polygon.restUrl} but no API key is set: export POLYGON_API_KEY (or MASSIVE_API_KEY) or put it in .env`
    })
  }
  yield* Effect.logInfo(
    `Using ${settings.polygon.restUrl} with the key from ${key.value.variable} (${PolygonRestLive.maskKey(key.value.key)})`
  )
  return { baseUrl: settings.polygon.restUrl, apiKey: key.value.key }
})

/** More than `alerts.max_consecutive_connection_failures` REST attempts in a row that could not connect: a `connection_failures` alert, resolved by the next success. */
export const restConnectionAlerts = (alerts: AlertsService, max: number) => ({
  failed: (consecutive: number, last: PolygonError) =>
    consecutive > max
      ? Effect.asVoid(
          alerts.raise(
            "connection_failures",
            `REST: ${consecutive} consecutive connection failures (last: ${last.message})`,
            { source: "rest", failures: consecutive, max }
          )
        )
      : Effect.void,
  recovered: Effect.asVoid(alerts.resolve("connection_failures", "rest"))
})

export const PolygonRestFromSettings: Layer.Layer<PolygonRest, MissingApiKey, AppSettings | Alerts> = Layer.scoped(
  PolygonRest,
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const endpoint = yield* restEndpoint
    return yield* PolygonRestLive.make({
      ...endpoint,
      connectionFailures: restConnectionAlerts(yield* Alerts, settings.alerts.maxConsecutiveConnectionFailures),
      retry: settings.retry,
      maxConcurrency: settings.polygon.maxConcurrency,
      requestsPerMinute: settings.polygon.requestsPerMinute,
      pageLimit: settings.polygon.pageLimit
    })
  })
).pipe(Layer.provide(FetchHttpClient.layer))
