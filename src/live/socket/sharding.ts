/**
 * Which connections to open: one per cluster, and more when a cluster has more subscriptions
 * than `live.max_subscriptions_per_connection` (the excess is sharded over further connections).
 */
import type { LiveFeed } from "../writer/wsRows.js"
import type { Cluster } from "./protocol.js"
import type { DynamicSubscriptions } from "./liveShards.js"

export interface ConnectionSpec {
  /** Stable id, e.g. `options-1`: names the fiber, the metrics source and journal markers. */
  readonly id: string
  readonly cluster: Cluster
  readonly feed: LiveFeed
  /** Subscription params, e.g. `A.O:SPY251030C00580000`. */
  readonly params: ReadonlyArray<string>
  /** The tickers those params cover (for gap repair). */
  readonly tickers: ReadonlyArray<string>
  /** Set when the subscriptions change during the day (re-centring): then `params`/`tickers` are only the initial ones. */
  readonly subscriptions?: DynamicSubscriptions
}

export const clusterOf = (feed: LiveFeed): Cluster =>
  feed === "spy" ? "stocks" : feed === "options" ? "options" : "indices"

export const shard = <A>(items: ReadonlyArray<A>, max: number): ReadonlyArray<ReadonlyArray<A>> => {
  if (max < 1) throw new Error(`max subscriptions per connection must be >= 1, got ${max}`)
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += max) out.push(items.slice(i, i + max))
  return out
}

/** Connection specs for a feed's tickers, with event prefix `A` (second) or `AM` (minute). */
export const connectionsFor = (
  feed: LiveFeed,
  tickers: ReadonlyArray<string>,
  ev: "A" | "AM",
  maxPerConnection: number
): ReadonlyArray<ConnectionSpec> =>
  shard(tickers, maxPerConnection).map((group, i) => ({
    id: `${feed}-${i}`,
    cluster: clusterOf(feed),
    feed,
    params: group.map((t) => `${ev}.${t}`),
    tickers: group
  }))
