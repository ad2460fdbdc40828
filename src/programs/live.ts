/**
 * `live`: stream SPY (`A.SPY` on /stocks), VIX (`A.I:VIX` on /indices) and the day's SPY options
 * (`A.O:…`/`AM.O:…` on /options, sharded by `live.max_subscriptions_per_connection`) during
 * market hours, plus news by REST polling. Frames → journal → LiveWriter → Parquet + checkpoint.
 * Outside market hours (more than `live.pre_open_s` before the open) it logs "Market closed - streaming
 * inactive" and the next open, and returns without opening a socket. It stops `live.shutdown_before_close_s` before the close, on interruption
 * (SIGINT/SIGTERM/`stop`), or fails fast on `auth_failed`; every stop drains the journal, commits,
 * checkpoints, so `live` again resumes where it stopped. With a LiveSinkLoader in the
 * environment, the day's durable lake files are also loaded into the sinks during the session.
 */
import { Effect, FiberMap } from "effect"
import { checkConnectionPlan } from "../config/checks.js"
import { feedDelayMs } from "../config/Settings.js"
import { holidayIndex } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { type ChosenSet, otherUnderlying } from "../live/contracts/sessionSets.js"
import { streamOptions } from "../live/contracts/optionStreams.js"
import { subscribedAtClose } from "../live/writer/dayTail.js"
import * as Journal from "../live/journal/Journal.js"
import * as LiveWriter from "../live/writer/LiveWriter.js"
import { pruneJournals } from "../live/journal/journalRetention.js"
import { pollNews } from "../live/news/NewsPoller.js"
import { type ConnectionSpec, connectionsFor } from "../live/socket/sharding.js"
import { makeSpyPrices, type SpyPrices } from "../live/contracts/spyPrice.js"
import { describeFeedTime, feedNow, onFeedClock, sleepUntilFeed } from "../live/feedClock.js"
import { LiveSinkLoader } from "../live/sinks/LiveSinkLoader.js"
import { LiveTelemetry } from "../live/telemetry.js"
import type { LiveFeed } from "../live/writer/wsRows.js"
import { AppSettings } from "../services/AppSettings.js"
import { FeedSocket } from "../live/socket/FeedSocket.js"
import { MarketClock } from "../services/MarketClock.js"
import { writeLivePidFile } from "./stop.js"

export interface LiveOptions {
  /** Simulated clock start (ISO); applied by src/programs/liveRun.ts `runLive`, informative here. */
  readonly clockStart?: string | undefined
  readonly clockSpeed?: number | undefined
  /** `live --cluster`: the cluster's runners stream the sockets (src/live/socket/RemoteFeedSocket.ts). */
  readonly cluster?: boolean | undefined
}

export type LiveOutcome =
  | { readonly _tag: "MarketClosed"; readonly nextOpenMs: number }
  | { readonly _tag: "Streamed"; readonly date: string; readonly endOfDay: boolean }

/** Journal retention at live start (journalRetention.ts): this year's API holidays (already loaded) plus the NYSE rules for the years it may reach back. */
const retainJournals = (root: string, date: string, retainDays: number) =>
  Effect.gen(function* () {
    const market = yield* MarketClock
    const year = Number(date.slice(0, 4))
    const years = Array.from({ length: 2 + Math.ceil(retainDays / 240) }, (_, i) => year - i)
    const api = yield* market.holidays(year)
    const holidays = holidayIndex([...years.flatMap(nyseHolidays), ...api])
    yield* pruneJournals(root, date, retainDays, holidays)
  })

