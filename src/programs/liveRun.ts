/**
 * `node dist/main.js live`: the live program with every layer (layers/Live.ts), on the (possibly
 * simulated) clock, and at the end of the day the day's partitions into the sinks. With
 * `--clock-start/--clock-speed` (or `clock.start`/`clock.speed`) the whole run, layers included,
 * uses a simulated Effect Clock anchored in data/state/clock-anchor.json: a restart with the same
 * start and speed resumes it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Option } from "effect"
import { ClusterConfigError } from "../layers/Cluster.js"
import { feedDelayMs, type Settings } from "../config/Settings.js"
import { BUILTIN } from "../layers/Polygon.js"
import * as ClockAnchor from "../live/clockAnchor.js"
import { AppSettings } from "../services/AppSettings.js"
import * as MarketClock from "../services/MarketClock.js"
import { endpoints, liveLayer, statusEndpoints } from "../layers/Live.js"
import * as Sinks from "../layers/Sinks.js"
import { consolidateProgram } from "./consolidate.js"
import { type LiveOptions, liveProgram } from "./live.js"

/** `node dist/main.js live`: the program with every layer, on the (possibly simulated) clock. */
export const runLive = (options: LiveOptions = {}) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    if (options.cluster) yield* refuseClusterLive(settings)
    const start = options.clockStart ?? Option.getOrUndefined(settings.clock.start)
    const speed = options.clockSpeed ?? settings.clock.speed
    const clockStartMs = start === undefined ? undefined : MarketClock.parseClockStart(start)
    // A restart with the same --clock-start and speed resumes the first run's wall → simulated mapping (clockAnchor.ts).
    const startMs =
      clockStartMs === undefined ? undefined : yield* resumeClock(settings.storage.root, clockStartMs, speed)
    const run = Effect.scoped(
      Effect.gen(function* () {
        const ep = yield* endpoints(startMs, speed)
        const remote = options.cluster
          ? { simulatedSpeed: startMs === undefined ? undefined : speed, feedDelayMs: feedDelayMs(settings) }
          : undefined
        return yield* Effect.zipRight(statusEndpoints, liveProgram(options)).pipe(
          Effect.provide(liveLayer(ep, speed, remote))
        )
      })
    ).pipe(Effect.provide(FetchHttpClient.layer))
    const outcome = yield* startMs === undefined
      ? run
      : Effect.withClock(run, MarketClock.simulatedClock(startMs, speed))
    if (outcome._tag === "Streamed" && outcome.endOfDay) yield* loadDayIntoSinks(outcome.date)
    return outcome
  })

/** What `live --cluster` cannot do yet: a built-in simulator (one per process) and re-centring (changing subscriptions). */
const refuseClusterLive = (settings: Settings) => {
  const why =
    settings.polygon.wsUrl === BUILTIN
      ? "live --cluster needs polygon.ws_url (and rest_url) pointing at the API or at a `simulate` process that every runner reaches; the built-in simulator lives inside one process"
      : settings.underlyings.some((u) => u.recenter.enabled)
        ? "live --cluster does not re-centre yet: set recenter.enabled: false (options.recenter) or run live without --cluster"
        : undefined
  return why === undefined ? Effect.void : Effect.fail(new ClusterConfigError({ message: why }))
}

/** Where the simulated clock starts in this run (logged when it resumes an earlier run's anchor). */
const resumeClock = (root: string, clockStartMs: number, speed: number) =>
  Effect.map(
    Effect.tap(ClockAnchor.anchor(root, clockStartMs, speed), (r) =>
      r.resumed
        ? Effect.logInfo(
            `Simulated clock resumed: --clock-start ${new Date(clockStartMs).toISOString()} at ${speed}x was anchored at wall time ${new Date(r.anchor.wallStartMs).toISOString()}; simulated now ${new Date(r.nowMs).toISOString()}`
          )
        : Effect.void
    ),
    (r) => r.nowMs
  )

/**
 * The end of a live day: the day's partitions into every configured sink, then the
 * consolidated view. During the day LiveSinkLoader already loaded the durable files; this full,
 * checkpointed load makes each sink equal the day's lake.
 */
const loadDayIntoSinks = (date: string) =>
  Effect.gen(function* () {
    const { rows } = yield* consolidateProgram({ date })
    yield* Effect.logInfo(
      `End of day ${date}: sinks loaded, options_consolidated has ${rows.toLocaleString("en-US")} rows`
    )
  }).pipe(
    Effect.provide(Sinks.layer),
    Effect.catchAllCause((cause) =>
      Effect.logError(
        `End of day ${date}: loading the sinks failed (re-run: node dist/main.js consolidate --date ${date})`,
        cause
      )
    )
  )
