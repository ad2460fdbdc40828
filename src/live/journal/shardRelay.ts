/**
 * Distributed live (issue 17): the coordinator's relay of a socket shard's journal files into the
 * feed journal its writer reads. A shard journals on whichever runner streams it, one file per
 * incarnation (src/services/cluster/LiveShard.ts); the relay appends every complete line of every
 * file of the shard's folder to the feed journal, frames with their original receipt time and
 * markers as they are, so the writer, its checkpoints and gap repair see what a local socket
 * would have journaled. Every file is tailed until the end (a dead runner's file simply stops
 * growing), so no frame of an incarnation that outlived its successor's start is missed.
 *
 * Positions (file name → offset) are saved after the relayed lines are in the feed journal: a
 * crash between the two relays those lines again, the same frames with the same receipt times,
 * which the lake's merge turns into the same rows.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileSize, readEntries } from "./journalLines.js"
import type { JournalHandle } from "./Journal.js"

export type RelayPositions = Record<string, number>

export interface RelayPass {
  readonly frames: number
  readonly markers: number
  /** Lines that were not a frame or a marker (skipped). */
  readonly corrupt: number
  /** The pass stopped at its byte budget: more is waiting. */
  readonly more: boolean
}

/** Bytes one pass relays at most: a coordinator catching up on a day of shard journals does it in slices. */
export const RELAY_PASS_BYTES = 8 << 20

const listFiles = (dir: string): ReadonlyArray<string> => {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".ndjson"))
      .sort()
  } catch {
    return []
  }
}

/**
 * Relay what the shard's files hold beyond `positions` (updated in place) into `journal`. With
 * `untilMs` (a stop), entries received after it are passed over: every shard of a session ends at
 * the same instant, as the sockets of one process do.
 */
export const relayOnce = (
  dir: string,
  positions: RelayPositions,
  journal: JournalHandle,
  untilMs = Infinity,
  budget = RELAY_PASS_BYTES
): RelayPass => {
  let frames = 0
  let markers = 0
  let corrupt = 0
  let bytes = 0
  for (const name of listFiles(dir)) {
    const file = path.join(dir, name)
    const size = fileSize(file)
    let offset = positions[name] ?? 0
    while (offset < size) {
      if (bytes >= budget) return { frames, markers, corrupt, more: true }
      // no scratch buffer: the journal keeps a frame's bytes until its write, after this loop
      const { entries, next } = readEntries(file, offset, size, Math.min(4 << 20, budget))
      for (const e of entries) {
        if (e._tag === "Frame") {
          if (e.receivedMs > untilMs) continue
          journal.append(e.raw, e.receivedMs)
          frames++
        } else if (e._tag === "Marker") {
          if (e.ms > untilMs) continue
          journal.marker(e.data, e.ms)
          markers++
        } else corrupt++
      }
      if (next === offset) break // a torn last line: its writer is still writing it, or died mid-line
      bytes += next - offset
      offset = next
      positions[name] = offset
    }
  }
  return { frames, markers, corrupt, more: false }
}

export const positionsFile = (stateDir: string, connection: string) =>
  path.join(stateDir, "relay", `${connection}.json`)

export const readPositions = (file: string): RelayPositions => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as RelayPositions
  } catch {
    return {}
  }
}

/** Written whole (temporary file, rename); not fsynced: positions lost to a power cut relay lines again. */
export const savePositions = (file: string, positions: RelayPositions): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, JSON.stringify(positions))
  fs.renameSync(tmp, file)
}
