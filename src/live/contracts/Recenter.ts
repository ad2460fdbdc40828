/**
 * Intraday re-centring of the live option contract set (`options.recenter`, issue 3).
 *
 * Runs for the day once the open's set is known (ContractRegistry). It owns the /options shards:
 * 1. Reads the day's log (`raw/contracts/date=D/recenter.ndjson`): after a restart the set, anchor
 *    and last change time are the last recorded ones, not the open's; a resume marker in the
 *    options journal tells gap repair since when each added ticker is covered.
 * 2. Opens one connection per shard of at most `live.max_subscriptions_per_connection` tickers;
 *    each (re)connect subscribes its shard's CURRENT tickers (LiveShard).
 * 3. Loads the expiration's whole chain (once a day, kept as `chain.json`; the open's listing is
 *    limited to the open's strike band, too narrow after a move).
 * 4. Follows SPY's price (the /stocks `A` bars, spyPrice.ts; or, without the SPY feed, REST minute
 *    bars every min(cooldown, 30 s)) and applies domain/recenter.ts `decide` at each new price,
 *    at the Clock time the frame was received (the new set applies from the window after the
 *    deciding bar, in market time): beyond `band_pct` from the anchor and at least
 *    `cooldown_s` after the last change, the set is chosen again with the day's rule
 *    (domain/contractSelection.ts: ±`strike_band_pct`, same expiration, `max_contracts`, nearest
 *    the money first) around the price, which becomes the new anchor.
 * 5. Each change: appended (fsynced) to the log, then a marker into the options journal, then
 *    `unsubscribe`/`subscribe` on the shards' open sockets (new tickers fill shards with room,
 *    then new connections; emptied shards are closed), then the added contracts are appended to
 *    the day's contract list (`contracts.json` `added`, `recenter.parquet`).
 */
import { Clock, Duration, Effect, Queue, Schedule, type Scope } from "effect"
import type { Session } from "../../domain/calendar.js"
import { selectContracts } from "../../domain/contractSelection.js"
import { CONTRACTS_SCHEMA, type Row } from "../../domain/feeds.js"
import { contractRow } from "../../domain/normalize.js"
import {
  afterEntry,
  decide,
  type RecenterEntry,
  type RecenterTracker,
  replay,
  type ReplayedRecenter,
  windowFloor
} from "../../domain/recenter.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import type { UnderlyingRule } from "../../config/universe.js"
import type { ContractSet } from "./contractSet.js"
import { AppSettings } from "../../services/AppSettings.js"
import { ParquetWriter } from "../../services/ParquetWriter.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import type { JournalHandle } from "../journal/Journal.js"
import { appendEntry, readLog, recenterFiles } from "./recenterLog.js"
import { type Contract, loadChain } from "./recenterChain.js"
import { subscriptionMarker } from "./recenterRepair.js"
import { type ConnectionSpec, shard } from "../socket/sharding.js"
import type { SpyPrices } from "./spyPrice.js"
import { LiveShard, planShards, type ShardPlan } from "../socket/liveShards.js"
import { cappedJittered } from "../../lib/schedules.js"
import { fileIo } from "../../lib/fileIo.js"

export interface RecenterConfig<R> {
  readonly session: Session
  /** The open's set (contracts.json). */
  readonly set: ContractSet
  readonly ev: "A" | "AM"
  /** The options journal (markers for gap repair). */
  readonly journal: JournalHandle
  /** SPY prices from the /stocks stream; undefined → REST polling. */
  readonly prices: SpyPrices | undefined
  /** Start (or restart) the connection of a shard. */
  readonly openConnection: (spec: ConnectionSpec) => Effect.Effect<unknown, never, R>
  /** Stop the connection of a shard left empty. */
  readonly closeConnection: (id: string) => Effect.Effect<void>
  /** A delayed feed's delay: decisions are timed on the feed clock (receipt − delay), as the open and the log are. */
  readonly feedDelayMs?: number | undefined
  /**
   * The underlying followed, by default the first (`options.*`). A further one keeps its own log,
   * chain and contract list (`recenter-QQQ.ndjson`…) and names its connections `options-QQQ-N`.
   */
  readonly rule?: UnderlyingRule | undefined
}

const retrySchedule = cappedJittered("2 seconds", "30 seconds")

/** The marker a restart writes before its connections: since when each current ticker is covered, until when each dropped one was. */
export const resumeMarker = (r: ReplayedRecenter, stepMs: number) =>
  subscriptionMarker(
    Object.fromEntries([...r.addedAt].map(([t, at]) => [t, windowFloor(at, stepMs)])),
    Object.fromEntries([...r.droppedAt].map(([t, at]) => [t, windowFloor(at, stepMs)]))
  )

