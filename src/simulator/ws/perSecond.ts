/**
 * The per-second replay step: for one window end E, each live subscribed connection gets one
 * frame with the `A` events of windows [E-1000, E), the `AM` events of [E-60000, E) when E is a
 * minute boundary and index `V` events (selection.ts order), then the corrections due. Used at
 * the timed speeds, and at `max` while duplicates, corrections or half-open connections are in
 * play. Faults (faults.ts): half-open by connection age, corrections (`correctionEvery` counts
 * the A events built while it is on, one counter per server), a drop after E's frames when E is
 * on the `dropEverySimSeconds` grid.
 */
import type { Connection } from "./connection.js"
import type { AggEvent, Cluster, EventSource, EventType, WireEvent } from "./events.js"
import { correct, correctionKey, type CorrectionRecord, isNth, isStalled, type WsFaults } from "./faults.js"
import { EVENT_TYPES, symbolsOf, type Universe } from "./selection.js"
import type { WsStats } from "./stats.js"

interface PendingCorrection {
  readonly due: number
  readonly cluster: Cluster
  readonly json: string
  readonly record: Omit<CorrectionRecord, "sentAtSimMs">
}

export interface PerSecondDeps {
  readonly events: EventSource
  readonly universe: Universe
  readonly faults: () => WsFaults
  readonly stats: WsStats
  readonly connections: () => ReadonlyArray<Connection>
  readonly dropAll: () => void
}

export const makePerSecond = (deps: PerSecondDeps) => {
  const { events, faults, stats } = deps
  let aCount = 0
  let pending: Array<PendingCorrection> = []
  const corrections = new Map<string, CorrectionRecord>()

  const build = (cluster: Cluster, ev: EventType, sym: string, end: number, date: string): string | undefined => {
    const day = events.day(sym, date)
    if (ev === "A") {
      const json = day.secondJson(end - 1000)
      if (json !== undefined && cluster !== "indices" && isNth(++aCount, faults().correctionEvery)) {
        const original = day.second(end - 1000) as AggEvent
        const corrected = correct(original)
        pending.push({
          due: end + faults().correctionDelaySimMs,
          cluster,
          json: JSON.stringify(corrected),
          record: { sym, s: original.s, original, corrected }
        })
      }
      return json
    }
    let e: WireEvent | undefined
    if (ev === "AM") e = end % 60_000 === 0 ? day.minute(end - 60_000) : undefined
    else if (ev === "V" && cluster === "indices") e = day.value(end - 1000)
    return e === undefined ? undefined : JSON.stringify(e)
  }

  /** Send the frames of window end `end` (a second of `date`'s session). */
  const processWindowEnd = (end: number, date: string): void => {
    const f = faults()
    const all = deps.connections()
    if (f.halfOpenAfterSimSeconds > 0)
      for (const c of all) if (c.live && end - c.connectedAtSim >= f.halfOpenAfterSimSeconds * 1000) c.goHalfOpen()
    if (isStalled(f, end)) for (const c of all) if (c.live) c.goHalfOpen()
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
      for (const ev of EVENT_TYPES[c.cluster])
        for (const sym of symbolsOf(c, ev, date, deps.universe)) {
          const key = `${c.cluster}|${ev}|${sym}`
          let json = built.get(key)
          if (json === undefined && !built.has(key)) built.set(key, (json = build(c.cluster, ev, sym, end, date)))
          if (json !== undefined) out.push(json)
        }
      for (const p of due) if (p.cluster === c.cluster && c.subs.has("A", p.record.sym)) out.push(p.json)
      if (out.length > 0) c.deliver(out)
    }
    if (f.dropEverySimSeconds > 0 && end % (f.dropEverySimSeconds * 1000) === 0 && all.some((c) => !c.closed)) {
      stats.drops++
      deps.dropAll()
    }
  }

  return {
    processWindowEnd,
    /** Corrections not yet broadcast (the batched path waits for them). */
    hasPending: (): boolean => pending.length > 0,
    corrections: (): ReadonlyMap<string, CorrectionRecord> => corrections
  }
}
export type PerSecond = ReturnType<typeof makePerSecond>
