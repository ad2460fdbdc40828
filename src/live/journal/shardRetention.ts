/**
 * Retention of the runners' socket-shard journals (distributed live, `journal/shards/<date>/`):
 * a date older than the retention cutoff is deleted once the coordinator relayed every file of it
 * to its end (the relay positions, state/cluster/live/<date>/relay/<connection>.json), i.e. its
 * frames are in the feed journals, which keep their own rule (journalRetention.ts). A date with a
 * file not relayed to its end is kept and returned.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileSize } from "./journalLines.js"
import { positionsFile, readPositions } from "./shardRelay.js"

const DATE = /^\d{4}-\d{2}-\d{2}$/

const list = (dir: string) => {
  try {
    return fs.readdirSync(dir).sort()
  } catch {
    return []
  }
}

/** Delete the shard journals of dates before `cutoff` that were relayed to their end. */
export const pruneShardJournals = (root: string, cutoff: string) =>
  Effect.sync(() => {
    const dir = path.join(root, "journal", "shards")
    const deleted: Array<string> = []
    const uncovered: Array<string> = []
    for (const date of list(dir).filter((d) => DATE.test(d) && d < cutoff)) {
      const relayDir = path.join(root, "state", "cluster", "live", date)
      const covered = list(path.join(dir, date)).every((connection) => {
        const positions = readPositions(positionsFile(relayDir, connection))
        return list(path.join(dir, date, connection)).every(
          (f) => (positions[f] ?? 0) >= fileSize(path.join(dir, date, connection, f))
        )
      })
      if (covered) {
        fs.rmSync(path.join(dir, date), { recursive: true, force: true })
        deleted.push(path.join(dir, date))
      } else uncovered.push(path.join(dir, date))
    }
    return { deleted, uncovered }
  })