export const liveProgram = (options: LiveOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const settings = yield* AppSettings
      const refused = checkConnectionPlan(settings)
      if (refused) return yield* refused
      const market = yield* MarketClock
      const telemetry = yield* LiveTelemetry
      const feedSocket = yield* FeedSocket
      // A delayed feed's session runs on the feed clock (wall − delay): src/live/feedClock.ts.
      const delayMs = feedDelayMs(settings)
      const nyTime = (ms: number) => describeFeedTime(delayMs, ms)
      const state = yield* onFeedClock(delayMs, market.state)
      // Started just before the open (as `--clock-start …T09:29:50` does): connect now, data starts at the open.
      const preOpen = state._tag === "Closed" && state.next.openMs - state.nowMs <= settings.live.preOpenS * 1000
      if (state._tag === "Closed" && !preOpen) {
        yield* Effect.logInfo("Market closed - streaming inactive")
        yield* Effect.logInfo(`Next open: ${nyTime(state.next.openMs)}`)
        return { _tag: "MarketClosed", nextOpenMs: state.next.openMs } satisfies LiveOutcome
      }
      const session = state._tag === "Open" ? state.session : state.next
      const stopAt = session.closeMs - settings.live.shutdownBeforeCloseS * 1000
      if (state.nowMs >= stopAt) {
        const next = yield* onFeedClock(delayMs, market.state)
        yield* Effect.logInfo("Market closed - streaming inactive")
        yield* Effect.logInfo(
          `The session closes at ${nyTime(session.closeMs)}; streaming stops ${settings.live.shutdownBeforeCloseS} s before`
        )
        return {
          _tag: "MarketClosed",
          nextOpenMs: next._tag === "Closed" ? next.next.openMs : session.closeMs
        } satisfies LiveOutcome
      }
      yield* writeLivePidFile

      const root = settings.storage.root
      const date = session.date
      const { options: opt, live } = settings
      const endOfDay = { at: undefined as number | undefined }
      const { underlying } = settings.tickers
      const underlyings = settings.underlyings.map((u) => u.ticker)
      /** The day's tail (stopped before the close): set once the close + delay has passed, read by the writers' finish. */
      const tail = { ready: false, optionSets: [] as ReadonlyArray<ChosenSet> }
      const tailFor = (feed: LiveFeed) =>
        !tail.ready
          ? Effect.succeed(undefined)
          : feed === "spy"
            ? Effect.succeed(underlyings)
            : feed === "vix"
              ? Effect.succeed(settings.indices)
              : Effect.map(
                  Effect.forEach(tail.optionSets, ({ rule, set }) =>
                    subscribedAtClose(root, session, set, rule.recenter.enabled, otherUnderlying(settings, rule.ticker))
                  ),
                  (lists) => lists.flat()
                )
      const speed = options.clockSpeed ?? settings.clock.speed
      const feeds = (["spy", "vix", "options"] as const).filter((f) => settings.feeds[f].enabled)
      yield* retainJournals(root, date, settings.journal.retainDays)
      const journals = new Map<LiveFeed, Journal.JournalHandle>()
      for (const feed of feeds) {
        const journal = yield* Journal.open(root, feed, date, { fsync: settings.journal.fsync })
        journals.set(feed, journal)
        const minute = feed === "options" && opt.timespan === "minute"
        yield* Effect.acquireRelease(
          LiveWriter.start({
            root,
            feed,
            date,
            openMs: session.openMs,
            closeMs: session.closeMs,
            journal,
            ev: minute ? "AM" : "A",
            timespan: minute ? "minute" : "second",
            flushIntervalMs: settings.flush.intervalS * 1000,
            maxRows: settings.flush.maxRows,
            graceSeconds: settings.lateData.graceSeconds,
            sessionHours: settings.session.hours,
            feedDelayMs: delayMs
          }),
          (w) => Effect.flatMap(tailFor(feed), (tickers) => w.finish(endOfDay.at, tickers))
        )
        yield* telemetry.register(feed)
      }
      if (settings.feeds.news.enabled) {
        for (const ticker of settings.underlyings.filter((u) => u.news).map((u) => u.ticker)) {
          const news = yield* pollNews({
            root,
            date,
            ticker,
            focusTicker: underlying,
            intervalMs: settings.news.pollIntervalS * 1000,
            since: new Date(session.openMs - 6.5 * 3600_000).toISOString()
          })
          yield* Effect.forkScoped(news.loop)
        }
        yield* telemetry.register("news")
      }
      // Sinks loaded during the day (when the environment has a LiveSinkLoader: src/layers/LiveSinks.ts).
      // Forked after the writers, so it stops before they flush.
      const sinkLoader = yield* Effect.serviceOption(LiveSinkLoader)
      if (sinkLoader._tag === "Some") yield* sinkLoader.value.start(date, speed)

      // Runs after the sockets below are closed: the final heartbeat then says so, not "connected".
      yield* Effect.addFinalizer(() =>
        Effect.forEach(
          [...feeds, ...(settings.feeds.news.enabled ? ["news"] : [])],
          (source) => telemetry.connection(source, "closed"),
          { discard: true }
        )
      )
      // Sockets are created after the writers, so they are closed first on the way out: stop reading, then flush.
      const sockets = yield* FiberMap.make<string>()
      const connect = (feed: LiveFeed, tickers: ReadonlyArray<string>, ev: "A" | "AM") =>
        Effect.forEach(
          connectionsFor(feed, tickers, ev, live.maxSubscriptionsPerConnection),
          (spec) => FiberMap.run(sockets, spec.id, feedSocket.run(spec, journals.get(feed)!)),
          { discard: true }
        )
      // Re-centring (src/live/contracts/Recenter.ts) follows each underlying's price from the /stocks frames, tapped as they are journaled.
      const prices = new Map<string, SpyPrices>()
      if (journals.has("options") && journals.has("spy"))
        for (const u of settings.underlyings.filter((r) => r.recenter.enabled)) {
          const tapped = makeSpyPrices(u.ticker)
          prices.set(u.ticker, tapped)
          journals.set("spy", tapped.tap(journals.get("spy")!))
        }
      if (journals.has("spy")) yield* connect("spy", underlyings, "A")
      if (journals.has("vix")) yield* connect("vix", settings.indices, "A")
      if (journals.has("options")) {
        const ev = opt.timespan === "minute" ? "AM" : "A"
        const runOptions = (spec: ConnectionSpec) =>
          FiberMap.run(sockets, spec.id, feedSocket.run(spec, journals.get("options")!))
        yield* streamOptions({
          session,
          feedDelayMs: delayMs,
          ev,
          journal: journals.get("options")!,
          prices,
          onSets: (sets) => void (tail.optionSets = sets),
          connectFixed: (tickers, renamed) =>
            Effect.forEach(
              connectionsFor("options", tickers, ev, live.maxSubscriptionsPerConnection),
              (spec) => runOptions(renamed ? { ...spec, id: spec.id.replace(/^options-/, "options-fixed-") } : spec),
              { discard: true }
            ),
          openConnection: runOptions,
          closeConnection: (id) => FiberMap.remove(sockets, id)
        }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logError("option contracts unavailable: options are not streamed today", cause)
          ),
          Effect.forkScoped
        )
      }
      yield* Effect.logInfo(
        `Streaming ${feeds.join(", ")}${settings.feeds.news.enabled ? ", news" : ""} for ${date} until ${nyTime(stopAt)}`
      )

      const untilClose = sleepUntilFeed(delayMs, stopAt).pipe(
        Effect.zipRight(feedNow(delayMs)),
        Effect.tap((t) => Effect.sync(() => void (endOfDay.at = t))),
        Effect.zipRight(Effect.logInfo(`Market closing at ${nyTime(session.closeMs)}: stopping the live stream`))
      )
      yield* Effect.raceFirst(untilClose, FiberMap.join(sockets))
      if (endOfDay.at !== undefined && stopAt < session.closeMs && live.closeFetchDelayS >= 0) {
        // The tail of the day: stop streaming now, and once the close's bars exist over REST the
        // writers fetch each ticker's bars from its last one up to the close (src/live/writer/dayTail.ts).
        yield* FiberMap.clear(sockets)
        const readyAt = session.closeMs + live.closeFetchDelayS * 1000
        yield* Effect.logInfo(`Fetching the bars up to the close over REST at ${nyTime(readyAt)}`)
        yield* sleepUntilFeed(delayMs, readyAt)
        tail.ready = true
      }
      return { _tag: "Streamed", date, endOfDay: endOfDay.at !== undefined } satisfies LiveOutcome
    })
  )