export const run = <R>(
  cfg: RecenterConfig<R>
): Effect.Effect<never, never, R | AppSettings | PolygonRest | ParquetWriter | Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const rest = yield* PolygonRest
    const writer = yield* ParquetWriter
    const root = settings.storage.root
    const date = cfg.session.date
    const {
      strikeBandPct,
      maxContracts,
      ticker: underlying,
      recenter
    } = cfg.rule ?? { ...settings.options, ticker: settings.options.underlying }
    const other = underlying === settings.tickers.underlying ? undefined : underlying
    const rule = { bandPct: recenter.bandPct, cooldownMs: recenter.cooldownS * 1000 }
    const max = settings.live.maxSubscriptionsPerConnection
    const stepMs = cfg.ev === "AM" ? 60_000 : 1000
    const files = recenterFiles(root, date, other)
    const openSet = cfg.set.contracts.map((c) => c.ticker)

    // 1. Where the day stands.
    const log = yield* readLog(root, date, other)
    if (log.torn) yield* Effect.logWarning(`Re-centring log ${files.log}: a torn last line (never applied) was cut off`)
    const resumed = replay(
      { anchor: cfg.set.openPrice, changedAtMs: cfg.session.openMs, current: openSet },
      log.entries
    )
    let tracker: RecenterTracker = {
      anchor: resumed.anchor,
      changedAtMs: resumed.changedAtMs,
      current: resumed.current
    }
    const listed = [...resumed.listed]
    if (log.entries.length > 0) {
      cfg.journal.marker(resumeMarker(resumed, stepMs), yield* Clock.currentTimeMillis)
      yield* Effect.logInfo(
        `Re-centring: resuming the set of the last of ${log.entries.length} recorded change(s) (${resumed.current.length} contracts, anchor ${resumed.anchor}), not the open's`
      )
    }

    // 2. The shards and their connections.
    let nextIndex = 0
    const newId = () => (other === undefined ? `options-${nextIndex++}` : `options-${other}-${nextIndex++}`)
    const shards = new Map<string, LiveShard>()
    const specOf = (s: LiveShard): ConnectionSpec => {
      const now = s.current()
      return {
        id: s.id,
        cluster: "options",
        feed: "options",
        params: now.params,
        tickers: now.tickers,
        subscriptions: s
      }
    }
    const addShard = (id: string, tickers: ReadonlyArray<string>) => {
      const s = new LiveShard(id, cfg.ev, tickers)
      shards.set(id, s)
      return s
    }
    for (const group of shard(resumed.current, max)) yield* cfg.openConnection(specOf(addShard(newId(), group)))

    // 3. The chain the set is chosen from.
    const chain = yield* loadChain(root, date, underlying, cfg.set.expiration, other).pipe(
      Effect.tapError((e) =>
        Effect.logWarning(`Re-centring: the ${cfg.set.expiration} chain is not available yet (${e.message}); retrying`)
      ),
      Effect.retry(retrySchedule),
      Effect.orDie
    )
    const byTicker = new Map<string, Contract>([...cfg.set.contracts, ...chain].map((c) => [c.ticker, c]))
    const target = (price: number) =>
      selectContracts(chain, price, cfg.set.expiration, { bandPct: strikeBandPct, maxContracts }).map((c) => c.ticker)

    /** The day's contract list grows by the contracts re-centring added (first additions only). */
    const writeAdded = Effect.gen(function* () {
      if (listed.length === 0) return
      const added = listed.flatMap(({ entry, ticker }) => {
        const raw = byTicker.get(ticker)
        return raw === undefined
          ? []
          : [{ raw, at: entry.at_ms, anchor: entry.new_anchor, rank: entry.contracts.indexOf(ticker) }]
      })
      const rows: Array<Row> = []
      for (const a of added) {
        const n = contractRow(
          a.raw,
          { asOf: date, openPrice: a.anchor, moneynessRank: a.rank },
          { source: "rest", receivedAtMs: a.at }
        )
        if (n.ok) rows.push(n.row)
      }
      yield* writer.upsert(CONTRACTS_SCHEMA, root, date, { rows })
      const saved = yield* fileIo("read", files.contractsJson, () =>
        readJsonIfExists<Record<string, unknown>>(files.contractsJson)
      )
      if (saved) {
        const json = {
          ...saved,
          added: added.map((a) => ({ ...a.raw, added_at_ms: a.at, anchor: a.anchor, moneyness_rank: a.rank }))
        }
        yield* fileIo("write", files.contractsJson, () =>
          writeFileAtomic(files.contractsJson, JSON.stringify(json, null, 1))
        )
      }
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logWarning("Re-centring: the added contracts could not be written to the day's contract list", cause)
      )
    )
    yield* writeAdded

    /** The subscriptions follow an entry: journal marker, then the messages, in one synchronous step. */
    const applyEntry = (entry: RecenterEntry, nowMs: number): ShardPlan => {
      const from = windowFloor(entry.window_ms, stepMs)
      cfg.journal.marker(
        subscriptionMarker(
          Object.fromEntries(entry.added.map((t) => [t, from])),
          Object.fromEntries(entry.dropped.map((t) => [t, from]))
        ),
        nowMs
      )
      const plan = planShards(
        [...shards.values()].map((s) => s.state),
        entry.added,
        entry.dropped,
        max,
        newId
      )
      for (const change of plan.changes) shards.get(change.id)!.apply(change)
      for (const id of plan.closed) {
        // Unsubscribed now (with the marker), closed right after.
        const gone = shards.get(id)!
        gone.apply({ id, subscribe: [], unsubscribe: gone.state.tickers })
        shards.delete(id)
      }
      for (const s of plan.opened) addShard(s.id, s.tickers)
      return plan
    }

    // 4. Decisions, made synchronously as prices arrive, applied in order by the loop below.
    const decisions = yield* Queue.unbounded<RecenterEntry>()
    const consider = (price: number, nowMs: number, windowMs: number) => {
      const entry = decide(tracker, price, nowMs, rule, target, windowMs)
      if (entry === undefined) return
      tracker = afterEntry(entry)
      Queue.unsafeOffer(decisions, entry)
    }
    if (cfg.prices !== undefined) {
      // A second bar: the new set applies from the window after it.
      cfg.prices.listen((p) => consider(p.price, p.receivedMs - (cfg.feedDelayMs ?? 0), p.windowStartMs + 1000))
      // From here on every SPY frame is a candidate: said in the SPY journal, in order with the frames (audit, tests).
      cfg.prices.mark(
        { conn: "recenter", following: underlying, anchor: tracker.anchor, changed_at_ms: tracker.changedAtMs },
        yield* Clock.currentTimeMillis
      )
    } else {
      const every = Duration.seconds(Math.max(1, Math.min(recenter.cooldownS, 30)))
      yield* Effect.logInfo(
        `Re-centring: no ${underlying} stream, polling REST minute bars every ${Duration.toSeconds(every)} s`
      )
      const poll = rest.aggs({ ticker: underlying, timespan: "minute", from: date, to: date }).pipe(
        Effect.flatMap((bars) => {
          const last = bars[bars.length - 1]
          if (typeof last?.["c"] !== "number" || typeof last["t"] !== "number") return Effect.void
          const [c, t] = [last["c"], last["t"]]
          // The minute bar's end, or now while it is still forming.
          return Effect.flatMap(Clock.currentTimeMillis, (wall) => {
            const now = wall - (cfg.feedDelayMs ?? 0)
            return Effect.sync(() => consider(c, now, Math.min(now, t + 60_000)))
          })
        }),
        Effect.catchAll((e) => Effect.logWarning(`Re-centring: ${underlying} price poll failed (${e.message})`))
      )
      yield* Effect.forkScoped(Effect.repeat(poll, Schedule.spaced(every)))
    }
    yield* Effect.logInfo(
      `Re-centring on: beyond ±${(rule.bandPct * 100).toFixed(2)} % of ${tracker.anchor} and ${recenter.cooldownS} s after the last change, ${tracker.current.length} contracts on ${shards.size} connection(s)`
    )

    // 5. Apply each decision: durable log line first, then the subscriptions, then the contract list.
    const seen = new Set([...openSet, ...listed.map((l) => l.ticker)])
    for (;;) {
      const entry = yield* Queue.take(decisions)
      yield* appendEntry(root, date, entry, other).pipe(
        Effect.tapError((e) => Effect.logWarning(`Re-centring: ${e.message}; retrying`)),
        Effect.retry(retrySchedule),
        Effect.orDie
      )
      const plan = applyEntry(entry, yield* Clock.currentTimeMillis)
      for (const id of plan.closed) yield* cfg.closeConnection(id)
      for (const s of plan.opened) yield* cfg.openConnection(specOf(shards.get(s.id)!))
      const fresh = entry.added.filter((t) => !seen.has(t))
      for (const t of fresh) {
        seen.add(t)
        listed.push({ ticker: t, entry })
      }
      if (fresh.length > 0) yield* writeAdded
      yield* Effect.logInfo(
        `Re-centred the options on ${underlying} ${entry.spy_price} (anchor ${entry.old_anchor} → ${entry.new_anchor}): +${entry.added.length} −${entry.dropped.length}, ${entry.contracts.length} contracts on ${shards.size} connection(s)`
      )
    }
  })
