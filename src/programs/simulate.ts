/** `simulate`: serve the Polygon REST and WebSocket protocol on 127.0.0.1 until stopped. */
import { Effect } from "effect"
import { simulatorDelayS } from "../config/Settings.js"
import { AppSettings } from "../services/AppSettings.js"
import { makeLakeMarket } from "../simulator/lake/LakeMarket.js"
import { parseSpeed, makeSimClock } from "../simulator/SimClock.js"
import { simulatorResource } from "../simulator/server.js"

export interface SimulateOptions {
  readonly port: number
  readonly seed?: number | undefined
  readonly start?: string | undefined
  readonly speed?: string | undefined
  readonly source?: string | undefined
  readonly apiKey?: string | undefined
  readonly faults?: string | undefined
  /** Requests per rolling minute (0 = unlimited); default `simulator.rate_limit`. */
  readonly rateLimit?: number | undefined
  /** Pre-market/after-hours REST bars; default `simulator.extended_hours` (true). */
  readonly extendedHours?: boolean | undefined
  /** The plan's delay in seconds (900 for the delayed plans); default `simulator.delay_s` (0). */
  readonly delayS?: number | undefined
}

export const simulateProgram = (o: SimulateOptions) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const seed = o.seed ?? settings.simulator.seed
    const startMs = o.start === undefined ? undefined : Date.parse(o.start)
    if (startMs !== undefined && Number.isNaN(startMs))
      return yield* Effect.fail(new Error(`--start is not an ISO time: ${o.start}`))
    const clock = makeSimClock({ startMs, speed: parseSpeed(o.speed) })
    const market =
      o.source === undefined
        ? undefined
        : o.source.startsWith("lake:")
          ? yield* Effect.promise(() => makeLakeMarket(o.source!.slice("lake:".length)))
          : yield* Effect.fail(new Error(`--source must be lake:PATH, got ${o.source}`))
    const faults = o.faults === undefined ? undefined : (JSON.parse(o.faults) as Record<string, unknown>)
    const rateLimit = { limit: o.rateLimit ?? settings.simulator.rateLimit }
    const extendedHours = o.extendedHours ?? settings.simulator.extendedHours
    const delayS = o.delayS ?? simulatorDelayS(settings)
    if (!Number.isFinite(delayS) || delayS < 0)
      return yield* Effect.fail(new Error(`--delay-s must be a number of seconds >= 0, got ${delayS}`))
    const sim = yield* simulatorResource({
      port: o.port,
      seed,
      clock,
      apiKey: o.apiKey,
      market,
      faults,
      rateLimit,
      extendedHours,
      delayS
    })
    yield* Effect.logInfo(
      `Polygon simulator listening on ${sim.url} (REST) and ${sim.wsUrl}/{stocks,options,indices} (WebSocket); seed ${seed}, ` +
        `${o.source ?? "synthetic market"}, clock ${o.start ?? "real time"} x${o.speed ?? 1}` +
        `, ${extendedHours ? "extended hours (04:00-20:00 ET REST bars)" : "regular session only"}` +
        `${rateLimit.limit > 0 ? `, ${rateLimit.limit} REST requests per rolling minute` : ""}` +
        `${delayS > 0 ? `, delayed by ${delayS} s (WebSocket and today's REST aggregates)` : ""}. Ctrl-C to stop.`
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
