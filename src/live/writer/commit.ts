/**
 * A live commit: one cut batch made durable. Its rows are merged per trading date into the lake
 * partition straight from their columns (each key into the one file it maps to, a correction
 * replacing the row it corrects: domain/lakeBuckets.ts), late and quarantined lines as side files,
 * and then the checkpoint (the journal offset the batch reflects, the gap-repair state as of that
 * offset, the repairs not yet committed) is written atomically. A crash anywhere before the
 * checkpoint leaves side files with a seq above it, which the next start removes (liveFiles.ts),
 * and partition files that may already hold some of the batch's rows: the journal replays the
 * same rows (same `received_at_ms`), and merging a row again leaves its file as it was.
 *
 * Gap repairs never hold a commit back: a separate fiber (`repairLoop`) fetches the ranges over
 * REST (a failed one is retried after `retryDelayMs`), and each commit merges the rows fetched
 * so far. A range stays in the checkpoint's `due` until its rows are committed, so a crash repeats
 * it, never loses it. A bar streamed inside an open range wins over its REST row (GapRepair.ts).
 * At a stop, `commit(cut, true)` fetches whatever is still outstanding right there.
 */
import { Clock, Effect, Queue } from "effect"
import type { FeedSchema, Row } from "../../domain/feeds.js"
import { lakePaths } from "../../domain/paths.js"
import type { ParquetWriterService } from "../../services/ParquetWriter.js"
import type { PolygonRestService } from "../../services/polygon/PolygonRest.js"
import * as GapRepair from "./GapRepair.js"
import { type Batch, type IngestContext, putRow, SPARE_COLUMNS } from "./ingest.js"
import { type LiveCheckpoint, type RepairRange, writeCheckpoint, writeSideFile } from "./liveFiles.js"
import type { LiveTelemetryService } from "../telemetry.js"
import type { LiveFeed } from "./wsRows.js"
import { cappedJittered } from "../../lib/schedules.js"

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
  readonly retryDelayMs: number
  /** Run when repair rows are ready for a commit. */
  readonly notify: Effect.Effect<void>
}

const retryPolicy = cappedJittered("200 millis", "10 seconds")

/** The committer of one feed: commits cuts in order, starting from checkpoint `initial`. */
export const makeCommitter = (deps: CommitDeps, initial: LiveCheckpoint) =>
  Effect.gen(function* () {
    const feed = deps.schema.feed as LiveFeed
    const paths = lakePaths(deps.root)
    let cp = initial
    /** Every range not committed yet (the checkpoint's `due`). */
    let outstanding: Array<RepairRange> = [...initial.due]
    /** Ranges waiting for the repair fiber, and the rows it fetched that no commit has taken yet. */
    const toFetch: Array<RepairRange> = [...initial.due]
    const fetched: Array<{ readonly range: RepairRange; readonly rows: ReadonlyArray<Row> }> = []
    const wake = yield* Queue.sliding<void>(1)

    const fetchAll = (ranges: ReadonlyArray<RepairRange>) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const results = yield* Effect.forEach(
          ranges,
          (range) => Effect.either(GapRepair.fetchRange(deps.rest, feed, deps.timespan, range, now)),
          { concurrency: 4 }
        )
        const failed: Array<RepairRange> = []
        results.forEach((r, i) =>
          r._tag === "Right" ? fetched.push({ range: ranges[i]!, rows: r.right }) : failed.push(ranges[i]!)
        )
        if (failed.length > 0) {
          yield* deps.telemetry.error(feed, failed.length)
          yield* Effect.logWarning(
            `gap repair: ${failed.length} of ${ranges.length} ${feed} ranges failed, retried later`
          )
        }
        return failed
      })

    /** Fetches ranges as they come (fork it in the writer's scope). */
    const repairLoop = Effect.forever(
      Effect.gen(function* () {
        while (toFetch.length === 0) yield* Queue.take(wake)
        const failed = yield* fetchAll(toFetch.splice(0))
        if (fetched.length > 0) yield* deps.notify
        if (failed.length > 0) {
          yield* Effect.sleep(deps.retryDelayMs)
          toFetch.push(...failed)
        }
      })
    )

    /** The fetched rows into the batch: a key the batch has, or a bar streamed inside the range, wins. */
    const merge = (cut: Cut) => {
      const done = fetched.splice(0)
      const repair = cut.ctx.repair
      for (const { range, rows } of done) {
        for (const row of rows) {
          if (!repair.streamedInGap.has(`${range.ticker}|${row["window_start_ms"]}`))
            putRow(cut.batch, cut.ctx, deps.date, row, false)
        }
      }
      return done.map((d) => d.range)
    }

    const commit = (cut: Cut, inline = false) =>
      Effect.gen(function* () {
        outstanding.push(...cut.due)
        if (inline) {
          const waiting = [...toFetch.splice(0), ...cut.due]
          toFetch.push(...(yield* fetchAll(waiting)))
        } else if (cut.due.length > 0) {
          toFetch.push(...cut.due)
          yield* Queue.offer(wake, undefined)
        }
        const repaired = merge(cut)
        const batch = cut.batch
        const files = batch.nRows > 0 || batch.late.size > 0 || batch.quarantine.length > 0
        if (!files && cut.offset === cp.offset && repaired.length === 0 && cut.due.length === 0) return
        const seq = files ? cp.seq + 1 : cp.seq
        for (const [date, cols] of batch.rows) {
          if (cols.length === 0) continue
          yield* deps.writer
            .upsert(deps.schema, deps.root, date, { batches: [cols.toColumnBatch()] }, "merge", { splitBuckets: true })
            .pipe(Effect.retry({ schedule: retryPolicy, times: 5 }))
        }
        for (const [date, lines] of batch.late) yield* writeSideFile(paths.lateDir(feed, date), seq, lines)
        yield* writeSideFile(paths.quarantineDir(feed, deps.date), seq, batch.quarantine)
        const committed = yield* Clock.currentTimeMillis
        outstanding = outstanding.filter((r) => !repaired.includes(r))
        cp = {
          ...cp,
          offset: cut.offset,
          seq,
          rowsCommitted: cp.rowsCommitted + batch.nRows,
          updatedAtMs: committed,
          lastStart: cut.lastStart,
          pending: cut.pending,
          due: [...outstanding]
        }
        yield* writeCheckpoint(deps.root, cp)
        for (const r of repaired) GapRepair.settle(cut.ctx.repair, r)
        // Written and checkpointed: DuckDB is done with the columns, the next batches reuse them.
        for (const cols of batch.rows.values()) if (cut.ctx.spare.length < SPARE_COLUMNS) cut.ctx.spare.push(cols)
        yield* deps.telemetry.commit(feed, batch.nRows, committed, batch.receipts)
        if (batch.quarantine.length > 0) yield* deps.telemetry.error(feed, batch.quarantine.length)
      }).pipe(Effect.uninterruptible)

    return { commit, repairLoop, checkpoint: () => cp, repairsReady: () => fetched.length > 0 }
  })
