/**
 * The simulator's notion of "now": a simulated instant that starts at `startMs` and runs at
 * `speed` times real time. Without a start it is the real wall clock. `max` speed is used by the
 * WebSocket replay to send as fast as the client reads; for `now()` it behaves like speed 1000.
 */
export type Speed = number | "max"

export interface SimClock {
  readonly startMs: number | undefined
  readonly speed: Speed
  /** Simulated epoch ms now. */
  readonly now: () => number
}

export const makeSimClock = (
  options: { readonly startMs?: number | undefined; readonly speed?: Speed | undefined } = {}
): SimClock => {
  const speed = options.speed ?? 1
  const factor = speed === "max" ? 1000 : speed
  const realStart = Date.now()
  const startMs = options.startMs
  return {
    startMs,
    speed,
    now: () => (startMs === undefined ? Date.now() : startMs + (Date.now() - realStart) * factor)
  }
}

export const parseSpeed = (s: string | number | undefined): Speed => {
  if (s === undefined) return 1
  if (s === "max") return "max"
  const n = Number(s)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`invalid speed: ${s} (use a positive number or max)`)
  return n
}
