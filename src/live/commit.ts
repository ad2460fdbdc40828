/**
 * A live commit: one cut batch made durable. Gap repairs due are fetched over REST and merged
 * (a streamed row of the same key wins), the batch's rows are written per trading date as
 * `live-<seq>.parquet` straight from their columns, late and quarantined lines as side files,
 * and then the checkpoint (the journal offset the batch reflects, the gap-repair state as of
 * that offset, the repairs still to retry) is written atomically. A crash anywhere before the
 * checkpoint leaves files with a seq above it, which the next start removes (liveFiles.ts).
 */
import { Clock, Effect, Schedule } from "effect"
import type { FeedSchema } from "../domain/feeds.js"
import { lakePaths } from "../domain/paths.js"
import type { ParquetWriterService } from "../services/ParquetWriter.js"
import type { PolygonRestService } from "../services/PolygonRest.js"
import * as GapRepair from "./GapRepair.js"
import { type Batch, type IngestContext, putRow } from "./ingest.js"
import { type LiveCheckpoint, type RepairRange, seqName, writeCheckpoint, writeSideFile } from "./liveFiles.js"
import type { LiveTelemetryService } from "./telemetry.js"

/** A batch handed from ingest to the committer, with the state it reflects. */
export interface Cut {
  readonly batch: Batch
  readonly ctx: IngestContext
  /** Journal offset just after the last entry in the batch. */
  readonly offset: number
  /** Gap ranges found while filling the batch. */
  readonly due: ReadonlyArray<RepairRange>
  readonly lastStart: Readonly<Record<string, number>>
  readonly pending: Readonly<Record<string, number>>
}

export interface CommitDeps {
  readonly root: string
  readonly schema: FeedSchema
  readonly date: string
  readonly timespan: "second" | "minute"
  readonly writer: ParquetWriterService
  readonly rest: PolygonRestService
  readonly telemetry: LiveTelemetryService
}

const retryPolicy = Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")), Schedule.jittered)

const sameRanges = (a: ReadonlyArray<RepairRange>, b: ReadonlyArray<RepairRange>) =>
  a.length === b.length && a.every((r, i) => r.ticker === b[i]!.ticker && r.after === b[i]!.after && r.before === b[i]!.before)

/** The committer of one feed: commits cuts in order, starting from checkpoint `initial`. */
export const makeCommitter = (deps: CommitDeps, initial: LiveCheckpoint) => {
  const feed = deps.schema.feed
  const paths = lakePaths(deps.root)
  let cp = initial
  /** Repairs that failed: retried with the next commit (they are in every checkpoint until done). */
  let retry: Array<RepairRange> = [...initial.due]

  const repair = (cut: Cut) =>
    Effect.gen(function* () {
      const ranges = [...retry, ...cut.due]
      if (ranges.length === 0) return [] as Array<RepairRange>
      const now = yield* Clock.currentTimeMillis
      const results = yield* Effect.forEach(
        ranges,
        (range) => Effect.either(GapRepair.fetchRange(deps.rest, feed as "spy" | "options" | "vix", deps.timespan, range, now)),
        { concurrency: 4 }
      )
      const failed: Array<RepairRange> = []
      results.forEach((r, i) => {
        if (r._tag === "Right") for (const row of r.right) putRow(cut.batch, cut.ctx, deps.date, row, false)
        else failed.push(ranges[i]!)
      })
      if (failed.length > 0) {
        yield* deps.telemetry.error(feed, failed.length)
        yield* Effect.logWarning(`gap repair: ${failed.length} of ${ranges.length} ${feed} ranges failed, retried at the next flush`)
      }
      return failed
    })

  const commit = (cut: Cut) =>
    Effect.gen(function* () {
      const failed = yield* repair(cut)
      const batch = cut.batch
      const files = batch.nRows > 0 || batch.late.size > 0 || batch.quarantine.length > 0
      if (!files && cut.offset === cp.offset && sameRanges(failed, retry)) return
      retry = failed
      const seq = files ? cp.seq + 1 : cp.seq
      for (const [date, cols] of batch.rows) {
        if (cols.length === 0) continue
        const target = `${paths.partitionDir(feed, date)}/${seqName(seq, "parquet")}`
        yield* deps.writer.writeBatches(deps.schema, [cols.toColumnBatch()], target).pipe(Effect.retry({ schedule: retryPolicy, times: 5 }))
      }
      for (const [date, lines] of batch.late) yield* writeSideFile(paths.lateDir(feed, date), seq, lines)
      yield* writeSideFile(paths.quarantineDir(feed, deps.date), seq, batch.quarantine)
      const committed = yield* Clock.currentTimeMillis
      cp = {
        ...cp, offset: cut.offset, seq, rowsCommitted: cp.rowsCommitted + batch.nRows, updatedAtMs: committed,
        lastStart: cut.lastStart, pending: cut.pending, due: [...retry]
      }
      yield* writeCheckpoint(deps.root, cp)
      yield* deps.telemetry.commit(feed, batch.nRows, committed, batch.receipts)
      if (batch.quarantine.length > 0) yield* deps.telemetry.error(feed, batch.quarantine.length)
    }).pipe(Effect.uninterruptible)

  return { commit, checkpoint: () => cp }
}
