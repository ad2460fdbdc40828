/** Tickers: the underlying, the index, and OCC option symbols (`O:SPY251030C00580000`). */
export const SPY = "SPY"
export const VIX = "I:VIX"

/** The configured tickers (`tickers.underlying`, `tickers.index`): the underlying's bars, options and news, and the index. */
export interface Tickers {
  readonly underlying: string
  readonly index: string
  /** Every configured underlying, the first being `underlying` (absent = that one alone). */
  readonly underlyings?: ReadonlyArray<string>
}

export const DEFAULT_TICKERS: Tickers = { underlying: SPY, index: VIX }

/** A SQL LIKE pattern for news tagged with the underlying (tickers are validated: no quotes). */
export const newsTag = (t: Tickers): string => `'%"${t.underlying}"%'`

export interface OptionSymbol {
  readonly underlying: string
  readonly expiration: string // YYYY-MM-DD
  readonly right: "call" | "put"
  readonly strike: number
}

const OCC = /^O:([A-Z]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/

export const parseOptionTicker = (ticker: string): OptionSymbol | undefined => {
  const m = OCC.exec(ticker)
  if (!m) return undefined
  return {
    underlying: m[1]!,
    expiration: `20${m[2]}-${m[3]}-${m[4]}`,
    right: m[5] === "C" ? "call" : "put",
    strike: Number(m[6]) / 1000
  }
}

export const formatOptionTicker = (s: OptionSymbol): string => {
  const [y, mo, d] = s.expiration.split("-")
  const strike = String(Math.round(s.strike * 1000)).padStart(8, "0")
  return `O:${s.underlying}${y!.slice(2)}${mo}${d}${s.right === "call" ? "C" : "P"}${strike}`
}

/** True for a ticker safe to use as a path segment or a SQL literal value (no `/`, `..`, quotes). */
export const isSafeTicker = (ticker: string): boolean =>
  /^[A-Za-z0-9:._-]{1,40}$/.test(ticker) && !ticker.includes("..")
