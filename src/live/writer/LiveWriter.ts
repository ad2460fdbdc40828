/**
 * LiveWriter: one per feed, two scoped fibers. The ingest fiber takes the feed's journal entries
 * from its checkpoint offset on (from memory while the journal's window holds them, else from the
 * file: live reading, catching up after a lag and replay after kill -9 are one path) and decodes
 * them into a columnar batch; it cuts the batch (cutPolicy.ts: every `flush.interval_s` or
 * `flush.max_rows`, and as fast as commits go during a burst) and hands it over a bounded queue (one batch waiting) to the commit fiber, which makes it durable
 * (commit.ts) while ingest goes on; a third fiber fetches gap repairs, merged by later commits.
 * When commits fall behind, ingest waits on the queue and the
 * journal holds the backlog: memory stays bounded (three batches at most), nothing is dropped.
 * Files with a seq above the checkpoint's are a crash between publish and checkpoint: removed at
 * start, their rows come back from the journal.
 */
import { Clock, Effect, Fiber, Option, Queue, type Scope } from "effect"
import { holidayIndex } from "../../domain/calendar.js"
import { SCHEMAS } from "../../domain/feeds.js"
import { nyseHolidays } from "../../domain/nyseHolidays.js"
import { sessionFilterFor, type SessionHours } from "../../domain/sessionFilter.js"
import { ParquetWriter } from "../../services/ParquetWriter.js"
import { PolygonRest } from "../../services/polygon/PolygonRest.js"
import { SchemaDrift } from "../../services/SchemaDrift.js"
import { type Cut, makeCommitter } from "./commit.js"
import { cutReason, type CutInputs, isBurst, waitMs } from "./cutPolicy.js"
import * as GapRepair from "./GapRepair.js"
import {
  type Batch,
  type IngestContext,
  ingestEntries,
  makeContext,
  newBatch,
  pendingEntries,
  syncLastStart
} from "./ingest.js"
import type { JournalHandle } from "../journal/Journal.js"
import { yieldToEventLoop } from "../../lib/eventLoop.js"
import { emptyCheckpoint, type LiveCheckpoint, readCheckpoint, removeUncommitted, warmUp } from "./liveFiles.js"
import { lastBarsOf } from "./lastBars.js"
import { LiveTelemetry } from "../telemetry.js"
import type { LiveFeed } from "./wsRows.js"
import { cappedJittered } from "../../lib/schedules.js"

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
  /** `session.hours` (default regular): bars outside [openMs, closeMs) are counted, not stored. */
  readonly sessionHours?: SessionHours | undefined
  /** A delayed feed's delay: late data is judged on the feed clock (receipt − delay). */
  readonly feedDelayMs?: number | undefined
}

export interface WriterHandle {
  /** Journal bytes processed into the current batch or committed. */
  readonly processedOffset: () => number
  readonly committedOffset: () => number
  /**
   * Drain the journal, commit and checkpoint. At the end of the day
   * pass `repairUntilMs` (now): gaps still open are repaired up to it. With `tail` (the tickers
   * subscribed when the sockets stopped before the close, fetched after the close), every one of
   * them is repaired from its last bar up to the close instead.
   */
  readonly finish: (repairUntilMs?: number, tail?: ReadonlyArray<string>) => Effect.Effect<void>
}

const retryPolicy = cappedJittered("200 millis", "10 seconds")
/** Journal bytes ingested per step (a few ms of work; then the loop checks for a cut and yields). */
const STEP_BYTES = 512 << 10

/**
 * `session.hours: regular`: a bar of the live date counts inside the configured session; another
 * date's (a late bar) by the NYSE rules. Undefined (keep every bar) for `extended`.
 */
const sessionFilterOf = (cfg: WriterConfig): ((t: number) => boolean) | undefined => {
  if ((cfg.sessionHours ?? "regular") === "extended") return undefined
  const year = Number(cfg.date.slice(0, 4))
  const otherDates = sessionFilterFor("regular", holidayIndex([...nyseHolidays(year - 1), ...nyseHolidays(year)]))!
  const dayStartMs = cfg.openMs - 9.5 * 3_600_000
  const dayEndMs = cfg.openMs + 14.5 * 3_600_000
  return (t) => (t >= dayStartMs && t < dayEndMs ? t >= cfg.openMs && t < cfg.closeMs : otherDates(t))
}

