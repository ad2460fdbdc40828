/**
 * The versions of the live day's lake files that each sink has loaded, kept as hard links (pinned
 * like lakeSnapshot.ts's reads), so that the next round loads only what changed since: a window's
 * `bars-HHMM.parquet` is rewritten at every commit, and without its loaded version a round would
 * send every row of the window again (LakeReader `incrementalSelect`).
 *
 * - `pin` runs BEFORE the sink reads the files, so a kept version is never newer than what the
 *   sink loaded: a row left out next round as "already loaded" was loaded (a sink that read a newer
 *   version only gets a few rows twice, harmless under its latest-`received_at_ms`-wins upsert).
 * - `keep` makes the pinned versions the kept ones, after the load succeeded; a failed load keeps
 *   the previous ones, so its rows are sent again next round.
 * - Everything lives in `state/snapshots/<pid>-…/<date>/<sink>/<feed>/` (the lake's file system,
 *   for links): removed by `release`, or, after a crash, by the next snapshot of the root. After a
 *   restart nothing is kept, and the first round loads whole files, as before.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { SinkName } from "../../config/Settings.js"
import type { Feed } from "../../domain/feeds.js"
import { pinOne, snapshotDir } from "../../services/parquet/lakeSnapshot.js"
import type { SinceVersions } from "../../services/sinks/LakeReader.js"

export interface LoadedVersions {
  /** The kept versions of `files` (by file name) that `sink` loaded. */
  readonly since: (sink: SinkName, feed: Feed, date: string, files: ReadonlyArray<string>) => SinceVersions
  /** Pin the current version of each of `files`, before `sink` loads them. */
  readonly pin: (sink: SinkName, feed: Feed, date: string, files: ReadonlyArray<string>) => Promise<void>
  /** After `sink` loaded `files`: their pinned versions become the kept ones. */
  readonly keep: (sink: SinkName, feed: Feed, date: string, files: ReadonlyArray<string>) => Promise<void>
  readonly release: () => Promise<void>
}

export const openLoadedVersions = (root: string): LoadedVersions => {
  let dir: Promise<string> | undefined
  const kept = new Map<string, string>() // `${folder}/${name}` → the kept version's path
  const folderOf = async (sink: SinkName, feed: Feed, date: string) => {
    // a failure (disk full) is not remembered: the next round tries again
    const made = (dir ??= snapshotDir(root).catch((e: unknown) => {
      dir = undefined
      throw e
    }))
    return path.join(await made, date, sink, feed)
  }
  const pinnedPath = (folder: string, name: string) => path.join(folder, "next", name)

  return {
    since: (sink, feed, date, files) => {
      const out: Record<string, string> = {}
      for (const file of files) {
        const name = path.basename(file)
        const version = kept.get(`${date}/${sink}/${feed}/${name}`)
        if (version !== undefined) out[name] = version
      }
      return out
    },
    pin: async (sink, feed, date, files) => {
      const folder = await folderOf(sink, feed, date)
      await fs.mkdir(path.join(folder, "next"), { recursive: true })
      for (const file of files) {
        const to = pinnedPath(folder, path.basename(file))
        await fs.rm(to, { force: true }) // a pin of a failed round
        await pinOne(file, to)
      }
    },
    keep: async (sink, feed, date, files) => {
      const folder = await folderOf(sink, feed, date)
      for (const file of files) {
        const name = path.basename(file)
        const to = path.join(folder, name)
        const moved = await fs.rename(pinnedPath(folder, name), to).then(
          () => true,
          (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? false : Promise.reject(e)) // gone before it was pinned
        )
        if (moved) kept.set(`${date}/${sink}/${feed}/${name}`, to)
      }
    },
    release: async () => {
      const d = dir
      dir = undefined
      kept.clear()
      if (d !== undefined) await fs.rm(await d, { recursive: true, force: true })
    }
  }
}
