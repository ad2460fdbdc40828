/**
 * The options feed of a backfill day over every configured underlying: each underlying's contract
 * set chosen from its own official open by its own rule (ContractRegistry), then its contracts'
 * bars (optionsDay.ts). One underlying is today's options day (`_day`); with several each is its
 * own part of the partition (checkpoint and staging named after it, `--overwrite` replacing only
 * its contracts' rows), run one after the other so the REST concurrency stays per contract.
 * `only`: one underlying's part alone (a cluster unit), as it runs within the whole feed.
 */
import { Effect } from "effect"
import type { UnderlyingRule } from "../../config/universe.js"
import type { MarketHoliday } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import { readJsonIfExists } from "../../lib/atomicFile.js"
import { fileIo } from "../../lib/fileIo.js"
import { ContractRegistry } from "../../live/contracts/ContractRegistry.js"
import { type ContractSet, contractsFile } from "../../live/contracts/contractSet.js"
import { AppSettings } from "../../services/AppSettings.js"
import { sqlString } from "../../services/DuckDb.js"
import { optionsDay, type UnderlyingScope } from "./optionsDay.js"
import type { BackfillRun } from "./run.js"
import { sumResults, type UnitResult } from "./unit.js"

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")

/**
 * The option rows of an underlying: OCC tickers of its root (an adjusted root adds a digit,
 * `O:SPY1…`), and any contract of its previous or new set (a root that differs from the ticker).
 */
export const underlyingContracts = (underlying: string, tickers: ReadonlyArray<string>): string => {
  const root = `regexp_matches(ticker, ${sqlString(`^O:${regexEscape(underlying)}[0-9]?[0-9]{6}[CP][0-9]{8}$`)})`
  return tickers.length === 0 ? root : `(${root} OR ticker IN (${[...new Set(tickers)].map(sqlString).join(", ")}))`
}

export const optionsFor = (
  run: BackfillRun,
  date: string,
  holidays: ReadonlyMap<string, MarketHoliday>,
  onSet: (contracts: number) => Effect.Effect<void>,
  only?: string
) =>
  Effect.gen(function* () {
    const settings = yield* AppSettings
    const registry = yield* ContractRegistry
    if (only !== undefined && !settings.underlyings.some((u) => u.ticker === only)) return undefined
    if (settings.underlyings.length <= 1) {
      const set = yield* registry.daySet(date, holidays, { overwrite: run.overwrite })
      if (set === undefined) return undefined
      yield* onSet(set.contracts.length)
      return yield* optionsDay(run, set, () => Effect.void)
    }
    const paths = lakePaths(settings.storage.root)
    const one = (rule: UnderlyingRule) =>
      Effect.gen(function* () {
        const file = contractsFile({ settings, paths }, date, rule.ticker)
        const previous = run.overwrite
          ? yield* fileIo("read", file, () => readJsonIfExists<ContractSet>(file))
          : undefined
        const set = yield* registry.daySet(date, holidays, { overwrite: run.overwrite, rule })
        if (set === undefined) return undefined
        const scope: UnderlyingScope = {
          underlying: rule.ticker,
          replaceWhere: underlyingContracts(rule.ticker, [
            ...(previous?.contracts ?? []).map((c) => c.ticker),
            ...set.contracts.map((c) => c.ticker)
          ])
        }
        return { contracts: set.contracts.length, result: yield* optionsDay(run, set, () => Effect.void, scope) }
      })
    const rules = settings.underlyings.filter((u) => only === undefined || u.ticker === only)
    const parts = (yield* Effect.forEach(rules, one)).filter((p) => p !== undefined)
    if (parts.length === 0) return undefined
    yield* onSet(parts.reduce((n, p) => n + p.contracts, 0))
    return sumResults(parts.map((p): UnitResult => p.result))
  })
