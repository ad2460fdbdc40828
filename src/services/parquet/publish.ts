/**
 * A finished temporary file published under its final name, durably: fsync, rename, fsync the
 * folder; then the temporary files of the same target that a killed process left are removed.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fsyncDir, removeDeadTemps } from "../../lib/atomicFile.js"

const fsyncFile = async (file: string) => {
  const handle = await fs.open(file, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export const publish = async (tmp: string, target: string) => {
  await fsyncFile(tmp)
  await fs.rename(tmp, target)
  await fsyncDir(path.dirname(target))
  await removeDeadTemps(target)
}
