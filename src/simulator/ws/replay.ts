/**
 * The replay scheduler: one per server, shared by every connection and cluster. It keeps a
 * simulated cursor (the last window end broadcast); the events of window end E go out when the
 * cursor passes E (perSecond.ts: per second, one frame per connection; batch.ts: many seconds
 * per frame). Outside regular sessions (nights, weekends, the market's holidays) it jumps.
 *
 * Numeric speed: E is processed once `clock.now() - delayMs ≥ E`, per second; with nobody
 * subscribed the cursor just follows the clock (reconnecting clients resume at the current
 * simulated time).
 *
 * Speed `max`: the cursor starts at the clock's start and advances as fast as the slowest live
 * connection reads (paused while any has `bufferedAmount` > HIGH_WATER or, readTracker.ts, more
 * than WINDOW_BYTES unread; woken by send callbacks and pongs once back under half of that,
 * polled meanwhile); it stands still while nobody is subscribed, and
 * when someone subscribes again it holds until the subscriptions settle (no open connection
 * younger than HOLD_GRACE_MS without subscriptions, none changed in the last SETTLE_MS), so
 * clients connecting together start together and no second passes before their subscribe.
 * Before its first frame the hold also waits for the frame chunks ahead to be built (the rest
 * of the session and the next one: buildAhead.ts; PREBUILD_MS at most), and while it waits
 * for buffers to drain it builds on ahead, so sending rarely waits for serializing. Batched
 * steps unless duplicates, corrections or half-open connections are in play.
 * `nowMs()` is then the replay's simulated time (SimClock.now() is not).
 */
import type { MarketData } from "../MarketData.js"
import type { SimClock } from "../SimClock.js"
import { makeBatch } from "./batch.js"
import type { Connection } from "./connection.js"
import { makeEventSource } from "./events.js"
import type { CorrectionRecord, WsFaults } from "./faults.js"
import { makeBuildAhead } from "./buildAhead.js"
import { makeFrameChunks } from "./frameChunks.js"
import { makePerSecond } from "./perSecond.js"
import { WINDOW_BYTES } from "./readTracker.js"
import { makeUniverse } from "./selection.js"
import { makeSessions } from "./sessions.js"
import type { WsStats } from "./stats.js"

export { FRAME_BUDGET } from "./batch.js"
export const HIGH_WATER = 4 * 1024 * 1024
const SLICE_MS = 20
const HOLD_GRACE_MS = 1000
const SETTLE_MS = 20
const DRAIN_POLL_MS = 5
/** The first frame waits this long at most for the building ahead (clients have idle timeouts, 30 s in config). */
const PREBUILD_MS = 15_000

export interface ReplayDeps {
  readonly clock: SimClock
  readonly market: MarketData
  readonly faults: () => WsFaults
  readonly stats: WsStats
  readonly connections: () => ReadonlyArray<Connection>
  /** Terminate every connection (drop fault). */
  readonly dropAll: () => void
  /** Replay the whole extended day (`market.secondBars` then serves it): pre-market and after-hours too. */
  readonly extendedHours?: boolean | undefined
}

