/**
 * What the simulator replays: a deterministic market, synthetic (SyntheticMarket, the default)
 * or read back from a recorded lake (LakeMarket). REST and WebSocket both serve from one
 * MarketData, so they agree bar for bar.
 */
import type { MarketHoliday } from "../domain/calendar.js"
import { SPY, VIX } from "../domain/tickers.js"

/** One REST aggregate result item for a stock or option (`/v2/aggs`, §6 of polygon-wire.md). */
export interface WireAgg {
  readonly v: number
  readonly vw: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly t: number
  readonly n: number
}

/** One REST aggregate result item for an index: no volume fields. */
export interface WireIndexAgg {
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly t: number
}

export interface WireContract {
  readonly cfi: string
  readonly contract_type: "call" | "put"
  readonly exercise_style: "american"
  readonly expiration_date: string
  readonly primary_exchange: string
  readonly shares_per_contract: number
  readonly strike_price: number
  readonly ticker: string
  readonly underlying_ticker: string
}

export interface WireArticle {
  readonly id: string
  readonly publisher: {
    readonly name: string
    readonly homepage_url: string
    readonly logo_url: string
    readonly favicon_url?: string
  }
  readonly title: string
  readonly author: string
  readonly published_utc: string
  readonly article_url: string
  readonly tickers: ReadonlyArray<string>
  readonly amp_url?: string
  readonly image_url?: string
  readonly description?: string
  readonly keywords?: ReadonlyArray<string>
  readonly insights?: ReadonlyArray<{
    readonly ticker: string
    readonly sentiment: "positive" | "neutral" | "negative"
    readonly sentiment_reasoning: string
  }>
}

/** The tickers a market serves: what the WebSocket wildcards expand to, per cluster. */
export interface MarketUniverse {
  /** `/stocks` tickers; the first is the primary underlying (the default of `contracts`). */
  readonly stocks: ReadonlyArray<string>
  /** `/indices` tickers. */
  readonly indices: ReadonlyArray<string>
  /** The stocks with listed options, in the order their chains are concatenated. */
  readonly optionUnderlyings: ReadonlyArray<string>
}

/** SPY, I:VIX and SPY's options: the universe of a market that declares none (a recorded lake). */
export const DEFAULT_UNIVERSE: MarketUniverse = { stocks: [SPY], indices: [VIX], optionUnderlyings: [SPY] }

export interface MarketData {
  /** Holidays and early closes of a year (NYSE rows, as `/v1/marketstatus/upcoming` lists them). */
  readonly holidays: (year: number) => ReadonlyArray<MarketHoliday>
  /**
   * Per-second bars of a ticker (`SPY`, `QQQ`, `I:VIX`, `I:SPX`, `O:SPY…`) on a trading date, sorted by `t`,
   * only inside the regular session; empty on closed days and for unknown tickers.
   * Index tickers return WireIndexAgg. Results are cached and must be treated as immutable.
   */
  readonly secondBars: (ticker: string, date: string) => ReadonlyArray<WireAgg | WireIndexAgg>
  /**
   * The whole extended day of a ticker, sorted by `t`: pre-market, the regular session (the very
   * bars of `secondBars`) and after-hours, as the real REST aggregates carry them. A market
   * without extended hours (a recorded lake) leaves it out: it is then `secondBars`.
   */
  readonly extendedSecondBars?: (ticker: string, date: string) => ReadonlyArray<WireAgg | WireIndexAgg>
  /**
   * The option contracts of `underlying` listed (not expired) on `asOf`, sorted by ticker; empty
   * for an underlying without options. Without `underlying`: the primary underlying's (SPY) on a
   * market with a `universe`, every contract listed on one without (a lake holds what was recorded).
   */
  readonly contracts: (asOf: string, underlying?: string) => ReadonlyArray<WireContract>
  /** The tickers served (default: DEFAULT_UNIVERSE). */
  readonly universe?: MarketUniverse
  /** Articles published on a calendar date (America/New_York), sorted by `published_utc`. */
  readonly news: (date: string) => ReadonlyArray<WireArticle>
}

export const universeOf = (market: MarketData): MarketUniverse => market.universe ?? DEFAULT_UNIVERSE

/** Every contract listed on `asOf`: the underlyings' chains one after the other, in universe order. */
export const listedContracts = (market: MarketData, asOf: string): ReadonlyArray<WireContract> =>
  market.universe === undefined
    ? market.contracts(asOf)
    : market.universe.optionUnderlyings.flatMap((u) => market.contracts(asOf, u))

/** What the REST side serves with extended hours on: `secondBars` answers with the whole extended day. */
export const extendedHoursView = (market: MarketData): MarketData =>
  market.extendedSecondBars === undefined ? market : { ...market, secondBars: market.extendedSecondBars }
