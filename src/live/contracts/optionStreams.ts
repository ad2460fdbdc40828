/**
 * The day's option streams, once each underlying's set is chosen at its open (sessionSets.ts):
 * an underlying with `recenter.enabled` owns its connections (Recenter.ts, following its own
 * price), the others' contracts are sharded together over the options connections.
 */
import { Effect } from "effect"
import type { Session } from "../../domain/calendar.js"
import type { JournalHandle } from "../journal/Journal.js"
import type { ConnectionSpec } from "../socket/sharding.js"
import * as Recenter from "./Recenter.js"
import { type ChosenSet, sessionSets, setTickers } from "./sessionSets.js"
import type { SpyPrices } from "./spyPrice.js"

export interface OptionStreamsConfig<R> {
  readonly session: Session
  readonly feedDelayMs: number
  readonly ev: "A" | "AM"
  /** The options journal. */
  readonly journal: JournalHandle
  /** Each re-centring underlying's prices from the /stocks stream (absent: REST polling). */
  readonly prices: ReadonlyMap<string, SpyPrices>
  /** Subscribe the fixed contracts, sharded; `renamed` when re-centring connections run beside them (other ids). */
  readonly connectFixed: (tickers: ReadonlyArray<string>, renamed: boolean) => Effect.Effect<void, never, R>
  readonly openConnection: (spec: ConnectionSpec) => Effect.Effect<unknown, never, R>
  readonly closeConnection: (id: string) => Effect.Effect<void>
  /** Told the chosen sets before anything streams (the day's tail reads them). */
  readonly onSets: (sets: ReadonlyArray<ChosenSet>) => void
}

export const streamOptions = <R>(cfg: OptionStreamsConfig<R>) =>
  Effect.gen(function* () {
    const chosen = yield* sessionSets(cfg.session, cfg.feedDelayMs)
    cfg.onSets(chosen)
    const moving = chosen.filter((c) => c.rule.recenter.enabled)
    const fixed = chosen.filter((c) => !c.rule.recenter.enabled)
    if (fixed.length > 0) yield* cfg.connectFixed(setTickers(fixed), moving.length > 0)
    yield* Effect.forEach(
      moving,
      (c) =>
        Recenter.run({
          session: cfg.session,
          set: c.set,
          rule: c.rule,
          ev: cfg.ev,
          journal: cfg.journal,
          prices: cfg.prices.get(c.rule.ticker),
          feedDelayMs: cfg.feedDelayMs,
          openConnection: cfg.openConnection,
          closeConnection: cfg.closeConnection
        }),
      { concurrency: "unbounded", discard: true }
    )
  })