export const makeReplay = (deps: ReplayDeps) => {
  const { clock, market, faults } = deps
  const sessions = makeSessions(market, deps.extendedHours ?? false)
  const regular = deps.extendedHours ? makeSessions(market) : undefined
  const events = makeEventSource(market, undefined, (date) => regular?.sessionOn(date)?.openMs ?? -Infinity)
  const universe = makeUniverse(market)
  const chunks = makeFrameChunks(events)
  const batch = makeBatch({ events, chunks, universe })
  const ahead = makeBuildAhead({ sessions, batch, chunks, replayUntilMs: () => faults().replayUntilMs })
  const perSecond = makePerSecond({
    events,
    universe,
    faults,
    stats: deps.stats,
    connections: deps.connections,
    dropAll: deps.dropAll
  })
  const alignDown = (ms: number) => Math.floor(ms / 1000) * 1000
  // at max speed the replay starts at the clock's start: SimClock.now() runs at 1000x meanwhile
  // (with a delay, the feed's time: the windows that ended `delayMs` ago are next)
  let cursor = alignDown((clock.speed === "max" ? (clock.startMs ?? clock.now()) : clock.now()) - faults().delayMs)
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  let running = true
  let started = false
  /** When the current hold's subscriptions last changed (its building ahead is timed from there). */
  let holdSince = Date.now()
  let draining = false

  const targets = () => deps.connections().filter((c) => c.live && !c.subs.isEmpty())
  /**
   * How full the fullest live connection is: its send buffer against HIGH_WATER and, unless the
   * slow-consumer knob wants the server-side buffer to fill, its unread bytes against WINDOW_BYTES.
   */
  const pressure = (): number => {
    const window = faults().slowConsumerBytes === 0
    let p = 0
    for (const c of deps.connections())
      if (c.live) p = Math.max(p, c.ws.bufferedAmount / HIGH_WATER, window ? c.unread / WINDOW_BYTES : 0)
    return p
  }
  const replayOver = (): boolean => {
    const until = faults().replayUntilMs
    return until > 0 && cursor >= until
  }

  /** Process the next window end, or jump over closed time (never past `limit`). */
  const advance = (limit: number): void => {
    const session = sessions.containing(cursor)
    if (session === undefined) {
      cursor = Math.min(sessions.nextOpenAtOrAfter(cursor), limit)
      return
    }
    perSecond.processWindowEnd(cursor + 1000, session.date)
    cursor += 1000
  }

  /** Duplicates, corrections, half-open connections and a stall keep the per-second frames. */
  const perSecondMode = (f: WsFaults): boolean =>
    f.duplicateEvery > 0 ||
    f.correctionEvery > 0 ||
    f.halfOpenAfterSimSeconds > 0 ||
    f.stallFromSimMs > 0 ||
    perSecond.hasPending() ||
    deps.connections().some((c) => c.hasPendingDuplicates)

  /** One batched step; false when what it needs could not be built before the deadline. */
  const batchStep = (list: ReadonlyArray<Connection>, deadline: number): boolean => {
    const session = sessions.containing(cursor)
    if (session === undefined) {
      cursor = sessions.nextOpenAtOrAfter(cursor)
      return true
    }
    const f = faults()
    const dropMs = f.dropEverySimSeconds * 1000
    let limit = session.closeMs
    if (dropMs > 0) limit = Math.min(limit, (Math.floor(cursor / dropMs) + 1) * dropMs)
    if (f.replayUntilMs > 0) limit = Math.min(limit, f.replayUntilMs)
    const index = batch.chunkIndexOf(session, cursor)
    if (!batch.ready(list, session, index, deadline)) return false
    cursor = batch.step(list, session, cursor, limit)
    chunks.dropBefore(session.date, index)
    if (dropMs > 0 && cursor % dropMs === 0 && deps.connections().some((c) => !c.closed)) {
      deps.stats.drops++
      deps.dropAll()
    }
    return true
  }

  const warm = (list: ReadonlyArray<Connection>, deadline: number): boolean => ahead.warm(list, cursor, deadline)

  /** Hold at max until subscriptions settle. */
  const holding = (): boolean => {
    const now = Date.now()
    let changed = 0
    for (const c of deps.connections()) {
      if (c.closed || c.halfOpen) continue
      if (c.subs.isEmpty() && now - c.openedAtMs < HOLD_GRACE_MS) return true
      changed = Math.max(changed, c.subs.changedAtMs)
    }
    return now - changed < SETTLE_MS
  }

  const schedule = (ms: number): void => {
    if (!running || deps.connections().length === 0) return
    timer = ms <= 0 ? setImmediate(step) : setTimeout(step, ms)
  }

  const stepMax = (): void => {
    let list = targets()
    if (list.length === 0 || replayOver()) {
      started = false
      return schedule(SLICE_MS)
    }
    const deadline = Date.now() + SLICE_MS
    if (!started) {
      // hold: subscriptions settle, then what is ahead gets built (the first frame waits for it, PREBUILD_MS at most)
      if (holding()) {
        holdSince = Date.now()
        if (!perSecondMode(faults())) warm(list, deadline)
        return schedule(2)
      }
      if (!perSecondMode(faults()) && !warm(list, deadline) && Date.now() - holdSince < PREBUILD_MS) return schedule(0)
      started = true
    }
    while (Date.now() < deadline) {
      if (pressure() > 1) {
        if (!perSecondMode(faults())) warm(list, deadline)
        draining = true
        return schedule(DRAIN_POLL_MS)
      }
      if (perSecondMode(faults())) advance(Infinity)
      else if (!batchStep(list, deadline)) break
      list = targets()
      if (list.length === 0 || replayOver()) break
    }
    schedule(0)
  }

  const stepTimed = (speed: number): void => {
    const delay = faults().delayMs
    const until = faults().replayUntilMs
    const target = until > 0 ? Math.min(until, alignDown(clock.now() - delay)) : alignDown(clock.now() - delay)
    if (targets().length === 0) cursor = Math.max(cursor, target)
    const t0 = Date.now()
    while (cursor < target && Date.now() - t0 < SLICE_MS * 2) advance(target)
    if (cursor < target) return schedule(0)
    const wait = (cursor + 1000 + delay - clock.now()) / speed
    schedule(Math.min(1000, Math.max(1, Math.ceil(wait))))
  }

  function step(): void {
    timer = undefined
    draining = false
    if (!running) return
    if (clock.speed === "max") stepMax()
    else stepTimed(clock.speed)
  }

  const cancel = (): void => {
    if (timer === undefined) return
    clearTimeout(timer as NodeJS.Timeout)
    clearImmediate(timer as NodeJS.Immediate)
    timer = undefined
  }

  return {
    /** Start the loop if it sleeps (called when a connection arrives). */
    wake: (): void => {
      if (timer !== undefined || !running) return
      if (clock.speed !== "max") cursor = Math.max(cursor, alignDown(clock.now() - faults().delayMs))
      schedule(0)
    },
    /** A data frame was written out: resume at once if the replay waits for buffers to drain. */
    drained: (): void => {
      if (!draining || pressure() > 0.5) return
      cancel()
      draining = false
      schedule(0)
    },
    stop: (): void => {
      running = false
      cancel()
    },
    /** The simulated time through which windows have been broadcast. */
    nowMs: (): number => cursor,
    corrections: (): ReadonlyMap<string, CorrectionRecord> => perSecond.corrections()
  }
}
export type Replay = ReturnType<typeof makeReplay>
