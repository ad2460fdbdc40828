/**
 * A delayed plan's REST aggregates (`simulate --delay-s N`): a bar exists once it has ended N
 * seconds ago, so a request is served as if its `to` were at most the last window start whose
 * end is ≤ now − N. Only complete bars are served (a forming minute or day bar is not; whether
 * the real API serves forming bars is UNCONFIRMED). Past days are wholly before the cut; bars of
 * later simulated days are not served either.
 */
import type { Timespan } from "./aggregate.js"

const SPAN_MS = { second: 1000, minute: 60_000, hour: 3_600_000 } as const

/**
 * The latest window start served at simulated `nowMs` with `delayMs` (undefined: no cut): a bar
 * [t, t + span) is served iff t ≤ this. Day bars: the days before the cut's New York date
 * (`nyMidnightOf(cut)` is that date's midnight).
 */
export const lastServedStart = (
  nowMs: number,
  delayMs: number | undefined,
  multiplier: number,
  timespan: Timespan,
  nyMidnightOf: (ms: number) => number
): number | undefined => {
  if (delayMs === undefined || delayMs <= 0) return undefined
  const cut = nowMs - delayMs
  return timespan === "day" ? nyMidnightOf(cut) - 1 : cut - multiplier * SPAN_MS[timespan]
}
