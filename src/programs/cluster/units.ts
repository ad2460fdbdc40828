/**
 * A runner's record of its units (issue 17): one JSON line per event appended to
 * `<storage.root>/state/cluster/units.ndjson` in the shared lake root, `started` when a runner
 * takes a unit (`unit`: its key, `<feed>/<date>`; `date` and `feed` beside it) and `completed` once
 * the unit's partition is in the lake (written before the cluster stores the reply). Appends of
 * one short line are atomic across processes (O_APPEND), so every runner writes the same file. A `started` with no `completed` from the same runner is a unit it did not finish
 * (killed), which the cluster delivered again to another runner. `stopping` (no run, no unit): the
 * runner's stop began; it starts no unit after that line.
 */
import { Clock, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import { fileIo } from "../../lib/fileIo.js"

export interface UnitEvent {
  readonly event: "started" | "completed" | "failed" | "stopping"
  readonly runId: string
  /** The unit's key, `<feed>/<date>` ("" on a `stopping` line). */
  readonly unit: string
  readonly date: string
  readonly feed?: string
  readonly runner: string
  readonly pid: number
  readonly fetched?: boolean
  readonly rows?: number
  readonly atMs?: number
}

export const unitsLog = (root: string) => path.join(root, "state", "cluster", "units.ndjson")

export const appendUnitEvent = (root: string, event: UnitEvent) =>
  Effect.gen(function* () {
    const file = unitsLog(root)
    const atMs = yield* Clock.currentTimeMillis
    yield* fileIo("append", file, async () => {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await fs.appendFile(file, `${JSON.stringify({ ...event, atMs })}\n`)
    })
  })

export const readUnitEvents = async (root: string): Promise<ReadonlyArray<UnitEvent>> => {
  const text = await fs.readFile(unitsLog(root), "utf8").catch(() => "")
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as UnitEvent)
}

/** The latest `backfill --cluster` submission (`backfill --cluster --resume` sends it again, same run id). */
export interface Submission {
  readonly runId: string
  readonly startDate: string
  readonly endDate: string
  readonly feeds: ReadonlyArray<string>
  readonly overwrite: boolean
}

export const submissionFile = (root: string) => path.join(root, "state", "cluster", "submission.json")

export const writeSubmission = (root: string, submission: Submission) =>
  fileIo("write", submissionFile(root), async () => {
    await fs.mkdir(path.dirname(submissionFile(root)), { recursive: true })
    await writeFileAtomic(submissionFile(root), JSON.stringify(submission))
  })

export const readSubmission = (root: string) =>
  fileIo("read", submissionFile(root), () => readJsonIfExists<Submission>(submissionFile(root)))
