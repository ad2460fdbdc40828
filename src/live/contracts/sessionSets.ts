/**
 * Every configured underlying's option set for a live session, chosen concurrently at the open
 * (ContractRegistry.sessionSet, each by its own rule). An underlying whose set cannot be chosen
 * is logged and left out, so its options are not streamed today while the others' are.
 */
import { Array as Arr, Effect, Option } from "effect"
import type { UnderlyingRule } from "../../config/universe.js"
import type { Session } from "../../domain/calendar.js"
import { AppSettings } from "../../services/AppSettings.js"
import { ContractRegistry } from "./ContractRegistry.js"
import type { ContractSet } from "./contractSet.js"

/** An underlying's rule and the set chosen by it today. */
export interface ChosenSet {
  readonly rule: UnderlyingRule
  readonly set: ContractSet
}

export const sessionSets = (session: Session, feedDelayMs: number) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const registry = yield* ContractRegistry
    const one = settings.underlyings.length === 1
    const sets = yield* Effect.forEach(
      settings.underlyings,
      (rule) =>
        registry.sessionSet(session, feedDelayMs, rule).pipe(
          Effect.map((set) => Option.some<ChosenSet>({ rule, set })),
          Effect.catchAllCause((cause) =>
            Effect.as(
              Effect.logError(
                one
                  ? "option contracts unavailable: options are not streamed today"
                  : `${rule.ticker} option contracts unavailable: its options are not streamed today`,
                cause
              ),
              Option.none<ChosenSet>()
            )
          )
        ),
      { concurrency: "unbounded" }
    )
    return Arr.getSomes(sets)
  })

/** The tickers of several sets, in configuration order (one subscription list for the options cluster). */
export const setTickers = (sets: ReadonlyArray<ChosenSet>): ReadonlyArray<string> =>
  sets.flatMap((s) => s.set.contracts.map((c) => c.ticker))

/** A further underlying's ticker (its own files), undefined for the first. */
export const otherUnderlying = (settings: { readonly tickers: { readonly underlying: string } }, ticker: string) =>
  ticker === settings.tickers.underlying ? undefined : ticker
