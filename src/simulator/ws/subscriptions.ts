/**
 * A connection's subscriptions: `EV.SYMBOL` channels (`A.SPY`, `AM.O:SPY…`, `V.I:VIX`) and
 * wildcards (`A.*`). Any channel is acknowledged; only A, AM (all clusters) and V (indices)
 * produce events.
 */
export interface Channel {
  readonly ev: string
  readonly sym: string
}

/** `"A.SPY, AM.SPY"` → `["A.SPY", "AM.SPY"]` (split on commas, trimmed, empties dropped). */
export const splitParams = (params: unknown): ReadonlyArray<string> =>
  typeof params === "string"
    ? params
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p.length > 0)
    : []

/** `A.O:SPY251030C00580000` → `{ev: "A", sym: "O:SPY251030C00580000"}` (split at the first dot). */
export const parseChannel = (param: string): Channel | undefined => {
  const dot = param.indexOf(".")
  return dot <= 0 || dot === param.length - 1 ? undefined : { ev: param.slice(0, dot), sym: param.slice(dot + 1) }
}

export class Subscriptions {
  private readonly byEv = new Map<string, Set<string>>()
  /** Bumped by every add/remove (the replay caches per-connection selections by it). */
  version = 0
  /** Wall-clock time of the last add/remove (the replay at max waits for subscriptions to settle). */
  changedAtMs = 0

  add(param: string): void {
    const ch = parseChannel(param)
    if (!ch) return
    this.version++
    this.changedAtMs = Date.now()
    let set = this.byEv.get(ch.ev)
    if (!set) this.byEv.set(ch.ev, (set = new Set()))
    set.add(ch.sym)
  }

  remove(param: string): void {
    const ch = parseChannel(param)
    if (!ch) return
    this.version++
    this.changedAtMs = Date.now()
    const set = this.byEv.get(ch.ev)
    set?.delete(ch.sym)
    if (set?.size === 0) this.byEv.delete(ch.ev)
  }

  isEmpty(): boolean {
    return this.byEv.size === 0
  }

  wildcard(ev: string): boolean {
    return this.byEv.get(ev)?.has("*") ?? false
  }

  has(ev: string, sym: string): boolean {
    const set = this.byEv.get(ev)
    return set !== undefined && (set.has(sym) || set.has("*"))
  }

  /** Explicit (non-wildcard) symbols of an event type. */
  symbols(ev: string): ReadonlyArray<string> {
    return [...(this.byEv.get(ev) ?? [])].filter((s) => s !== "*")
  }
}
