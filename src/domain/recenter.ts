/**
 * Intraday re-centring of the option contract set (`options.recenter`). The set is centred on an
 * anchor price (SPY's official open at first). When SPY's price has moved more than `bandPct`
 * away from the anchor and `cooldownMs` has passed since the last change, the set is chosen again
 * with the day's rule around the current price and the price becomes the new anchor. Hysteresis
 * comes from both: a price wobbling around one level never flips the set back and forth, because
 * the anchor moves with each change and the next one needs a full `bandPct` move again.
 */
export interface RecenterRule {
  readonly bandPct: number
  readonly cooldownMs: number
}

export interface RecenterState {
  readonly anchor: number
  readonly changedAtMs: number
}

export const shouldRecenter = (state: RecenterState, price: number, nowMs: number, rule: RecenterRule): boolean =>
  Number.isFinite(price) &&
  price > 0 &&
  Math.abs(price - state.anchor) > state.anchor * rule.bandPct &&
  nowMs - state.changedAtMs >= rule.cooldownMs

export interface SubscriptionChange {
  readonly add: ReadonlyArray<string>
  readonly drop: ReadonlyArray<string>
  readonly next: ReadonlyArray<string>
}

/** What to subscribe and unsubscribe to go from `current` to `target` (order of `target` kept). */
export const subscriptionChange = (
  current: ReadonlyArray<string>,
  target: ReadonlyArray<string>
): SubscriptionChange => {
  const now = new Set(current)
  const wanted = new Set(target)
  return { add: target.filter((t) => !now.has(t)), drop: current.filter((t) => !wanted.has(t)), next: [...target] }
}

/**
 * One re-centring, as written to `raw/contracts/date=D/recenter.ndjson` (one JSON line each):
 * when (Clock ms), at which SPY price, the anchor before and after, the tickers added and dropped,
 * and the whole set afterwards (nearest the money first), so a restart resumes from the last line.
 * `window_ms` is the same moment in market time: the end of the SPY bar that decided, i.e. the
 * first window start the new set applies to (what gap repair and the lake periods use, so they do
 * not depend on the local clock agreeing with the feed's, e.g. on a delayed feed).
 */
export interface RecenterEntry {
  readonly at_ms: number
  readonly at: string
  readonly window_ms: number
  readonly spy_price: number
  readonly old_anchor: number
  readonly new_anchor: number
  readonly added: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
  readonly contracts: ReadonlyArray<string>
}

export interface RecenterTracker extends RecenterState {
  /** The contract set now (nearest the money first). */
  readonly current: ReadonlyArray<string>
}

/**
 * The rule applied to one SPY price at `nowMs` (Clock), from the bar ending at `windowMs` (market
 * time): the entry to record, or undefined when nothing changes. `target(price)` chooses the set
 * around a price (the day's selection rule); an empty target (no listed strike near the price)
 * changes nothing.
 */
export const decide = (
  state: RecenterTracker,
  price: number,
  nowMs: number,
  rule: RecenterRule,
  target: (price: number) => ReadonlyArray<string>,
  windowMs: number = nowMs
): RecenterEntry | undefined => {
  if (!shouldRecenter(state, price, nowMs, rule)) return undefined
  const next = target(price)
  if (next.length === 0) return undefined
  const change = subscriptionChange(state.current, next)
  return {
    at_ms: nowMs,
    at: new Date(nowMs).toISOString(),
    window_ms: windowMs,
    spy_price: price,
    old_anchor: state.anchor,
    new_anchor: price,
    added: change.add,
    dropped: change.drop,
    contracts: change.next
  }
}

/** The tracker after an entry. */
export const afterEntry = (e: RecenterEntry): RecenterTracker => ({
  anchor: e.new_anchor,
  changedAtMs: e.at_ms,
  current: e.contracts
})

export interface ReplayedRecenter extends RecenterTracker {
  /** Per ticker of the current set that a re-centring added: the `window_ms` of its latest addition. */
  readonly addedAt: ReadonlyMap<string, number>
  /** Per ticker no longer in the set: the `window_ms` it was last dropped at. */
  readonly droppedAt: ReadonlyMap<string, number>
  /** Tickers that were not in the open's set, in the order they were first added, with the entry that added them. */
  readonly listed: ReadonlyArray<{ readonly ticker: string; readonly entry: RecenterEntry }>
}

/** Where a day stands after its recorded entries (the open's set, anchor and time when there are none). */
export const replay = (initial: RecenterTracker, entries: ReadonlyArray<RecenterEntry>): ReplayedRecenter => {
  let state: RecenterTracker = initial
  const addedAt = new Map<string, number>()
  const droppedAt = new Map<string, number>()
  const seen = new Set(initial.current)
  const listed: Array<{ ticker: string; entry: RecenterEntry }> = []
  for (const e of entries) {
    for (const t of e.dropped) {
      addedAt.delete(t)
      droppedAt.set(t, e.window_ms)
    }
    for (const t of e.added) {
      droppedAt.delete(t)
      addedAt.set(t, e.window_ms)
      if (!seen.has(t)) {
        seen.add(t)
        listed.push({ ticker: t, entry: e })
      }
    }
    state = afterEntry(e)
  }
  return { ...state, addedAt, droppedAt, listed }
}

/** The first window start a subscription change at `ms` applies to (the window containing `ms`). */
export const windowFloor = (ms: number, stepMs: number): number => Math.floor(ms / stepMs) * stepMs
