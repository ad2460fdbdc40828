#!/usr/bin/env node
/** The command line: composition only. Each subcommand gets just the layers it needs. */
import { Command, Options, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Option } from "effect"
import { describeFailure, exitCodeOf } from "./cli/errors.js"
import type { Feed } from "./domain/feeds.js"
import { BackfillLayer } from "./layers/Backfill.js"
import * as Logging from "./layers/Logging.js"
import * as Sinks from "./layers/Sinks.js"
import { consolidateProgram } from "./programs/consolidate.js"
import { statusProgram } from "./programs/status.js"
import { VERIFY_FEEDS, verifyProgram } from "./programs/verify.js"
import { reportProgram } from "./programs/report.js"
import { runLive } from "./programs/liveRun.js"
import { stopAllProgram, writeRunPidFile } from "./programs/stop.js"
import { CompactLoggerLayer } from "./lib/logger.js"
import { installStopGuard } from "./lib/stopGuard.js"
import { abandonedThreads, abandonedThreadsEnded, hardExit } from "./lib/threadExit.js"
import { backfillRunProgram } from "./programs/backfillRun.js"
import { clusterBackfill, clusterOptions, clusterStatus } from "./cli/cluster.js"
import { runnerProgram } from "./programs/cluster/runner.js"
import { printBackfillSummary } from "./programs/summary.js"
import { simulateProgram } from "./programs/simulate.js"
import { demoProgram } from "./cli/demo.js"
import { parseFeeds } from "./cli/parseFeeds.js"
import * as AppSettings from "./services/AppSettings.js"

/** Real ms an exiting process waits for an abandoned sink worker's interrupted query (within the 15 s stop bound). */
const EXIT_WAIT_MS = 4_000

const configPath = Options.file("config").pipe(
  Options.optional,
  Options.withDescription("settings YAML (default config/settings.yaml)")
)
/** Settings from the config file, with `logging.*` applied to the command's logs. */
const settingsLayer = (config: Option.Option<string>, overrides?: Record<string, unknown>) =>
  Logging.layer.pipe(Layer.provideMerge(AppSettings.layer({ configPath: Option.getOrUndefined(config), overrides })))

const backfill = Command.make(
  "backfill",
  {
    config: configPath,
    startDate: Options.text("start-date").pipe(Options.optional, Options.withDescription("first date, YYYY-MM-DD")),
    endDate: Options.text("end-date").pipe(Options.optional, Options.withDescription("last date, YYYY-MM-DD")),
    feeds: Options.text("feeds").pipe(Options.optional, Options.withDescription("comma list of spy,options,vix,news")),
    resume: Options.boolean("resume").pipe(
      Options.withDescription("finish units left incomplete by an earlier run; alone, the latest interrupted run")
    ),
    overwrite: Options.boolean("overwrite").pipe(
      Options.withDescription("re-fetch and atomically replace the date partitions")
    ),
    ...clusterOptions
  },
  (o) =>
    o.cluster
      ? clusterBackfill(o, parseFeeds(o.feeds)).pipe(Effect.provide(settingsLayer(o.config)))
      : // registered under state/run/ while it runs, so `stop` ends it too
        Effect.zipRight(
          writeRunPidFile("backfill"),
          backfillRunProgram({
            startDate: Option.getOrUndefined(o.startDate),
            endDate: Option.getOrUndefined(o.endDate),
            feeds: parseFeeds(o.feeds),
            resume: o.resume,
            overwrite: o.overwrite,
            interactive: process.stderr.isTTY === true
          })
        ).pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: printBackfillSummary })),
          Effect.scoped,
          Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer).pipe(Layer.provideMerge(settingsLayer(o.config))))
        )
)

const runner = Command.make("runner", { config: configPath }, (o) =>
  runnerProgram.pipe(Effect.provide(settingsLayer(o.config)))
)

const consolidate = Command.make(
  "consolidate",
  {
    config: configPath,
    date: Options.text("date").pipe(Options.withDescription("trading date, YYYY-MM-DD")),
    sink: Options.choice("sink", ["duckdb", "postgres", "mysql", "snowflake"]).pipe(Options.optional)
  },
  (o) =>
    Effect.zipRight(
      writeRunPidFile("consolidate"),
      consolidateProgram({ date: o.date, sink: Option.getOrUndefined(o.sink) })
    ).pipe(
      Effect.scoped,
      Effect.provide(
        Sinks.layer.pipe(
          Layer.provideMerge(
            settingsLayer(
              o.config,
              Option.match(o.sink, { onNone: () => undefined, onSome: (s) => ({ sinks: { enabled: [s] } }) })
            )
          )
        )
      )
    )
)

