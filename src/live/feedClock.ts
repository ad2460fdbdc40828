/**
 * The feed clock of a delayed plan (`polygon.feed: delayed`): the time of the bars the socket
 * delivers now, wall clock − `polygon.feed_delay_s`. `live` runs its session on it (when to
 * connect, when to stop, when the open's bar and the close's REST bars exist, late data, the
 * data-stall check), so a delayed day is the same day as a real-time one, shifted. Sleeps are
 * not shifted: sleeping until a feed instant takes the same time on both clocks.
 */
import { Clock, Duration, Effect } from "effect"
import { DateTime } from "luxon"
import { NY } from "../domain/calendar.js"

/** `base` shifted back by `delayMs` (same sleeps). */
export const feedClock = (delayMs: number, base: Clock.Clock): Clock.Clock => {
  const now = () => base.unsafeCurrentTimeMillis() - delayMs
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() - BigInt(delayMs) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() - BigInt(delayMs) * 1_000_000n),
    sleep: (d: Duration.Duration) => base.sleep(d)
  }
}

/** Run `self` on the feed clock (unchanged with no delay). */
export const onFeedClock = <A, E, R>(delayMs: number, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  delayMs === 0 ? self : Effect.flatMap(Effect.clock, (base) => Effect.withClock(self, feedClock(delayMs, base)))

/** The feed clock's now. */
export const feedNow = (delayMs: number): Effect.Effect<number> =>
  Effect.map(Clock.currentTimeMillis, (t) => t - delayMs)

/** Sleep until the feed clock shows `atMs` (at once if it already has). */
export const sleepUntilFeed = (delayMs: number, atMs: number): Effect.Effect<void> =>
  Effect.flatMap(feedNow(delayMs), (now) => Effect.sleep(Duration.millis(Math.max(0, atMs - now))))

const hms = (ms: number) => DateTime.fromMillis(ms, { zone: NY }).toFormat("yyyy-MM-dd HH:mm:ss 'America/New_York'")

/** "16:00:00 …" or, on a delayed feed, "16:00:00 … (feed time; 16:15:00 … on the wall clock, 900 s delay)". */
export const describeFeedTime = (delayMs: number, atMs: number): string =>
  delayMs === 0
    ? hms(atMs)
    : `${hms(atMs)} (feed time; ${hms(atMs + delayMs)} on the wall clock, ${delayMs / 1000} s delay)`
