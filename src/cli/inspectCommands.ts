/** `verify` and `report`: looking at a stored day; their programs are loaded only when they run. */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import type { Feed } from "../domain/feeds.js"
import { configPath, settingsLayer } from "./common.js"
import { lazy } from "./lazy.js"

export const verify = Command.make(
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
    lazy(
      () => import("../programs/verify.js"),
      (m) =>
        m.verifyProgram({
          date: o.date,
          feeds: parseVerifyFeeds(o.feeds, m.VERIFY_FEEDS),
          json: o.json,
          lakeOnly: o.lakeOnly
        })
    ).pipe(Effect.asVoid, Effect.provide(settingsLayer(o.config)))
)

export const report = Command.make(
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
    lazy(
      () => import("../programs/report.js"),
      (m) => m.reportProgram({ date: o.date, out: Option.getOrUndefined(o.out) })
    ).pipe(Effect.asVoid, Effect.provide(settingsLayer(o.config)))
)

const parseVerifyFeeds = (s: Option.Option<string>, known: ReadonlyArray<Feed>): ReadonlyArray<Feed> | undefined =>
  Option.match(s, {
    onNone: () => undefined,
    onSome: (text) =>
      text.split(",").map((f) => {
        const feed = f.trim() as Feed
        if (!known.includes(feed)) throw new Error(`unknown feed ${feed} (${known.join(", ")})`)
        return feed
      })
  })