export const start = (
  cfg: WriterConfig
): Effect.Effect<WriterHandle, never, Scope.Scope | ParquetWriter | PolygonRest | LiveTelemetry | SchemaDrift> =>
  Effect.gen(function* () {
    const writer = yield* ParquetWriter
    const rest = yield* PolygonRest
    const telemetry = yield* LiveTelemetry
    const drift = yield* SchemaDrift
    const schema = SCHEMAS[cfg.feed]
    const stepMs = cfg.timespan === "minute" ? 60_000 : 1000
    const driftSeen = new Set<string>()
    const inSession = sessionFilterOf(cfg)
    /** Bars outside the session seen by this process (logged at the end of the day). */
    let outsideSession = 0
    let countedUpTo = 0
    /** Wakes ingest when the committer becomes idle or repair rows are ready (sliding: never grows). */
    const signal = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const notify = Effect.asVoid(Queue.offer(signal, undefined))
    const deps = {
      root: cfg.root,
      schema,
      date: cfg.date,
      timespan: cfg.timespan,
      writer,
      rest,
      telemetry,
      retryDelayMs: cfg.flushIntervalMs,
      notify
    }
    const policy = { maxRows: cfg.maxRows, intervalMs: cfg.flushIntervalMs }

    let committer: Effect.Effect.Success<ReturnType<typeof makeCommitter>>
    let offset = 0
    let batch: Batch = newBatch()
    let ctx: IngestContext
    let lastCutMs = 0
    let lastDataMs = 0
    let burst = false
    let committing = false

    /** (Re)start from the checkpoint on disk: what is not in it comes back from the journal. */
    const init = Effect.gen(function* () {
      const saved = yield* readCheckpoint(cfg.root, cfg.feed, cfg.date)
      const now = yield* Clock.currentTimeMillis
      const cp: LiveCheckpoint = saved ?? emptyCheckpoint(cfg.feed, cfg.date, cfg.journal.file, now)
      yield* removeUncommitted(cfg.root, cfg.feed, [cfg.date], cp.seq)
      committer = yield* makeCommitter(deps, cp)
      offset = cp.offset
      batch = newBatch()
      ctx = makeContext({
        feed: cfg.feed,
        schema,
        ev: cfg.ev,
        sessionDate: cfg.date,
        sessionOpenMs: cfg.openMs,
        graceSeconds: cfg.graceSeconds,
        stepMs,
        inSession,
        feedDelayMs: cfg.feedDelayMs ?? 0,
        repair: GapRepair.makeState(cp.lastStart, cp.pending, [], cp.due),
        driftSeen
      })
      lastCutMs = now
      lastDataMs = now
      burst = false
    })

    /** Ingest what the journal holds now (one step). Returns false at the end. */
    const step = Effect.gen(function* () {
      const { entries, next } = cfg.journal.read(offset, STEP_BYTES)
      if (next === offset) return false
      const before = { frames: batch.frames, events: batch.events, outside: batch.outsideSession }
      ingestEntries(batch, ctx, entries)
      offset = next
      // a restart from the checkpoint reads entries again: count each journal byte range once
      if (next > countedUpTo) {
        const outside = batch.outsideSession - before.outside
        outsideSession += outside
        countedUpTo = next
        if (outside > 0) yield* telemetry.outsideSession(cfg.feed, outside)
      }
      yield* telemetry.received(cfg.feed, batch.frames - before.frames, batch.events - before.events)
      if (batch.drift.length > 0) yield* drift.report(cfg.date, batch.drift.splice(0))
      return true
    })

    /** The current batch and the state it reflects, handed over; a new batch starts. */
    const cut = Effect.gen(function* () {
      syncLastStart(ctx)
      const c: Cut = {
        batch,
        ctx,
        offset,
        due: GapRepair.takeDue(ctx.repair),
        lastStart: GapRepair.toRecord(ctx.repair.lastStart),
        pending: GapRepair.toRecord(ctx.repair.pending)
      }
      batch = newBatch()
      lastCutMs = yield* Clock.currentTimeMillis
      return c
    })

    const ingestLoop = (queue: Queue.Queue<Cut>) =>
      Effect.gen(function* () {
        for (;;) {
          const progressed = yield* step
          const now = yield* Clock.currentTimeMillis
          if (progressed) lastDataMs = now
          const inputs: CutInputs = {
            // Caught up: everything the journal held when the step ended is in the batch (a continuous stream never leaves it empty).
            pending: pendingEntries(batch),
            sinceCutMs: now - lastCutMs,
            quietMs: now - lastDataMs,
            caughtUp: offset >= cfg.journal.size(),
            committerIdle: !committing && Option.getOrElse(queue.unsafeSize(), () => 0) <= 0,
            repairsReady: committer.repairsReady(),
            burst
          }
          const reason = cutReason(inputs, policy)
          if (reason !== undefined) {
            burst = isBurst(reason)
            yield* Queue.offer(queue, yield* cut)
            continue
          }
          // Between ingest steps the sockets are read (so the journal keeps up) and DuckDB's callbacks run.
          if (progressed) yield* yieldToEventLoop
          else
            yield* Effect.raceFirst(
              Queue.take(cfg.journal.wake),
              Effect.raceFirst(Queue.take(signal), Effect.sleep(waitMs(inputs, policy)))
            )
        }
      })

    const commitLoop = (queue: Queue.Queue<Cut>) =>
      Effect.forever(
        Effect.gen(function* () {
          const c = yield* Queue.take(queue)
          const late = c.batch.lateRejected
          const bars = lastBarsOf(c.batch.rows.get(cfg.date))
          committing = true
          yield* committer.commit(c).pipe(Effect.ensuring(Effect.sync(() => void (committing = false))))
          if (late > 0) yield* telemetry.late(cfg.feed, late)
          yield* telemetry.lastBars(cfg.feed, bars)
          yield* notify
        })
      )

    /** Ingest, commits and gap repairs, concurrently, until one of them fails. */
    const run = Effect.scoped(
      Effect.gen(function* () {
        const queue = yield* Effect.acquireRelease(Queue.bounded<Cut>(1), Queue.shutdown)
        const commits = yield* Effect.forkScoped(commitLoop(queue))
        const repairs = yield* Effect.forkScoped(committer.repairLoop)
        return yield* Effect.raceFirst(ingestLoop(queue), Effect.raceFirst(Fiber.join(commits), Fiber.join(repairs)))
      })
    )

    yield* init
    yield* telemetry.queue(cfg.feed, () => ({
      bytes: Math.max(0, cfg.journal.size() - committer.checkpoint().offset),
      rows: pendingEntries(batch)
    }))
    // A failed commit restarts the writer from its checkpoint: the journal still holds everything.
    const fiber = yield* Effect.zipRight(warmUp(writer, schema, cfg.root, cfg.feed), run).pipe(
      Effect.sandbox,
      Effect.tapError((cause) =>
        Effect.logError(`live writer ${cfg.feed} failed; restarting from its checkpoint`, cause).pipe(
          Effect.zipRight(init)
        )
      ),
      Effect.retry(retryPolicy),
      Effect.forkScoped,
      Effect.interruptible
    )

    /** Cut and commit right here (the fibers are stopped). */
    const commitNow = Effect.flatMap(cut, (c) => committer.commit(c, true))

    const finish = (repairUntilMs?: number, tail?: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        // A commit in progress completes (it is uninterruptible); a batch cut but not committed is
        // dropped from memory and read again from the journal after the checkpoint.
        yield* Fiber.interrupt(fiber)
        // Everything appended is made readable first (with `journal.fsync: batch`, fsynced).
        yield* cfg.journal.sync
        yield* init
        while (yield* step) {
          if (pendingEntries(batch) >= cfg.maxRows) yield* commitNow
        }
        if (tail !== undefined) {
          syncLastStart(ctx)
          GapRepair.tailToClose(ctx.repair, tail, cfg.openMs, cfg.closeMs, stepMs)
          GapRepair.closeAll(ctx.repair, cfg.closeMs, stepMs)
        } else if (repairUntilMs !== undefined)
          GapRepair.closeAll(ctx.repair, Math.min(repairUntilMs, cfg.closeMs), stepMs)
        yield* commitNow
        if (outsideSession > 0)
          yield* Effect.logInfo(
            `live ${cfg.feed}: ${outsideSession.toLocaleString("en-US")} bars outside the regular session not stored (session.hours: regular)`
          )
      }).pipe(Effect.catchAllCause((cause) => Effect.logError(`live writer ${cfg.feed}: final flush failed`, cause)))

    return {
      processedOffset: () => offset,
      committedOffset: () => committer.checkpoint().offset,
      finish
    } satisfies WriterHandle
  })
