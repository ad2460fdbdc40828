/** `simulate`: the Polygon simulator as a server (src/programs/simulate.ts), loaded only when this command runs. */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { configPath, settingsLayer } from "./common.js"
import { lazy } from "./lazy.js"

export const simulate = Command.make(
  "simulate",
  {
    config: configPath,
    port: Options.integer("port").pipe(Options.withDefault(8765)),
    seed: Options.integer("seed").pipe(Options.optional),
    start: Options.text("start").pipe(
      Options.optional,
      Options.withDescription("simulated start time, ISO 8601 with offset")
    ),
    speed: Options.text("speed").pipe(Options.withDefault("1"), Options.withDescription("1, 10, 60, … or max")),
    source: Options.text("source").pipe(
      Options.optional,
      Options.withDescription("lake:PATH to replay a recorded lake")
    ),
    apiKey: Options.text("api-key").pipe(
      Options.optional,
      Options.withDescription("accept only this key (default: any non-empty key)")
    ),
    faults: Options.text("faults").pipe(
      Options.optional,
      Options.withDescription('JSON fault knobs, e.g. {"rate5xx":0.1}')
    ),
    rateLimit: Options.integer("rate-limit").pipe(
      Options.optional,
      Options.withDescription("REST requests per rolling minute, 429 beyond (the plan's limit; 0 = unlimited)")
    ),
    extendedHours: Options.choice("extended-hours", ["true", "false"]).pipe(
      Options.optional,
      Options.withDescription(
        "REST bars 04:00-20:00 ET as the real API (default simulator.extended_hours: true); false = 09:30-16:00 only"
      )
    ),
    delayS: Options.integer("delay-s").pipe(
      Options.optional,
      Options.withDescription(
        "a delayed plan: WebSocket bars sent, and today's REST bars served, this many seconds after they end (900 for the 15-minute plans; default simulator.delay_s: 0)"
      )
    )
  },
  (o) =>
    lazy(
      () => import("../programs/simulate.js"),
      (m) =>
        m.simulateProgram({
          port: o.port,
          seed: Option.getOrUndefined(o.seed),
          start: Option.getOrUndefined(o.start),
          speed: o.speed,
          source: Option.getOrUndefined(o.source),
          apiKey: Option.getOrUndefined(o.apiKey),
          faults: Option.getOrUndefined(o.faults),
          rateLimit: Option.getOrUndefined(o.rateLimit),
          extendedHours: Option.getOrUndefined(Option.map(o.extendedHours, (v) => v === "true")),
          delayS: Option.getOrUndefined(o.delayS)
        })
    ).pipe(Effect.provide(settingsLayer(o.config)))
)
