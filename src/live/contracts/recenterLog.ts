/**
 * The day's re-centring log `raw/contracts/date=D/recenter.ndjson`: one JSON line per change
 * (domain/recenter.ts `RecenterEntry`), appended and fsynced BEFORE the subscriptions change, so
 * a restart (even after kill -9) resumes the set the sockets were told to follow. A line torn by
 * a crash mid-write was never applied: it is cut off when the log is read back.
 * Also here: the other files of the day's re-centring in the same folder (the expiration's chain
 * `chain.json`); the added contracts are merged into the partition's `day.parquet`. A further
 * underlying (`underlyings:` beyond the first, `other`) has its own: `recenter-QQQ.ndjson`,
 * `chain-QQQ.json`, `contracts-QQQ.json`.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { lakePaths, tickerFileName } from "../../domain/paths.js"
import { fsyncDir } from "../../lib/atomicFile.js"
import type { RecenterEntry } from "../../domain/recenter.js"

/** `other`: a further underlying's ticker (undefined: the first underlying, the files of one). */
export const recenterFiles = (root: string, date: string, other?: string) => {
  const dir = lakePaths(root).partitionDir("contracts", date)
  const own = other === undefined ? "" : `-${tickerFileName(other)}`
  return {
    log: path.join(dir, `recenter${own}.ndjson`),
    chain: path.join(dir, `chain${own}.json`),
    contractsJson: path.join(dir, `contracts${own}.json`)
  }
}

const isEntry = (x: unknown): x is RecenterEntry => {
  if (x === null || typeof x !== "object") return false
  const e = x as Record<string, unknown>
  return (
    typeof e["at_ms"] === "number" &&
    typeof e["window_ms"] === "number" &&
    typeof e["new_anchor"] === "number" &&
    Array.isArray(e["contracts"]) &&
    Array.isArray(e["added"]) &&
    Array.isArray(e["dropped"])
  )
}

/** Parse a log's text: complete lines only; returns the entries and the length of the valid prefix. */
export const parseLog = (
  text: string
): { readonly entries: ReadonlyArray<RecenterEntry>; readonly validBytes: number; readonly torn: boolean } => {
  const entries: Array<RecenterEntry> = []
  let pos = 0
  for (;;) {
    const nl = text.indexOf("\n", pos)
    if (nl < 0) break
    const line = text.slice(pos, nl)
    let parsed: unknown
    try {
      parsed = line.trim().length === 0 ? undefined : JSON.parse(line)
    } catch {
      break
    }
    if (parsed !== undefined) {
      if (!isEntry(parsed)) break
      entries.push(parsed)
    }
    pos = nl + 1
  }
  return { entries, validBytes: Buffer.byteLength(text.slice(0, pos), "utf8"), torn: pos < text.length }
}

/** Read the day's entries; a torn or damaged tail (never applied) is truncated away. */
export const readLog = (root: string, date: string, other?: string) =>
  Effect.promise(async () => {
    const file = recenterFiles(root, date, other).log
    const text = await fs.readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return ""
      throw e
    })
    const parsed = parseLog(text)
    if (parsed.torn) await fs.truncate(file, parsed.validBytes)
    return parsed
  })

/** Append one entry durably (write + fsync; the folder is fsynced when the file is new). */
export const appendEntry = (root: string, date: string, entry: RecenterEntry, other?: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = recenterFiles(root, date, other).log
      await fs.mkdir(path.dirname(file), { recursive: true })
      const fresh = await fs.access(file).then(
        () => false,
        () => true
      )
      const handle = await fs.open(file, "a")
      try {
        await handle.write(JSON.stringify(entry) + "\n")
        await handle.sync()
      } finally {
        await handle.close()
      }
      if (fresh) await fsyncDir(path.dirname(file))
    },
    catch: (e) => new Error(`cannot append to the re-centring log: ${e instanceof Error ? e.message : String(e)}`)
  })
