import { Duration, Effect, Option, RateLimiter } from "effect"

/**
 * One request every `window / limit` (+2 %, at least 50 ms, so network jitter cannot put limit + 1
 * arrivals in one rolling window of the server): never a burst the plan would refuse.
 */
export const pacer = (limit: number, windowMs: number) =>
  limit > 0
    ? Effect.map(
        RateLimiter.make({
          limit: 1,
          interval: Duration.millis(Math.ceil((windowMs / limit) * 1.02) + 50),
          algorithm: "token-bucket"
        }),
        Option.some
      )
    : Effect.succeed(Option.none<RateLimiter.RateLimiter>())
