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
  Number.isFinite(price) && price > 0 && Math.abs(price - state.anchor) > state.anchor * rule.bandPct && nowMs - state.changedAtMs >= rule.cooldownMs

export interface SubscriptionChange {
  readonly add: ReadonlyArray<string>
  readonly drop: ReadonlyArray<string>
  readonly next: ReadonlyArray<string>
}

/** What to subscribe and unsubscribe to go from `current` to `target` (order of `target` kept). */
export const subscriptionChange = (current: ReadonlyArray<string>, target: ReadonlyArray<string>): SubscriptionChange => {
  const now = new Set(current)
  const wanted = new Set(target)
  return { add: target.filter((t) => !now.has(t)), drop: current.filter((t) => !wanted.has(t)), next: [...target] }
}
