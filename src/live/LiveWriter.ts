/**
 * LiveWriter: one per feed. Reads the feed's journal from its checkpoint offset, batches rows,
 * and every `flush.interval_s` or `flush.max_rows` commits them: gap repairs fetched, Parquet
 * `live-<seq>.parquet` written (deduplicated), late/quarantine side files, then the checkpoint
 * (journal offset) written atomically. Files with a seq above the checkpoint's are a crash
 * between publish and checkpoint: removed at start, their rows come back from the journal.
 * Memory stays bounded: at most one batch (max_rows) and one 4 MB journal chunk.
 */
import { Clock, Effect, Fiber, Queue, Schedule, type Scope } from "effect"
import { SCHEMAS } from "../domain/feeds.js"
import { lakePaths } from "../domain/paths.js"
import { ParquetWriter } from "../services/ParquetWriter.js"
import { PolygonRest } from "../services/PolygonRest.js"
import { SchemaDrift } from "../services/SchemaDrift.js"
import * as GapRepair from "./GapRepair.js"
import { type Batch, type IngestContext, ingestLines, newBatch, pendingEntries, putRow } from "./ingest.js"
import { type JournalHandle, readLines } from "./Journal.js"
import { compact, type LiveCheckpoint, readCheckpoint, removeUncommitted, seqName, writeCheckpoint, writeSideFile } from "./liveFiles.js"
import { LiveTelemetry } from "./telemetry.js"
import type { LiveFeed } from "./wsRows.js"

export interface WriterConfig {
  readonly root: string
  readonly feed: LiveFeed
  readonly date: string
  readonly openMs: number
  readonly closeMs: number
  readonly journal: JournalHandle
  readonly ev: "A" | "AM"
  readonly timespan: "second" | "minute"
  readonly flushIntervalMs: number
  readonly maxRows: number
  readonly graceSeconds: number
}

export interface WriterHandle {
  /** Journal bytes processed into the current batch or committed. */
  readonly processedOffset: () => number
  readonly committedOffset: () => number
  /**
   * Drain the journal, commit, checkpoint and compact the date's files. At the end of the day
   * pass `repairUntilMs` (now): gaps still open are repaired up to it.
   */
  readonly finish: (repairUntilMs?: number) => Effect.Effect<void>
}

const retryPolicy = Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")), Schedule.jittered)

