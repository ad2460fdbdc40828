/** Small durable-file helpers: write to a temporary name, fsync, rename. */
import * as fs from "node:fs/promises"
import * as path from "node:path"

let counter = 0

export const writeFileAtomic = async (target: string, content: string): Promise<void> => {
  await fs.mkdir(path.dirname(target), { recursive: true })
  const tmp = `${target}.tmp-${process.pid}-${++counter}`
  const handle = await fs.open(tmp, "w")
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, target)
}

export const readJsonIfExists = async <A>(file: string): Promise<A | undefined> => {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as A
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}
