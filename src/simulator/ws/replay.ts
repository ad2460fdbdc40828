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
 * Wildcards expand to SPY (/stocks), I:VIX (/indices) and every contract `contracts(date)` lists
 * (/options: the synthetic chain has ~1,200, each a full day of bars in memory, so prefer
 * explicit contracts).
 */
import { SPY, VIX } from "../../domain/tickers.js"
import type { MarketData } from "../MarketData.js"
import type { SimClock } from "../SimClock.js"
import type { Connection } from "./connection.js"
import { type AggEvent, type Cluster, makeEventSource, type WireEvent } from "./events.js"
import { correct, correctionKey, type CorrectionRecord, isNth, type WsFaults } from "./faults.js"
import { makeSessions } from "./sessions.js"
import type { WsStats } from "./stats.js"

export const HIGH_WATER = 4 * 1024 * 1024
const EVENT_TYPES: Readonly<Record<Cluster, ReadonlyArray<string>>> = { stocks: ["A", "AM"], options: ["A", "AM"], indices: ["A", "AM", "V"] }
const SLICE_MS = 20

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
    let e: WireEvent | undefined
    if (ev === "A") e = day.second(end - 1000)
    else if (ev === "AM") e = end % 60_000 === 0 ? day.minute(end - 60_000) : undefined
    else if (ev === "V" && cluster === "indices") e = day.value(end - 1000)
    if (e === undefined) return undefined
    if (ev === "A" && cluster !== "indices" && isNth(++aCount, faults().correctionEvery)) {
      const original = e as AggEvent
      const corrected = correct(original)
      pending.push({ due: end + faults().correctionDelaySimMs, cluster, json: JSON.stringify(corrected), record: { sym, s: original.s, original, corrected } })
    }
    return JSON.stringify(e)
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

  const subscribed = () => deps.connections().some((c) => c.live && !c.subs.isEmpty())
  const maxBuffered = () => deps.connections().reduce((m, c) => (c.live ? Math.max(m, c.ws.bufferedAmount) : m), 0)

  const schedule = (ms: number): void => {
    if (!running || deps.connections().length === 0) return
    timer = ms <= 0 ? setImmediate(step) : setTimeout(step, ms)
  }

  const stepMax = (): void => {
    if (!subscribed()) return schedule(SLICE_MS)
    const t0 = Date.now()
    while (Date.now() - t0 < SLICE_MS) {
      if (maxBuffered() > HIGH_WATER) return schedule(2)
      advance(Infinity)
      if (!subscribed()) break
    }
    schedule(0)
  }

  const stepTimed = (speed: number): void => {
    const delay = faults().delayMs
    const target = alignDown(clock.now() - delay)
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
