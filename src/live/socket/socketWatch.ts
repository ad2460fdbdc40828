/**
 * The two detectors of a dead FeedSocket session (src/live/socket/FeedSocket.ts), on the Effect Clock:
 * the idle watchdog (no message for `idleMs`) and the keepalive (a ping unanswered for `timeoutMs`),
 * and the real-time floor both timeouts get on a fast simulated clock.
 */
import { Clock, Duration, Effect } from "effect"
import { yieldToEventLoop } from "../../lib/eventLoop.js"
import { IdleTimeout, PongTimeout } from "./protocol.js"

export interface SessionState {
  lastMessageMs: number
  gotData: boolean
  /** Called once, on the session's first data frame. */
  onFirstData?: () => void
  /** Sends a keepalive ping on the socket (set once it exists); false when it could not be sent (still connecting). */
  ping?: () => boolean
  /** Time of the oldest ping not yet answered (undefined when none is outstanding). */
  pingOutstandingSinceMs?: number
}

/**
 * On a simulated clock running k times real time, the network still answers in real time: a timeout
 * of the sockets (idle watchdog, pong) is at least this many REAL milliseconds, k × this on the clock.
 */
export const MIN_REAL_TIMEOUT_MS = 5_000

/** `timeoutMs` (on the Clock) raised to MIN_REAL_TIMEOUT_MS of real time on a clock running `speed` times real time. */
export const withRealFloor = (timeoutMs: number, speed = 1): number =>
  Math.max(timeoutMs, MIN_REAL_TIMEOUT_MS * Math.max(1, speed))

/**
 * Fails with IdleTimeout once no message has arrived for `idleMs`. Before it fails, frames already
 * received by the OS but not yet handled (a busy event loop) are handled first: silence is judged
 * after them, never because this timer's callback happened to run before theirs.
 */
export const watchdog = (state: SessionState, idleMs: number) =>
  Effect.gen(function* () {
    let drained = false
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const quiet = now - state.lastMessageMs
      if (quiet >= idleMs) {
        if (drained) return yield* Effect.fail(new IdleTimeout({ idleMs }))
        yield* yieldToEventLoop
        drained = true
        continue
      }
      drained = false
      yield* Effect.sleep(Duration.millis(idleMs - quiet))
    }
  })

/**
 * A ping every `intervalMs` (or every `timeoutMs` if that is longer: one ping outstanding at a
 * time); fails with PongTimeout when a ping is still unanswered `timeoutMs` after it was sent. A
 * socket that cannot ping (a test fake) is only watched for silence.
 */
export const keepalive = (state: SessionState, intervalMs: number, timeoutMs: number) =>
  Effect.gen(function* () {
    yield* Effect.sleep(Duration.millis(intervalMs))
    const ping = state.ping
    if (!ping) return yield* Effect.never
    for (;;) {
      const sentMs = yield* Clock.currentTimeMillis
      state.pingOutstandingSinceMs = sentMs
      if (!ping()) {
        // Not sent (the socket is still connecting): nothing is outstanding; try again an interval later.
        state.pingOutstandingSinceMs = undefined
        yield* Effect.sleep(Duration.millis(intervalMs))
        continue
      }
      yield* Effect.sleep(Duration.millis(timeoutMs))
      if (state.pingOutstandingSinceMs === sentMs) return yield* Effect.fail(new PongTimeout({ timeoutMs }))
      yield* Effect.sleep(Duration.millis(Math.max(0, intervalMs - timeoutMs)))
    }
  })
