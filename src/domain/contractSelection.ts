/**
 * Which option contracts a day follows: strikes within ±band of SPY's official open, one
 * expiration, nearest the money first, at most `maxContracts`. Used by backfill and live alike.
 */
export interface SelectionRule {
  readonly bandPct: number
  readonly maxContracts: number
}

export interface ContractLike {
  readonly ticker: string
  readonly strike_price: number
  readonly contract_type: string
  readonly expiration_date: string
}

export const strikeBounds = (openPrice: number, bandPct: number) => ({
  low: openPrice * (1 - bandPct),
  high: openPrice * (1 + bandPct)
})

/** Contracts of one expiration inside the band, ranked by |strike − open| (calls before puts, then ticker). */
export const selectContracts = <C extends ContractLike>(
  contracts: ReadonlyArray<C>,
  openPrice: number,
  expiration: string,
  rule: SelectionRule
): ReadonlyArray<C> => {
  const { low, high } = strikeBounds(openPrice, rule.bandPct)
  return contracts
    .filter((c) => c.expiration_date === expiration && c.strike_price >= low && c.strike_price <= high)
    .sort(
      (a, b) =>
        Math.abs(a.strike_price - openPrice) - Math.abs(b.strike_price - openPrice) ||
        a.strike_price - b.strike_price ||
        a.contract_type.localeCompare(b.contract_type) ||
        a.ticker.localeCompare(b.ticker)
    )
    .slice(0, rule.maxContracts)
}
