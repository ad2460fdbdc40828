/**
 * Backfill progress in its two stages: units fetched into the lake (done/total, rows/s, ETA) and
 * days through the second stage (loaded into the sinks and consolidated). A cli-progress bar on a
 * terminal, plain log lines every few seconds otherwise (CI, files, pipes).
 */
import { SingleBar } from "cli-progress"
import { Clock, Effect } from "effect"

export interface ProgressTracker {
  readonly unitDone: (rows: number) => Effect.Effect<void>
  /** A day has been through the second stage (sinks loaded, view built). */
  readonly dayDone: Effect.Effect<void>
  readonly finish: Effect.Effect<void>
}

const PLAIN_EVERY_MS = 5_000

export const startProgress = (
  label: string,
  total: number,
  interactive: boolean,
  days = 0
): Effect.Effect<ProgressTracker> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    let done = 0
    let rows = 0
    let daysDone = 0
    let lastLineAt = startedAt
    const bar = interactive
      ? new SingleBar({
          format: `${label} [{bar}] {value}/{total} units fetched | {days} days loaded | {rate} rows/s | ETA {eta_formatted}`,
          hideCursor: true
        })
      : undefined
    const dayText = () => `${daysDone}/${days}`
    bar?.start(total, 0, { rate: "0", days: dayText() })
    const rate = (now: number) => Math.round(rows / Math.max(0.001, (now - startedAt) / 1000))
    const report = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (bar) bar.update(done, { rate: rate(now).toLocaleString("en-US"), days: dayText() })
      else if (now - lastLineAt >= PLAIN_EVERY_MS) {
        lastLineAt = now
        const etaS = done === 0 ? 0 : Math.round((((now - startedAt) / done) * (total - done)) / 1000)
        yield* Effect.logInfo(
          `${label}: ${done}/${total} units fetched, ${rows.toLocaleString("en-US")} rows, ${rate(now).toLocaleString("en-US")} rows/s, ${dayText()} days loaded, ETA ${etaS} s`
        )
      }
    })
    return {
      unitDone: (unitRows) =>
        Effect.suspend(() => {
          done += 1
          rows += unitRows
          return report
        }),
      dayDone: Effect.suspend(() => {
        daysDone += 1
        return report
      }),
      finish: Effect.sync(() => bar?.stop())
    }
  })
