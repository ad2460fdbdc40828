/**
 * Small durable-file helpers: write to a temporary name, fsync, rename. The directory is not
 * fsynced after the rename: every file written this way is a checkpoint or cursor, and what it
 * covers was made durable before it, so a rename lost in a power cut only means redoing work
 * (a re-fetched unit, a replayed journal tail), never a checkpoint ahead of its data.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { threadId } from "node:worker_threads"
import { isAlive } from "./processAlive.js"

let counter = 0

/**
 * The temporary name a file is written under before its rename: unique across processes (pid),
 * the worker threads of one process (thread id: each thread has its own module state) and calls.
 */
export const tempPath = (target: string): string => `${target}.tmp-${process.pid}-${threadId}-${++counter}`

export const writeFileAtomic = async (target: string, content: string | Uint8Array): Promise<void> => {
  await fs.mkdir(path.dirname(target), { recursive: true })
  const tmp = tempPath(target)
  const handle = await fs.open(tmp, "w")
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, target)
}

/**
 * Removes the temporary files of `target` (`<target>.tmp-<pid>-…`) that a process killed before its
 * rename left, i.e. whose pid is no longer alive; another live writer's are kept. Returns their names.
 */
export const removeDeadTemps = (target: string): Promise<ReadonlyArray<string>> => removeDeadTempsOf([target])

/** `removeDeadTemps` for several targets of one directory, with one listing. */
export const removeDeadTempsOf = async (targets: ReadonlyArray<string>): Promise<ReadonlyArray<string>> => {
  if (targets.length === 0) return []
  const dir = path.dirname(targets[0]!)
  const prefixes = targets.map((t) => `${path.basename(t)}.tmp-`)
  const names = await fs.readdir(dir).catch(() => [] as Array<string>)
  const dead = names.filter((n) => {
    const prefix = prefixes.find((p) => n.startsWith(p))
    const pid = prefix === undefined ? Number.NaN : Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1])
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)
  })
  await Promise.all(dead.map((n) => fs.rm(path.join(dir, n), { force: true })))
  return dead
}

/** Makes a rename (or a new entry) in `dir` survive a power cut. */
export const fsyncDir = async (dir: string): Promise<void> => {
  const handle = await fs.open(dir, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export const readJsonIfExists = async <A>(file: string): Promise<A | undefined> => {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as A
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}
