/**
 * Finished temporary files published under their final names, durably: fsync, rename, fsync the
 * folder; then the temporary files of the same targets that a killed process left are removed.
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

export const publish = (tmp: string, target: string) => publishAll([[tmp, target]])

/**
 * Several files at once (a partition's buckets): every file is fsynced before the first rename,
 * each rename is atomic on its own, and each folder is fsynced once after its renames.
 */
export const publishAll = async (files: ReadonlyArray<readonly [tmp: string, target: string]>) => {
  await Promise.all(files.map(([tmp]) => fsyncFile(tmp)))
  for (const [tmp, target] of files) await fs.rename(tmp, target)
  await Promise.all([...new Set(files.map(([, target]) => path.dirname(target)))].map(fsyncDir))
  await removeDeadTempsOf(files.map(([, target]) => target))
}
