/**
 * Where the live writer keeps its state: the checkpoint (`data/state/live/<feed>/<date>.json`,
 * what is durable up to which journal offset, and the seq of its numbered side files).
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { FeedSchema } from "../../domain/feeds.js"
import { lakePaths } from "../../domain/paths.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import { SymbolTable } from "../../lib/symbolTable.js"
import type { ParquetWriterService } from "../../services/ParquetWriter.js"
import { LiveColumns } from "./liveColumns.js"
import type { Feed } from "../../domain/feeds.js"
type LiveFeed = Feed

export interface RepairRange {
  readonly ticker: string
  /** Last window start received before the drop (exclusive). */
  readonly after: number
  /** First window start received after it (exclusive). */
  readonly before: number
}

export interface LiveCheckpoint {
  readonly version: 1
  readonly feed: LiveFeed
  readonly date: string
  readonly journal: string
  /** Journal bytes fully reflected in committed files. */
  readonly offset: number
  /** Sequence number of the last committed `live-<seq>` file set. */
  readonly seq: number
  readonly rowsCommitted: number
  /** Last window start seen per ticker. */
  readonly lastStart: Readonly<Record<string, number>>
  /** Tickers whose connection re-opened: the window start to repair from, awaiting the next bar. */
  readonly pending: Readonly<Record<string, number>>
  /** Ranges known and not yet repaired. */
  readonly due: ReadonlyArray<RepairRange>
  readonly updatedAtMs: number
}

/** The checkpoint of a day not yet committed: nothing ingested, nothing pending. */
export const emptyCheckpoint = (feed: LiveFeed, date: string, journal: string, nowMs: number): LiveCheckpoint => ({
  version: 1,
  feed,
  date,
  journal,
  offset: 0,
  seq: 0,
  rowsCommitted: 0,
  lastStart: {},
  pending: {},
  due: [],
  updatedAtMs: nowMs
})

export const checkpointFile = (root: string, feed: LiveFeed, date: string): string =>
  path.join(lakePaths(root).stateDir, "live", feed, `${date}.json`)

export const readCheckpoint = (root: string, feed: LiveFeed, date: string) =>
  Effect.promise(() => readJsonIfExists<LiveCheckpoint>(checkpointFile(root, feed, date)))

export const writeCheckpoint = (root: string, cp: LiveCheckpoint) =>
  Effect.promise(() => writeFileAtomic(checkpointFile(root, cp.feed, cp.date), JSON.stringify(cp)))

export const seqName = (seq: number, ext: string): string => `live-${String(seq).padStart(6, "0")}.${ext}`
const SEQ_FILE = /^live-(\d{6,})\.(parquet|ndjson)$/

const listDir = (dir: string) => Effect.promise(() => fs.readdir(dir).catch(() => [] as Array<string>))

/** Directories the live writer puts numbered files in, for a date. */
const dirsOf = (root: string, feed: LiveFeed, date: string) => {
  const p = lakePaths(root)
  return [p.partitionDir(feed, date), p.lateDir(feed, date), p.quarantineDir(feed, date)]
}

/** Files published after the last checkpoint (a crash between publish and checkpoint): removed, the journal replays them. */
export const removeUncommitted = (root: string, feed: LiveFeed, dates: ReadonlyArray<string>, seq: number) =>
  Effect.forEach(
    dates.flatMap((d) => dirsOf(root, feed, d)),
    (dir) =>
      Effect.flatMap(listDir(dir), (names) =>
        Effect.forEach(
          names.filter((n) => {
            const m = SEQ_FILE.exec(n)
            return m !== null && Number(m[1]) > seq
          }),
          (n) => Effect.promise(() => fs.rm(path.join(dir, n), { force: true })),
          { discard: true }
        )
      ),
    { discard: true }
  ).pipe(Effect.as(undefined))

/**
 * One throw-away row written the way commits write (and removed): the writer's first real
 * commit then does not pay DuckDB's first-use costs (scan function, Parquet writer set-up).
 */
export const warmUp = (writer: ParquetWriterService, schema: FeedSchema, root: string, feed: LiveFeed) =>
  Effect.gen(function* () {
    const cols = new LiveColumns(schema, new SymbolTable())
    cols.putRow(
      Object.fromEntries(
        schema.columns.map((c) => [c.name, c.type === "VARCHAR" ? "warm-up" : c.type === "BOOLEAN" ? null : 0])
      ),
      true
    )
    const target = path.join(lakePaths(root).stateDir, "live", feed, "warm-up.parquet")
    yield* writer.writeBatches(schema, [cols.toColumnBatch()], target)
    yield* Effect.promise(() => fs.rm(target, { force: true }))
  }).pipe(Effect.ignoreLogged)

/** Append-free side outputs (late bars, quarantined events) as numbered ndjson files committed with a flush. */
export const writeSideFile = (dir: string, seq: number, lines: ReadonlyArray<string>) =>
  lines.length === 0
    ? Effect.void
    : Effect.promise(() => writeFileAtomic(path.join(dir, seqName(seq, "ndjson")), lines.join("\n") + "\n"))
