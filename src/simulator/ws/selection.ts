/**
 * What a connection receives on a date: its subscribed (event type, ticker) series in send order
 * within a second: A, then AM, then V (indices only); within a type, the subscription order, or
 * the cluster's universe when the type is subscribed with `*`. Wildcards expand to the market's
 * universe (MarketData.universe): its stocks (/stocks: SPY, QQQ, IWM), its indices (/indices:
 * I:VIX, I:SPX, I:NDX, I:RUT) and every contract listed on the date, chain after chain in the
 * universe's order (/options: SPY's ~1,160, then QQQ's ~1,000 and IWM's ~470).
 */
import { listedContracts, type MarketData, universeOf } from "../MarketData.js"
import type { Connection } from "./connection.js"
import type { Cluster, EventType } from "./events.js"

export const EVENT_TYPES: Readonly<Record<Cluster, ReadonlyArray<EventType>>> = {
  stocks: ["A", "AM"],
  options: ["A", "AM"],
  indices: ["A", "AM", "V"]
}

export interface Selection {
  readonly date: string
  /** Subscription version it was made from. */
  readonly version: number
  readonly series: ReadonlyArray<{ readonly ev: EventType; readonly sym: string }>
  /** Identifies the series list (cluster, types and tickers in order): equal keys, equal events. */
  readonly key: string
}

export const makeUniverse = (market: MarketData) => {
  const options = new Map<string, ReadonlyArray<string>>()
  const { stocks, indices } = universeOf(market)
  return (cluster: Cluster, date: string): ReadonlyArray<string> => {
    if (cluster !== "options") return cluster === "stocks" ? stocks : indices
    let u = options.get(date)
    if (!u) {
      if (options.size > 16) options.clear()
      options.set(date, (u = listedContracts(market, date).map((c) => c.ticker)))
    }
    return u
  }
}
export type Universe = ReturnType<typeof makeUniverse>

/** The tickers of one event type a connection receives on a date. */
export const symbolsOf = (c: Connection, ev: EventType, date: string, universe: Universe): ReadonlyArray<string> =>
  c.subs.wildcard(ev) ? universe(c.cluster, date) : c.subs.symbols(ev)

export const selectionOf = (c: Connection, date: string, universe: Universe): Selection => {
  const series: Array<{ ev: EventType; sym: string }> = []
  for (const ev of EVENT_TYPES[c.cluster]) for (const sym of symbolsOf(c, ev, date, universe)) series.push({ ev, sym })
  return {
    date,
    version: c.subs.version,
    series,
    key: `${c.cluster}|${series.map((s) => `${s.ev}.${s.sym}`).join(",")}`
  }
}
