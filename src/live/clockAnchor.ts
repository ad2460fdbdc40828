/**
 * The anchor of a simulated clock (`--clock-start`/`--clock-speed`): which wall-clock instant the
 * simulated `clockStart` corresponds to. Kept in `data/state/clock-anchor.json`, so a restarted
 * `live` (after a crash, a `stop`, a kill -9) with the same `--clock-start` and speed resumes the
 * same mapping from wall time to simulated time as the run that created it, and as a simulator in
 * its own process that kept running: its clock and log lines say the time of the data it streams
 * instead of starting over at `clockStart`.
 *
 * The anchor is reused only for the same `clockStart` and speed, and only while the resumed time is
 * still on the same New York date as `clockStart` (the same simulated session); otherwise, or when
 * the file is missing or unreadable, the run starts a new anchor at this wall instant. Delete the
 * file to start a simulated session over on the same day.
 */
import { Clock, Effect } from "effect"
import * as path from "node:path"
import { nyDateOf } from "../domain/calendar.js"
import { lakePaths } from "../domain/paths.js"
import { readJsonIfExists, writeFileAtomic } from "../lib/atomicFile.js"

export interface ClockAnchor {
  readonly clockStartMs: number
  readonly speed: number
  /** Wall-clock ms at which the simulated clock showed `clockStartMs`. */
  readonly wallStartMs: number
}

export interface ResolvedClock {
  /** The simulated time now: where the clock starts in this process. */
  readonly nowMs: number
  readonly anchor: ClockAnchor
  readonly resumed: boolean
}

export const anchorFile = (root: string): string => path.join(lakePaths(root).stateDir, "clock-anchor.json")

const isAnchor = (u: unknown): u is ClockAnchor =>
  typeof u === "object" &&
  u !== null &&
  ["clockStartMs", "speed", "wallStartMs"].every((k) => typeof (u as Record<string, unknown>)[k] === "number")

/** Pure: the anchor to use at wall time `wallNowMs`, given the stored one (if any). */
export const resolve = (stored: unknown, clockStartMs: number, speed: number, wallNowMs: number): ResolvedClock => {
  if (
    isAnchor(stored) &&
    stored.clockStartMs === clockStartMs &&
    stored.speed === speed &&
    stored.wallStartMs <= wallNowMs
  ) {
    const nowMs = Math.floor(clockStartMs + (wallNowMs - stored.wallStartMs) * speed)
    if (nyDateOf(nowMs) === nyDateOf(clockStartMs)) return { nowMs, anchor: stored, resumed: true }
  }
  return { nowMs: clockStartMs, anchor: { clockStartMs, speed, wallStartMs: wallNowMs }, resumed: false }
}

/**
 * Resolve the anchor for this run (wall time from the current Effect Clock: call it outside the
 * simulated clock) and store it. A store that fails is logged; the run goes on with its anchor.
 */
export const anchor = (root: string, clockStartMs: number, speed: number): Effect.Effect<ResolvedClock> =>
  Effect.gen(function* () {
    const file = anchorFile(root)
    const wallNowMs = yield* Clock.currentTimeMillis
    const stored = yield* Effect.promise(() => readJsonIfExists<unknown>(file).catch(() => undefined))
    const resolved = resolve(stored, clockStartMs, speed, wallNowMs)
    if (!resolved.resumed)
      yield* Effect.tryPromise(() => writeFileAtomic(file, JSON.stringify(resolved.anchor) + "\n")).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning(`cannot store the simulated clock's anchor in ${file}: ${String(e.error)}`)
        )
      )
    return resolved
  })