const live = Command.make(
  "live",
  {
    config: configPath,
    clockStart: Options.text("clock-start").pipe(
      Options.optional,
      Options.withDescription("run on a simulated clock from this ISO time")
    ),
    clockSpeed: Options.float("clock-speed").pipe(
      Options.optional,
      Options.withDescription("simulated clock speed (default 1)")
    ),
    cluster: Options.boolean("cluster").pipe(Options.withDescription("the cluster's runners stream the sockets"))
  },
  (o) =>
    runLive({
      clockStart: Option.getOrUndefined(o.clockStart),
      clockSpeed: Option.getOrUndefined(o.clockSpeed),
      cluster: o.cluster
    }).pipe(Effect.provide(settingsLayer(o.config)))
)

const status = Command.make(
  "status",
  {
    config: configPath,
    check: Options.boolean("check").pipe(
      Options.withDescription("exit 1 when a heartbeat is stale or an alert is open (for cron)")
    ),
    cluster: Options.boolean("cluster").pipe(Options.withDescription("the cluster's runners, shards and units"))
  },
  (o) =>
    Effect.if(o.cluster, {
      onTrue: () => clusterStatus,
      onFalse: () => Effect.asVoid(statusProgram({ check: o.check }))
    }).pipe(Effect.provide(settingsLayer(o.config)))
)

const stop = Command.make("stop", { config: configPath }, (o) =>
  stopAllProgram.pipe(Effect.provide(settingsLayer(o.config)))
)

const verify = Command.make(
  "verify",
  {
    config: configPath,
    date: Options.text("date").pipe(Options.withDescription("trading date, YYYY-MM-DD")),
    feeds: Options.text("feeds").pipe(
      Options.optional,
      Options.withDescription("comma list of spy,options,vix,news,contracts")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("the report as JSON")),
    lakeOnly: Options.boolean("lake-only").pipe(
      Options.withDescription("do not compare the enabled sinks with the lake")
    )
  },
  (o) =>
    verifyProgram({ date: o.date, feeds: parseVerifyFeeds(o.feeds), json: o.json, lakeOnly: o.lakeOnly }).pipe(
      Effect.asVoid,
      Effect.provide(settingsLayer(o.config))
    )
)

const report = Command.make(
  "report",
  {
    config: configPath,
    date: Options.text("date").pipe(Options.withDescription("trading date, YYYY-MM-DD")),
    out: Options.text("out").pipe(
      Options.optional,
      Options.withDescription("the HTML file (default data/reports/DATE.html); PNGs go beside it")
    )
  },
  (o) =>
    reportProgram({ date: o.date, out: Option.getOrUndefined(o.out) }).pipe(
      Effect.asVoid,
      Effect.provide(settingsLayer(o.config))
    )
)

const parseVerifyFeeds = (s: Option.Option<string>): ReadonlyArray<Feed> | undefined =>
  Option.match(s, {
    onNone: () => undefined,
    onSome: (text) =>
      text.split(",").map((f) => {
        const feed = f.trim() as Feed
        if (!VERIFY_FEEDS.includes(feed)) throw new Error(`unknown feed ${feed} (${VERIFY_FEEDS.join(", ")})`)
        return feed
      })
  })

const simulate = Command.make(
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
    simulateProgram({
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
    }).pipe(Effect.provide(settingsLayer(o.config)))
)

const demo = Command.make("demo", { config: configPath }, (o) =>
  demoProgram.pipe(Effect.provide(settingsLayer(o.config)))
)

const root = Command.make("spy-options").pipe(
  Command.withSubcommands([backfill, runner, simulate, live, stop, status, verify, report, consolidate, demo])
)

const cli = Command.run(root, { name: "SPY Options Intelligence Platform", version: "0.1.0" })

// Bounded stop: logs the first SIGINT/SIGTERM (runMain interrupts the main fiber), exits at once on a second, exits 1 after a 12 s watchdog.
const stopGuard = installStopGuard()

cli(process.argv).pipe(
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Option.match(Cause.failureOption(cause), {
          onNone: () => Console.error(`Error: ${Cause.pretty(cause)}`),
          // @effect/cli has already printed its own usage message for validation errors
          onSome: (e) =>
            ValidationError.isValidationError(e) ? Effect.void : Console.error(`Error: ${describeFailure(e)}`)
        })
  ),
  Effect.provide(Layer.mergeAll(NodeContext.layer, CompactLoggerLayer)),
  (effect) =>
    NodeRuntime.runMain(effect, {
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => {
        const stopped = stopGuard.stoppedLine()
        if (stopped !== undefined) process.stderr.write(`${new Date().toISOString()} WARN  ${stopped}\n`)
        stopGuard.uninstall()
        const code = exitCodeOf(exit as Exit.Exit<unknown, unknown>)
        // an abandoned worker thread would make a normal exit wait for it forever: its interrupted
        // query gets a few more seconds to end (a loaded machine), then the process ends by SIGKILL
        if (abandonedThreads().length > 0)
          void abandonedThreadsEnded(EXIT_WAIT_MS).then(() =>
            abandonedThreads().length > 0
              ? hardExit(code, (text) => process.stderr.write(`${new Date().toISOString()} WARN  ${text}\n`))
              : onExit(code)
          )
        else onExit(code)
      }
    })
)