export const start = (cfg: WriterConfig): Effect.Effect<WriterHandle, never, Scope.Scope | ParquetWriter | PolygonRest | LiveTelemetry | SchemaDrift> =>
  Effect.gen(function* () {
    const writer = yield* ParquetWriter
    const rest = yield* PolygonRest
    const telemetry = yield* LiveTelemetry
    const drift = yield* SchemaDrift
    const schema = SCHEMAS[cfg.feed]
    const paths = lakePaths(cfg.root)
    const stepMs = cfg.timespan === "minute" ? 60_000 : 1000
    const driftSeen = new Set<string>()
    const lock = yield* Effect.makeSemaphore(1)

    let cp: LiveCheckpoint
    let offset = 0
    let batch: Batch = newBatch()
    let ctx: IngestContext
    let lastFlushMs = 0

    const init = Effect.gen(function* () {
      const saved = yield* readCheckpoint(cfg.root, cfg.feed, cfg.date)
      const now = yield* Clock.currentTimeMillis
      cp = saved ?? {
        version: 1, feed: cfg.feed, date: cfg.date, journal: cfg.journal.file, offset: 0, seq: 0, rowsCommitted: 0,
        lastStart: {}, pending: {}, due: [], updatedAtMs: now
      }
      yield* removeUncommitted(cfg.root, cfg.feed, [cfg.date], cp.seq)
      offset = cp.offset
      batch = newBatch()
      ctx = {
        feed: cfg.feed, ev: cfg.ev, sessionDate: cfg.date, sessionOpenMs: cfg.openMs, graceSeconds: cfg.graceSeconds, stepMs,
        repair: GapRepair.makeState(cp.lastStart, cp.pending, cp.due), driftSeen
      }
      lastFlushMs = now
    })

    /** Read and ingest what the journal holds now (one chunk). Returns false at the end. */
    const step = Effect.gen(function* () {
      const end = cfg.journal.size()
      if (offset >= end) return false
      const { lines, next } = readLines(cfg.journal.file, offset, end)
      if (next === offset) return false
      const before = { frames: batch.frames, events: batch.events }
      ingestLines(batch, ctx, lines)
      offset = next
      yield* telemetry.received(cfg.feed, batch.frames - before.frames, batch.events - before.events)
      if (batch.drift.length > 0) {
        yield* drift.report(cfg.date, batch.drift.splice(0))
      }
      return true
    })

    const repairDue = Effect.gen(function* () {
      const due = ctx.repair.due.splice(0)
      if (due.length === 0) return
      const now = yield* Clock.currentTimeMillis
      const results = yield* Effect.forEach(
        due,
        (range) => Effect.either(GapRepair.fetchRange(rest, cfg.feed, cfg.timespan, range, now)),
        { concurrency: 4 }
      )
      results.forEach((r, i) => {
        if (r._tag === "Right") for (const row of r.right) putRow(batch, cfg.date, row, false)
        else ctx.repair.due.push(due[i]!)
      })
      const failed = results.filter((r) => r._tag === "Left").length
      if (failed > 0) {
        yield* telemetry.error(cfg.feed, failed)
        yield* Effect.logWarning(`gap repair: ${failed} of ${due.length} ${cfg.feed} ranges failed, retried at the next flush`)
      }
    })

    const flush = lock.withPermits(1)(
      Effect.gen(function* () {
        yield* repairDue
        const now = yield* Clock.currentTimeMillis
        lastFlushMs = now
        const files = batch.nRows > 0 || batch.late.size > 0 || batch.quarantine.length > 0
        if (!files && offset === cp.offset) return
        const seq = files ? cp.seq + 1 : cp.seq
        for (const [date, rows] of batch.rows) {
          if (rows.size === 0) continue
          const target = `${paths.partitionDir(cfg.feed, date)}/${seqName(seq, "parquet")}`
          yield* writer.write(schema, [...rows.values()], target, { dedupe: true }).pipe(Effect.retry({ schedule: retryPolicy, times: 5 }))
        }
        for (const [date, lines] of batch.late) yield* writeSideFile(paths.lateDir(cfg.feed, date), seq, lines)
        yield* writeSideFile(paths.quarantineDir(cfg.feed, cfg.date), seq, batch.quarantine)
        const committed = yield* Clock.currentTimeMillis
        cp = {
          ...cp, offset, seq, rowsCommitted: cp.rowsCommitted + batch.nRows, updatedAtMs: committed,
          lastStart: GapRepair.toRecord(ctx.repair.lastStart), pending: GapRepair.toRecord(ctx.repair.pending), due: [...ctx.repair.due]
        }
        yield* writeCheckpoint(cfg.root, cp)
        yield* telemetry.commit(cfg.feed, batch.nRows, committed, batch.receipts)
        if (batch.quarantine.length > 0) yield* telemetry.error(cfg.feed, batch.quarantine.length)
        batch = newBatch()
      })
    ).pipe(Effect.uninterruptible)

    const loop = Effect.gen(function* () {
      for (;;) {
        const progressed = yield* step
        const now = yield* Clock.currentTimeMillis
        if (pendingEntries(batch) >= cfg.maxRows || now - lastFlushMs >= cfg.flushIntervalMs) {
          yield* flush
          continue
        }
        if (!progressed) {
          yield* Effect.raceFirst(Queue.take(cfg.journal.wake), Effect.sleep(cfg.flushIntervalMs - (now - lastFlushMs)))
        }
      }
    })

    yield* init
    // A failed commit restarts the writer from its checkpoint: the journal still holds everything.
    const fiber = yield* loop.pipe(
      Effect.sandbox,
      Effect.tapError((cause) => Effect.logError(`live writer ${cfg.feed} failed; restarting from its checkpoint`, cause).pipe(Effect.zipRight(init))),
      Effect.retry(retryPolicy),
      Effect.forkScoped,
      Effect.interruptible
    )

    const finish = (repairUntilMs?: number) =>
      Effect.gen(function* () {
        yield* Fiber.interrupt(fiber)
        while (yield* step) {
          if (pendingEntries(batch) >= cfg.maxRows) yield* flush
        }
        if (repairUntilMs !== undefined) GapRepair.closeAll(ctx.repair, Math.min(repairUntilMs, cfg.closeMs), stepMs)
        const dates = new Set([cfg.date, ...batch.rows.keys()])
        yield* flush
        for (const d of dates) yield* compact(writer, schema, cfg.root, cfg.feed, d).pipe(Effect.ignoreLogged)
      }).pipe(Effect.catchAllCause((cause) => Effect.logError(`live writer ${cfg.feed}: final flush failed`, cause)))

    return { processedOffset: () => offset, committedOffset: () => cp.offset, finish } satisfies WriterHandle
  })
