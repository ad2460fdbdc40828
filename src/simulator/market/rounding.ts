/** Price rounding as the wire carries it: prices to cents, VWAP to 4 decimals. */
export const round2 = (x: number): number => Math.round(x * 100) / 100
export const round4 = (x: number): number => Math.round(x * 10000) / 10000

/** A VWAP rounded to 4 decimals that still lies within [l, h]. */
export const vwapWithin = (l: number, h: number, fraction: number): number =>
  Math.min(h, Math.max(l, round4(l + (h - l) * fraction)))
