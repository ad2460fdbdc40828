/**
 * The Parquet files of a lake partition that are durable, for the live day's incremental sink loads.
 *
 * Every lake file appears atomically (written under `<name>.tmp-…`, fsynced, renamed), so a listed
 * `*.parquet` is always complete. A live writer's `live-<seq>.parquet` is durable only once its
 * checkpoint records that seq (`state/live/<feed>/<date>.json`, the writer's checkpoint or the news
 * poller's cursor: both carry `seq`); one published without it is removed at the next start and
 * rebuilt from the journal (liveFiles.ts `removeUncommitted`), so it is skipped until then. Every
 * other file (`live.parquet`, `backfill.parquet`, `recenter.parquet`, …) is durable as listed.
 *
 * A file's `id` is its name, size and mtime: a file replaced under the same name (a compaction's
 * `live.parquet`, a backfill `--overwrite`) is a new file.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Feed } from "../../domain/feeds.js"
import { lakePaths } from "../../domain/paths.js"
import { readJsonIfExists } from "../../lib/atomicFile.js"
import { parquetNames } from "../../lib/stableListing.js"
import { checkpointFile } from "./liveFiles.js"

export interface LakeFile {
  readonly path: string
  readonly id: string
}

const SEQ_FILE = /^live-(\d{6,})\.parquet$/

/** The last committed seq of the live writer (or news poller) of (feed, date); 0 when none. */
export const committedSeq = (root: string, feed: Feed, date: string): Promise<number> =>
  readJsonIfExists<{ seq?: unknown }>(checkpointFile(root, feed, date))
    .then((cp) => (typeof cp?.seq === "number" ? cp.seq : 0))
    .catch(() => 0)

export const durableFiles = (root: string, feed: Feed, date: string): Effect.Effect<ReadonlyArray<LakeFile>> =>
  Effect.promise(async () => {
    // The checkpoint first: a file it covers stays covered, whatever is committed while we list.
    const seq = await committedSeq(root, feed, date)
    const dir = lakePaths(root).partitionDir(feed, date)
    const names = await parquetNames(dir)
    const out: Array<LakeFile> = []
    for (const name of names) {
      const m = SEQ_FILE.exec(name)
      if (m !== null && Number(m[1]) > seq) continue
      const file = path.join(dir, name)
      const stat = await fs.stat(file).catch(() => undefined)
      if (stat?.isFile()) out.push({ path: file, id: `${name}\0${stat.size}\0${stat.mtimeMs}` })
    }
    return out
  })
