#!/usr/bin/env node
/** The command line: composition only. Each subcommand gets just the layers it needs. */
import { Command, Options, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit, Layer, Option } from "effect"
import { describeFailure, exitCodeOf } from "./cli/errors.js"
import { BackfillLayer } from "./layers/Backfill.js"
import * as Sinks from "./layers/Sinks.js"
import { stopAllProgram, writeRunPidFile } from "./programs/stop.js"
import { CompactLoggerLayer } from "./lib/logger.js"
import { installStopGuard } from "./lib/stopGuard.js"
import { abandonedThreads, abandonedThreadsEnded, hardExit } from "./lib/threadExit.js"
import { backfillRunProgram } from "./programs/backfillRun.js"
import { printBackfillSummary } from "./programs/summary.js"
import { parseFeeds } from "./cli/parseFeeds.js"
import { clusterOptions } from "./cli/clusterOptions.js"
import { lazy } from "./cli/lazy.js"
import { configPath, settingsLayer } from "./cli/common.js"
import { simulate } from "./cli/simulateCommand.js"
import { report, verify } from "./cli/inspectCommands.js"

/** Real ms an exiting process waits for an abandoned sink worker's interrupted query (within the 15 s stop bound). */
const EXIT_WAIT_MS = 4_000

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
      ? lazy(
          () => import("./cli/cluster.js"),
          (m) => m.clusterBackfill(o, parseFeeds(o.feeds))
        ).pipe(Effect.provide(settingsLayer(o.config)))
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
  lazy(
    () => import("./programs/cluster/runner.js"),
    (m) => m.runnerProgram
  ).pipe(Effect.provide(settingsLayer(o.config)))
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
      lazy(
        () => import("./programs/consolidate.js"),
        (m) => m.consolidateProgram({ date: o.date, sink: Option.getOrUndefined(o.sink) })
      )
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
    lazy(
      () => import("./programs/liveRun.js"),
      (m) =>
        m.runLive({
          clockStart: Option.getOrUndefined(o.clockStart),
          clockSpeed: Option.getOrUndefined(o.clockSpeed),
          cluster: o.cluster
        })
    ).pipe(Effect.provide(settingsLayer(o.config)))
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
      onTrue: () =>
        lazy(
          () => import("./cli/cluster.js"),
          (m) => m.clusterStatus
        ),
      onFalse: () =>
        lazy(
          () => import("./programs/status.js"),
          (m) => Effect.asVoid(m.statusProgram({ check: o.check }))
        )
    }).pipe(Effect.provide(settingsLayer(o.config)))
)

const stop = Command.make("stop", { config: configPath }, (o) =>
  stopAllProgram.pipe(Effect.provide(settingsLayer(o.config)))
)

const demo = Command.make("demo", { config: configPath }, (o) =>
  lazy(
    () => import("./cli/demo.js"),
    (m) => m.demoProgram
  ).pipe(Effect.provide(settingsLayer(o.config)))
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
