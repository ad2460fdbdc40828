/**
 * Subscriptions that change while a connection is open (intraday re-centring of the options).
 *
 * `planShards` (pure) moves a change onto the shards: dropped tickers leave their shard, added
 * ones fill the existing shards with room (in shard order) and then new shards of at most `max`;
 * a shard left empty is closed (an empty connection would only trip the idle watchdog).
 *
 * `LiveShard` is one shard at run time: FeedSocket subscribes `current()` on every (re)connect
 * (so a reconnect resubscribes the current set, not the open's) and, once subscribed, `attach`es
 * a sender through which later changes go out as `unsubscribe`/`subscribe` messages.
 */
import { controlMessages } from "./protocol.js"

export interface ShardState {
  readonly id: string
  readonly tickers: ReadonlyArray<string>
}

export interface ShardChange {
  readonly id: string
  readonly subscribe: ReadonlyArray<string>
  readonly unsubscribe: ReadonlyArray<string>
}

export interface ShardPlan {
  /** Every shard after the change (closed ones left out, opened ones last). */
  readonly shards: ReadonlyArray<ShardState>
  /** Existing shards whose subscriptions change. */
  readonly changes: ReadonlyArray<ShardChange>
  /** New shards (their connection subscribes them when it opens). */
  readonly opened: ReadonlyArray<ShardState>
  /** Shards left empty: their connection is closed. */
  readonly closed: ReadonlyArray<string>
}

export const planShards = (
  shards: ReadonlyArray<ShardState>,
  add: ReadonlyArray<string>,
  drop: ReadonlyArray<string>,
  max: number,
  newId: () => string
): ShardPlan => {
  if (max < 1) throw new Error(`max subscriptions per connection must be >= 1, got ${max}`)
  const dropped = new Set(drop)
  const work = shards.map((s) => ({
    id: s.id,
    tickers: s.tickers.filter((t) => !dropped.has(t)),
    subscribe: [] as Array<string>,
    unsubscribe: s.tickers.filter((t) => dropped.has(t))
  }))
  const queue = [...add]
  for (const s of work) {
    while (s.tickers.length < max && queue.length > 0) {
      const t = queue.shift()!
      s.tickers.push(t)
      s.subscribe.push(t)
    }
  }
  const opened: Array<ShardState> = []
  while (queue.length > 0) opened.push({ id: newId(), tickers: queue.splice(0, max) })
  const kept = work.filter((s) => s.tickers.length > 0)
  return {
    shards: [...kept.map((s) => ({ id: s.id, tickers: s.tickers })), ...opened],
    changes: kept
      .filter((s) => s.subscribe.length > 0 || s.unsubscribe.length > 0)
      .map((s) => ({ id: s.id, subscribe: s.subscribe, unsubscribe: s.unsubscribe })),
    opened,
    closed: work.filter((s) => s.tickers.length === 0).map((s) => s.id)
  }
}

/** What FeedSocket needs from a connection whose subscriptions may change (see sharding.ts `ConnectionSpec.subscriptions`). */
export interface DynamicSubscriptions {
  /** The tickers and params to subscribe now. */
  readonly current: () => { readonly tickers: ReadonlyArray<string>; readonly params: ReadonlyArray<string> }
  /** The session has subscribed `current()`: later changes go through `send` until the returned detach is called. */
  readonly attach: (send: (message: string) => void) => () => void
}

export class LiveShard implements DynamicSubscriptions {
  private tickers: Array<string>
  private sender: ((message: string) => void) | undefined
  constructor(
    readonly id: string,
    readonly ev: "A" | "AM",
    tickers: ReadonlyArray<string>
  ) {
    this.tickers = [...tickers]
  }

  readonly current = () => ({ tickers: [...this.tickers], params: this.tickers.map((t) => `${this.ev}.${t}`) })

  readonly attach = (send: (message: string) => void) => {
    this.sender = send
    return () => {
      if (this.sender === send) this.sender = undefined
    }
  }

  get attached(): boolean {
    return this.sender !== undefined
  }

  get state(): ShardState {
    return { id: this.id, tickers: [...this.tickers] }
  }

  /**
   * Apply a change: the set is updated, and when a session is subscribed the messages go out now
   * (unsubscribe first, so the server never holds more than the maximum). Returns the messages sent.
   */
  apply(change: ShardChange): ReadonlyArray<string> {
    const gone = new Set(change.unsubscribe)
    this.tickers = [...this.tickers.filter((t) => !gone.has(t)), ...change.subscribe]
    const send = this.sender
    if (send === undefined) return []
    const messages = [
      ...controlMessages(
        "unsubscribe",
        change.unsubscribe.map((t) => `${this.ev}.${t}`)
      ),
      ...controlMessages(
        "subscribe",
        change.subscribe.map((t) => `${this.ev}.${t}`)
      )
    ]
    for (const m of messages) {
      try {
        send(m)
      } catch {
        // The socket is going away: its next session subscribes `current()`.
      }
    }
    return messages
  }
}
