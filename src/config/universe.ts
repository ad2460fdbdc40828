/**
 * Many underlyings (`underlyings:`) and indices (`indices:`), the configuration half of the issue
 * "Many underlyings":
 *
 *   underlyings:                      # default: one, from tickers.underlying and options.*
 *     - ticker: SPY                   # every key but ticker defaults to options.* (and news: true)
 *       strike_band_pct: 0.01
 *       max_contracts: 100
 *       expiration: next_trading_day
 *       recenter: { enabled: false, band_pct: 0.005, cooldown_s: 300 }
 *       news: true
 *     - ticker: QQQ
 *   indices: ["I:VIX"]                # default: [tickers.index]
 *
 * `resolveUniverse` checks the lists (valid, distinct tickers) and keeps the rest of the settings
 * consistent: the first underlying is `tickers.underlying` and its rule is `options.*`, the first
 * index is `tickers.index`, so a one-underlying config means exactly what it meant before.
 */
import { Config, ConfigError, Either, Option } from "effect"

export type Expiration = "next_trading_day" | "same_day"

export interface RecenterRule {
  readonly enabled: boolean
  readonly bandPct: number
  readonly cooldownS: number
}

/** One underlying: its per-second bars, its option set (chosen at the open by this rule) and its news. */
export interface UnderlyingRule {
  readonly ticker: string
  readonly strikeBandPct: number
  readonly maxContracts: number
  readonly expiration: Expiration
  readonly recenter: RecenterRule
  readonly news: boolean
}

const TICKER = /^[A-Za-z0-9:._-]{1,40}$/
const safe = (t: string) => TICKER.test(t) && !t.includes("..")

const partialRule = Config.all({
  ticker: Config.string("ticker"),
  strikeBandPct: Config.option(Config.number("strike_band_pct")),
  maxContracts: Config.option(Config.integer("max_contracts")),
  expiration: Config.option(Config.literal("next_trading_day", "same_day")("expiration")),
  recenter: Config.option(
    Config.all({
      enabled: Config.option(Config.boolean("enabled")),
      bandPct: Config.option(Config.number("band_pct")),
      cooldownS: Config.option(Config.integer("cooldown_s"))
    }).pipe(Config.nested("recenter"))
  ),
  news: Config.option(Config.boolean("news"))
})
export type PartialRule = Config.Config.Success<typeof partialRule>

/** The raw lists, absent when not configured (the EMPTY_LIST marker is not a ticker: an empty list is refused). */
export const UniverseConfig = Config.all({
  underlyings: Config.option(Config.array(partialRule, "underlyings")),
  indices: Config.option(
    Config.array(Config.string(), "indices").pipe(Config.map((l) => l.filter((t) => t !== "<empty list>")))
  )
})
export type UniverseInput = Config.Config.Success<typeof UniverseConfig>

/** What `options.*` and `tickers.*` say: the defaults of every underlying's rule. */
export interface UniverseDefaults {
  readonly tickers: { readonly underlying: string; readonly index: string }
  readonly options: Omit<UnderlyingRule, "ticker" | "news"> & { readonly underlying: string }
}

export interface Universe {
  readonly underlyings: ReadonlyArray<UnderlyingRule>
  readonly indices: ReadonlyArray<string>
}

const ruleOf = (p: PartialRule, d: UniverseDefaults["options"]): UnderlyingRule => {
  const r = Option.getOrUndefined(p.recenter)
  return {
    ticker: p.ticker,
    strikeBandPct: Option.getOrElse(p.strikeBandPct, () => d.strikeBandPct),
    maxContracts: Option.getOrElse(p.maxContracts, () => d.maxContracts),
    expiration: Option.getOrElse(p.expiration, () => d.expiration),
    recenter: {
      enabled: r ? Option.getOrElse(r.enabled, () => d.recenter.enabled) : d.recenter.enabled,
      bandPct: r ? Option.getOrElse(r.bandPct, () => d.recenter.bandPct) : d.recenter.bandPct,
      cooldownS: r ? Option.getOrElse(r.cooldownS, () => d.recenter.cooldownS) : d.recenter.cooldownS
    },
    news: Option.getOrElse(p.news, () => true)
  }
}

const problems = (u: Universe): ReadonlyArray<string> => {
  const out: Array<string> = []
  const all = [...u.underlyings.map((r) => r.ticker), ...u.indices]
  if (u.underlyings.length === 0) out.push("underlyings: at least one underlying is needed")
  if (u.indices.length === 0) out.push("indices: at least one index is needed")
  for (const t of all) if (!safe(t)) out.push(`${JSON.stringify(t)}: a ticker is 1-40 of A-Z a-z 0-9 : . _ -`)
  const seen = new Set<string>()
  for (const t of all) {
    if (seen.has(t)) out.push(`${t} is listed twice`)
    seen.add(t)
  }
  for (const t of u.indices) if (!t.startsWith("I:")) out.push(`indices: ${t} is not an index ticker (I:…)`)
  for (const r of u.underlyings) {
    if (!(r.strikeBandPct > 0)) out.push(`underlyings ${r.ticker}: strike_band_pct must be > 0`)
    if (!(r.maxContracts >= 1)) out.push(`underlyings ${r.ticker}: max_contracts must be >= 1`)
  }
  return out
}

/** The universe, or every problem with it (one message per problem). */
export const resolveUniverse = (
  input: UniverseInput,
  defaults: UniverseDefaults
): Either.Either<Universe, ReadonlyArray<string>> => {
  const o = defaults.options
  const universe: Universe = {
    underlyings: Option.match(input.underlyings, {
      onNone: () => [
        {
          ticker: o.underlying,
          strikeBandPct: o.strikeBandPct,
          maxContracts: o.maxContracts,
          expiration: o.expiration,
          recenter: o.recenter,
          news: true
        }
      ],
      onSome: (list) => list.map((p) => ruleOf(p, defaults.options))
    }),
    indices: Option.getOrElse(input.indices, () => [defaults.tickers.index])
  }
  const bad = problems(universe)
  return bad.length > 0 ? Either.left(bad) : Either.right(universe)
}

/**
 * `base` with `underlyings` and `indices`, and with `tickers.*` and `options.*` made to agree with
 * their first entries (what the one-underlying parts of the platform read).
 */
export const applyUniverse = <S extends UniverseDefaults>(
  base: S,
  input: UniverseInput
): Either.Either<S & Universe, ConfigError.ConfigError> =>
  Either.match(resolveUniverse(input, base), {
    onLeft: (bad) => Either.left(ConfigError.InvalidData(["underlyings"], bad.join("; "))),
    onRight: (u) => {
      const { ticker, news: _news, ...rule } = u.underlyings[0]!
      return Either.right({
        ...base,
        tickers: { ...base.tickers, underlying: ticker, index: u.indices[0]! },
        options: { ...base.options, ...rule, underlying: ticker },
        underlyings: u.underlyings,
        indices: u.indices
      })
    }
  })
