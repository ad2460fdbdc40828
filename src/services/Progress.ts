/**
 * Backfill progress: a cli-progress bar on a terminal (units done/total, rows/s, ETA), plain
 * log lines every few seconds otherwise (CI, files, pipes).
 */
import { SingleBar } from "cli-progress"
import { Clock, Effect } from "effect"

export interface ProgressTracker {
  readonly unitDone: (rows: number) => Effect.Effect<void>
  readonly finish: Effect.Effect<void>
}

const PLAIN_EVERY_MS = 5_000

export const startProgress = (label: string, total: number, interactive: boolean): Effect.Effect<ProgressTracker> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    let done = 0
    let rows = 0
    let lastLineAt = startedAt
    const bar = interactive
      ? new SingleBar({ format: `${label} [{bar}] {value}/{total} units | {rate} rows/s | ETA {eta_formatted}`, hideCursor: true })
      : undefined
    bar?.start(total, 0, { rate: "0" })
    const rate = (now: number) => Math.round(rows / Math.max(0.001, (now - startedAt) / 1000))
    return {
      unitDone: (unitRows) =>
        Effect.gen(function* () {
          done += 1
          rows += unitRows
          const now = yield* Clock.currentTimeMillis
          if (bar) bar.update(done, { rate: rate(now).toLocaleString("en-US") })
          else if (now - lastLineAt >= PLAIN_EVERY_MS) {
            lastLineAt = now
            const etaS = done === 0 ? 0 : Math.round(((now - startedAt) / done) * (total - done) / 1000)
            yield* Effect.logInfo(`${label}: ${done}/${total} units, ${rows.toLocaleString("en-US")} rows, ${rate(now).toLocaleString("en-US")} rows/s, ETA ${etaS} s`)
          }
        }),
      finish: Effect.sync(() => bar?.stop())
    }
  })
