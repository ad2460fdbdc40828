/**
 * Finished temporary files published under their final names, durably: fsync each (together),
 * rename each, fsync each folder once; then the temporary files of the same targets that a killed
 * process left are removed. Publishing a partition's files together costs one folder fsync and one
 * listing instead of one per file (a live day's options commit publishes 3–5 files, a backfilled
 * day 39). Each rename is atomic on its own, as before: a reader sees each file old or new.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fsyncDir, removeDeadTempsOf } from "../../lib/atomicFile.js"

const fsyncFile = async (file: string) => {
  const handle = await fs.open(file, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export interface Finished {
  readonly tmp: string
  readonly target: string
}

export const publishAll = async (files: ReadonlyArray<Finished>): Promise<void> => {
  await Promise.all(files.map((f) => fsyncFile(f.tmp)))
  for (const f of files) await fs.rename(f.tmp, f.target)
  const targets = files.map((f) => f.target)
  for (const dir of new Set(targets.map((t) => path.dirname(t)))) {
    await fsyncDir(dir)
    await removeDeadTempsOf(targets.filter((t) => path.dirname(t) === dir))
  }
}

export const publish = (tmp: string, target: string): Promise<void> => publishAll([{ tmp, target }])
