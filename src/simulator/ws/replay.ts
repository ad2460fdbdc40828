/**
 * The replay scheduler: one per server, shared by every connection and cluster. It keeps a
 * simulated cursor (the last window end broadcast) and, for each window end E it passes,
 * sends each live connection one frame with the `A` events of windows [E-1000, E), the `AM`
 * events of [E-60000, E) when E is a minute boundary, and index `V` events.
 *
 * Numeric speed: E is processed once `clock.now() - delayMs ≥ E`; with nobody subscribed the
 * cursor just follows the clock (reconnecting clients resume at the current simulated time).
 * Speed `max`: the cursor advances as fast as the slowest live connection drains (paused while
 * any `bufferedAmount` > HIGH_WATER) and stands still while nobody is subscribed; `nowMs()`
 * is then the replay's simulated time (SimClock.now() is not).
 * Outside regular sessions (nights, weekends, the market's holidays) the cursor jumps.
 *
 * Batched max speed: unless duplicates, corrections or half-open connections are in play
 * (those keep the per-second frames above), speed `max` sends each connection frames of many simulated seconds (up to
 * FRAME_BUDGET bytes, never across a session close). A connection's events come from a plan
 * built once per (date, subscription version): a merged, send-time-ordered index of its
 * subscribed tickers' cached event JSON (events.ts), in the same order as the per-second
 * frames (by window end, then A, AM, V, then subscription order). Seconds without events are
 * skipped unless a drop is due at every N-th window end (a drop follows the frame that ends at
 * the drop boundary). `correctionEvery` counts only the A events built
 * while corrections are on. While waiting for a client to drain, the next session's ticker-days
 * are built ahead (one per wait).
 * Wildcards expand to SPY (/stocks), I:VIX (/indices) and every contract `contracts(date)` lists
 * (/options: the synthetic chain has ~1,200, each a full day of bars in memory, so prefer
 * explicit contracts).
 */
import { nyDateOf } from "../../domain/calendar.js"
import { SPY, VIX } from "../../domain/tickers.js"
import type { MarketData } from "../MarketData.js"
import type { SimClock } from "../SimClock.js"
import type { Connection } from "./connection.js"
import { type AggEvent, type Cluster, type EventSeries, type EventType, makeEventSource, type WireEvent } from "./events.js"
import { correct, correctionKey, type CorrectionRecord, isNth, type WsFaults } from "./faults.js"
import { makeSessions } from "./sessions.js"
import type { WsStats } from "./stats.js"

export const HIGH_WATER = 4 * 1024 * 1024
const EVENT_TYPES: Readonly<Record<Cluster, ReadonlyArray<string>>> = { stocks: ["A", "AM"], options: ["A", "AM"], indices: ["A", "AM", "V"] }
const SLICE_MS = 20
/** Target size of a batched frame at speed max (frames stay < MAX_FRAME_BYTES = 512 KiB). */
export const FRAME_BUDGET = 256 * 1024

/** A connection's events of one session, merged in send order. */
interface Plan {
  readonly date: string
  readonly version: number
  readonly openMs: number
  /** Send second of entry j: window end = openMs + at[j]·1000 (ascending). */
  readonly at: Int32Array
  readonly src: Int32Array
  readonly idx: Int32Array
  readonly series: ReadonlyArray<EventSeries>
  /** Next entry to send, valid while the cursor equals `syncedAt`. */
  pos: number
  syncedAt: number
}

export interface ReplayDeps {
  readonly clock: SimClock
  readonly market: MarketData
  readonly faults: () => WsFaults
  readonly stats: WsStats
  readonly connections: () => ReadonlyArray<Connection>
  /** Terminate every connection (drop fault). */
  readonly dropAll: () => void
}

interface PendingCorrection {
  readonly due: number
  readonly cluster: Cluster
  readonly json: string
  readonly record: Omit<CorrectionRecord, "sentAtSimMs">
}

