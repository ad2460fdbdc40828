/**
 * The REST retry schedule from config/retry_policy.yaml: exponential from `base_delay_ms`,
 * capped at `max_delay_ms`, then jittered (0.8x–1.2x), bounded to `max_retries` retries (max_retries + 1 attempts).
 * A 429's Retry-After raises the next delay to at least what the server asked (up to a bound).
 * Only transient failures are retried; 401/403/404/4xx/decode errors fail at once.
 */
import { Duration, Schedule } from "effect"
import type { RetryPolicy } from "../../config/Settings.js"
import type { PolygonError } from "./PolygonRest.js"

export const isTransient = (e: PolygonError): boolean =>
  e.reason === "RateLimited" || e.reason === "Server" || e.reason === "Timeout" || e.reason === "Transport"

export const retrySchedule = (policy: RetryPolicy) => {
  const capped = Schedule.exponential(Duration.millis(policy.baseDelayMs)).pipe(
    Schedule.union(Schedule.spaced(Duration.millis(policy.maxDelayMs)))
  )
  const backoff = policy.jitter ? Schedule.jittered(capped) : capped
  return backoff.pipe(
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxRetries))),
    Schedule.intersect(Schedule.identity<PolygonError>()),
    Schedule.whileInput(isTransient),
    Schedule.modifyDelay(([, error], delay) =>
      error.retryAfterMs === undefined
        ? delay
        : Duration.max(delay, Duration.millis(Math.min(error.retryAfterMs, policy.maxRetryAfterMs)))
    )
  )
}
