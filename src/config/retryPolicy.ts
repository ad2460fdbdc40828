/** `retry:` (config/retry_policy.yaml): the REST retry policy, capped exponential backoff with jitter. */
import { Config, Option } from "effect"

const int = (name: string, fallback: number) => Config.integer(name).pipe(Config.withDefault(fallback))
const bool = (name: string, fallback: boolean) => Config.boolean(name).pipe(Config.withDefault(fallback))

/**
 * `max_retries` is the number of retries after the first attempt (3 = 4 attempts, as SCOPE asks).
 * `max_attempts` (total attempts) is the deprecated spelling: used when `max_retries` is absent,
 * as `max_attempts - 1` (ignored when `max_retries` is set), and reported by `deprecatedMaxAttempts` so the CLI warns.
 */
const maxRetries = Config.all({
  retries: Config.option(Config.integer("max_retries")),
  attempts: Config.option(Config.integer("max_attempts"))
}).pipe(
  Config.map(({ retries, attempts }) => ({
    maxRetries: Option.getOrElse(retries, () =>
      Option.match(attempts, { onNone: () => 3, onSome: (a) => Math.max(0, a - 1) })
    ),
    deprecatedMaxAttempts: attempts
  })),
  Config.validate({ message: "retry.max_retries must be >= 0", validation: (r) => r.maxRetries >= 0 })
)

export const RetryPolicyConfig = Config.all({
  retries: maxRetries,
  baseDelayMs: int("base_delay_ms", 250),
  maxDelayMs: int("max_delay_ms", 10_000),
  jitter: bool("jitter", true),
  requestTimeoutMs: int("request_timeout_ms", 30_000),
  /** Upper bound on a server's Retry-After we are willing to sleep. */
  maxRetryAfterMs: int("max_retry_after_ms", 120_000)
}).pipe(
  Config.map(({ retries, ...rest }) => ({ ...rest, ...retries })),
  Config.nested("retry")
)
export type RetryPolicy = Omit<Config.Config.Success<typeof RetryPolicyConfig>, "deprecatedMaxAttempts"> & {
  readonly deprecatedMaxAttempts?: Option.Option<number>
}