export const makeReplay = (deps: ReplayDeps) => {
  const { clock, market, faults, stats } = deps
  const events = makeEventSource(market)
  const sessions = makeSessions(market)
  const alignDown = (ms: number) => Math.floor(ms / 1000) * 1000
  // at max speed the replay starts at the clock's start: SimClock.now() runs at 1000x meanwhile
  let cursor = alignDown(clock.speed === "max" ? (clock.startMs ?? clock.now()) : clock.now())
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  let running = true
  let aCount = 0
  let pending: Array<PendingCorrection> = []
  const corrections = new Map<string, CorrectionRecord>()

  const universes = new Map<string, ReadonlyArray<string>>()
  const universe = (cluster: Cluster, date: string): ReadonlyArray<string> => {
    if (cluster !== "options") return [cluster === "stocks" ? SPY : VIX]
    let u = universes.get(date)
    if (!u) {
      if (universes.size > 16) universes.clear()
      universes.set(date, (u = market.contracts(date).map((c) => c.ticker)))
    }
    return u
  }

  const build = (cluster: Cluster, ev: string, sym: string, end: number, date: string): string | undefined => {
    const day = events.day(sym, date)
    if (ev === "A") {
      const json = day.secondJson(end - 1000)
      if (json !== undefined && cluster !== "indices" && isNth(++aCount, faults().correctionEvery)) {
        const original = day.second(end - 1000) as AggEvent
        const corrected = correct(original)
        pending.push({ due: end + faults().correctionDelaySimMs, cluster, json: JSON.stringify(corrected), record: { sym, s: original.s, original, corrected } })
      }
      return json
    }
    let e: WireEvent | undefined
    if (ev === "AM") e = end % 60_000 === 0 ? day.minute(end - 60_000) : undefined
    else if (ev === "V" && cluster === "indices") e = day.value(end - 1000)
    return e === undefined ? undefined : JSON.stringify(e)
  }

  const processWindowEnd = (end: number, date: string): void => {
    const f = faults()
    const all = deps.connections()
    if (f.halfOpenAfterSimSeconds > 0)
      for (const c of all) if (c.live && end - c.connectedAtSim >= f.halfOpenAfterSimSeconds * 1000) c.goHalfOpen()
    const due = pending.filter((p) => p.due <= end)
    if (due.length > 0) {
      pending = pending.filter((p) => p.due > end)
      for (const p of due) corrections.set(correctionKey(p.record.sym, p.record.s), { ...p.record, sentAtSimMs: end })
      stats.correctionsSent += due.length
    }
    const built = new Map<string, string | undefined>()
    for (const c of all) {
      if (!c.live || c.subs.isEmpty()) continue
      const out: Array<string> = []
      for (const ev of EVENT_TYPES[c.cluster]) {
        const syms = c.subs.wildcard(ev) ? universe(c.cluster, date) : c.subs.symbols(ev)
        for (const sym of syms) {
          const key = `${c.cluster}|${ev}|${sym}`
          let json = built.get(key)
          if (json === undefined && !built.has(key)) built.set(key, (json = build(c.cluster, ev, sym, end, date)))
          if (json !== undefined) out.push(json)
        }
      }
      for (const p of due) if (p.cluster === c.cluster && c.subs.has("A", p.record.sym)) out.push(p.json)
      if (out.length > 0) c.deliver(out)
    }
    if (f.dropEverySimSeconds > 0 && end % (f.dropEverySimSeconds * 1000) === 0 && all.some((c) => !c.closed)) {
      stats.drops++
      deps.dropAll()
    }
  }

  /** Process the next window end, or jump over closed time (never past `limit`). */
  const advance = (limit: number): void => {
    const session = sessions.containing(cursor)
    if (session === undefined) {
      cursor = Math.min(sessions.nextOpenAtOrAfter(cursor), limit)
      return
    }
    processWindowEnd(cursor + 1000, session.date)
    cursor += 1000
  }

  // ---- batched max speed ----

  const plans = new WeakMap<Connection, Plan>()

  const symbolsOf = (c: Connection, ev: string, date: string): ReadonlyArray<string> =>
    c.subs.wildcard(ev) ? universe(c.cluster, date) : c.subs.symbols(ev)

  const buildPlan = (c: Connection, date: string, openMs: number, closeMs: number): Plan => {
    const series: Array<EventSeries> = []
    for (const ev of EVENT_TYPES[c.cluster])
      for (const sym of symbolsOf(c, ev, date)) {
        const s = events.day(sym, date).series(ev as EventType)
        if (s.count > 0) series.push(s)
      }
    const span = Math.round((closeMs - openMs) / 1000)
    const secondOf = (sendAt: number): number => {
      const k = (sendAt - openMs) / 1000
      return Number.isInteger(k) && k >= 1 && k <= span ? k : -1
    }
    // counting sort by send second; within a second, series order (= per-second frame order)
    const counts = new Int32Array(span + 2)
    for (const s of series) for (let i = 0; i < s.count; i++) counts[secondOf(s.sendAt(i)) + 1]!++
    const total = counts.reduce((n, x, i) => (i === 0 ? n : n + x), 0)
    const start = new Int32Array(span + 2)
    for (let k = 1, acc = 0; k <= span; k++) {
      start[k] = acc
      acc += counts[k + 1]!
    }
    const at = new Int32Array(total), src = new Int32Array(total), idx = new Int32Array(total)
    series.forEach((s, j) => {
      for (let i = 0; i < s.count; i++) {
        const k = secondOf(s.sendAt(i))
        if (k < 0) continue
        const p = start[k]!++
        at[p] = k
        src[p] = j
        idx[p] = i
      }
    })
    return { date, version: c.subs.version, openMs, at, src, idx, series, pos: 0, syncedAt: NaN }
  }

  const planFor = (c: Connection, date: string, openMs: number, closeMs: number): Plan => {
    let plan = plans.get(c)
    if (plan === undefined || plan.date !== date || plan.version !== c.subs.version) plans.set(c, (plan = buildPlan(c, date, openMs, closeMs)))
    if (plan.syncedAt !== cursor) {
      // first entry sent after the cursor
      const k = (cursor - openMs) / 1000
      let lo = 0, hi = plan.at.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (plan.at[mid]! <= k) lo = mid + 1
        else hi = mid
      }
      plan.pos = lo
      plan.syncedAt = cursor
    }
    return plan
  }

  /** Duplicates, corrections and half-open connections keep the per-second frames. */
  const perSecond = (f: WsFaults): boolean =>
    f.duplicateEvery > 0 || f.correctionEvery > 0 || f.halfOpenAfterSimSeconds > 0 || pending.length > 0 || deps.connections().some((c) => c.hasPendingDuplicates)

  /**
   * Process window ends of the cursor's session in one batch until the slice ends, a send
   * buffer passes HIGH_WATER, the session closes or a drop happens.
   */
  const advanceBatch = (t0: number): void => {
    const session = sessions.containing(cursor)
    if (session === undefined) {
      cursor = sessions.nextOpenAtOrAfter(cursor)
      return
    }
    const f = faults()
    const all = deps.connections()
    const dropMs = f.dropEverySimSeconds * 1000
    const { openMs, closeMs, date } = session
    const targets = all.filter((c) => c.live && !c.subs.isEmpty())
    const plan = targets.map((c) => planFor(c, date, openMs, closeMs))
    const text = targets.map(() => "")
    const count = targets.map(() => 0)
    const flush = (j: number): void => {
      if (count[j]! > 0) targets[j]!.sendFrame(`[${text[j]}]`, count[j]!)
      text[j] = ""
      count[j] = 0
    }
    const lastK = Math.round((closeMs - openMs) / 1000)
    let k = Math.round((cursor - openMs) / 1000)
    let stop = false
    let dropped = false
    for (let n = 0; k < lastK && !stop; n++) {
      if (dropMs === 0) {
        // jump to the next second with an event for anyone
        let next = lastK
        for (const p of plan) if (p.pos < p.at.length && p.at[p.pos]! < next) next = p.at[p.pos]!
        if (next - 1 > k) k = next - 1
      }
      const end = openMs + (k + 1) * 1000
      for (let j = 0; j < targets.length; j++) {
        const p = plan[j]!
        const c = targets[j]!
        if (!c.live) {
          while (p.pos < p.at.length && p.at[p.pos]! <= k + 1) p.pos++
          continue
        }
        while (p.pos < p.at.length && p.at[p.pos]! === k + 1) {
          const json = p.series[p.src[p.pos]!]!.json(p.idx[p.pos]!)
          p.pos++
          if (text[j]!.length + json.length + 3 > FRAME_BUDGET) {
            flush(j)
            if (c.ws.bufferedAmount > HIGH_WATER) stop = true
          }
          text[j] = count[j] === 0 ? json : text[j] + "," + json
          count[j]!++
        }
      }
      k++
      cursor = end
      if (dropMs > 0 && end % dropMs === 0 && all.some((c) => !c.closed)) {
        targets.forEach((_, j) => flush(j))
        stats.drops++
        deps.dropAll()
        dropped = true
        break
      }
      if ((n & 63) === 63 && Date.now() - t0 >= SLICE_MS) stop = true
    }
    if (!dropped) targets.forEach((_, j) => flush(j))
    for (const p of plan) p.syncedAt = cursor
  }

  /** Build one ticker-day of the next session ahead (while clients drain); false when none was missing. */
  const warmNext = (): boolean => {
    const session = sessions.containing(cursor)
    const next = sessions.sessionOn(nyDateOf(sessions.nextOpenAtOrAfter(session?.closeMs ?? cursor)))
    if (next === undefined) return false
    for (const c of deps.connections()) {
      if (!c.live) continue
      for (const ev of EVENT_TYPES[c.cluster])
        for (const sym of symbolsOf(c, ev, next.date))
          if (!events.has(sym, next.date)) {
            events.day(sym, next.date)
            return true
          }
    }
    return false
  }

  const subscribed = () => deps.connections().some((c) => c.live && !c.subs.isEmpty())
  const maxBuffered = () => deps.connections().reduce((m, c) => (c.live ? Math.max(m, c.ws.bufferedAmount) : m), 0)

  const schedule = (ms: number): void => {
    if (!running || deps.connections().length === 0) return
    timer = ms <= 0 ? setImmediate(step) : setTimeout(step, ms)
  }

  const replayOver = (): boolean => {
    const until = faults().replayUntilMs
    return until > 0 && cursor >= until
  }

  const stepMax = (): void => {
    if (!subscribed() || replayOver()) return schedule(SLICE_MS)
    const t0 = Date.now()
    while (Date.now() - t0 < SLICE_MS) {
      if (maxBuffered() > HIGH_WATER) {
        warmNext()
        return schedule(maxBuffered() > HIGH_WATER ? 2 : 0)
      }
      if (perSecond(faults())) advance(Infinity)
      else advanceBatch(t0)
      if (!subscribed() || replayOver()) break
    }
    schedule(0)
  }

  const stepTimed = (speed: number): void => {
    const delay = faults().delayMs
    const until = faults().replayUntilMs
    const target = until > 0 ? Math.min(until, alignDown(clock.now() - delay)) : alignDown(clock.now() - delay)
    if (!subscribed()) cursor = Math.max(cursor, target)
    const t0 = Date.now()
    while (cursor < target && Date.now() - t0 < SLICE_MS * 2) advance(target)
    if (cursor < target) return schedule(0)
    const wait = (cursor + 1000 + delay - clock.now()) / speed
    schedule(Math.min(1000, Math.max(1, Math.ceil(wait))))
  }

  function step(): void {
    timer = undefined
    if (!running) return
    if (clock.speed === "max") stepMax()
    else stepTimed(clock.speed)
  }

  return {
    /** Start the loop if it sleeps (called when a connection arrives). */
    wake: (): void => {
      if (timer !== undefined || !running) return
      if (clock.speed !== "max") cursor = Math.max(cursor, alignDown(clock.now() - faults().delayMs))
      schedule(0)
    },
    stop: (): void => {
      running = false
      if (timer !== undefined) {
        clearTimeout(timer as NodeJS.Timeout)
        clearImmediate(timer as NodeJS.Immediate)
      }
    },
    /** The simulated time through which windows have been broadcast. */
    nowMs: (): number => cursor,
    corrections: (): ReadonlyMap<string, CorrectionRecord> => corrections
  }
}
export type Replay = ReturnType<typeof makeReplay>
