/**
 * What the simulator replays: a deterministic market, synthetic (SyntheticMarket, the default)
 * or read back from a recorded lake (LakeMarket). REST and WebSocket both serve from one
 * MarketData, so they agree bar for bar.
 */
import type { MarketHoliday } from "../domain/calendar.js"

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

export interface MarketData {
  /** Holidays and early closes of a year (NYSE rows, as `/v1/marketstatus/upcoming` lists them). */
  readonly holidays: (year: number) => ReadonlyArray<MarketHoliday>
  /**
   * Per-second bars of a ticker (`SPY`, `I:VIX`, `O:SPY…`) on a trading date, sorted by `t`,
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
  /** The option contracts listed (not expired) on `asOf`, sorted by ticker. */
  readonly contracts: (asOf: string) => ReadonlyArray<WireContract>
  /** Articles published on a calendar date (America/New_York), sorted by `published_utc`. */
  readonly news: (date: string) => ReadonlyArray<WireArticle>
}

/** What the REST side serves with extended hours on: `secondBars` answers with the whole extended day. */
export const extendedHoursView = (market: MarketData): MarketData =>
  market.extendedSecondBars === undefined ? market : { ...market, secondBars: market.extendedSecondBars }
