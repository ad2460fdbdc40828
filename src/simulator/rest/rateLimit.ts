/**
 * The plan's request limit, as the real API enforces it (polygon-wire.md §4): N requests per
 * rolling minute per key; a request over it gets the real 429 body and NO `Retry-After`.
 * Only admitted requests count toward the window (UNCONFIRMED whether the real API also counts
 * rejected ones). `windowMs` exists so tests can use a short window.
 */
export interface RateLimitOptions {
  /** Requests per window; 0 = unlimited. */
  readonly limit: number
  readonly windowMs?: number
}

export interface RateLimit {
  /** Admit a request now (and count it), or refuse it. */
  readonly admit: () => boolean
}

export const makeRateLimit = (options: RateLimitOptions, now: () => number = Date.now): RateLimit => {
  const windowMs = options.windowMs ?? 60_000
  const admitted: Array<number> = []
  return {
    admit: () => {
      if (options.limit <= 0) return true
      const t = now()
      while (admitted.length > 0 && admitted[0]! <= t - windowMs) admitted.shift()
      if (admitted.length >= options.limit) return false
      admitted.push(t)
      return true
    }
  }
}
