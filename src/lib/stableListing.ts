/**
 * A directory's names while another process renames files into it. POSIX leaves unspecified whether
 * a `readdir` running during a rename returns the renamed entry, and on file systems whose
 * directories are lists of cached entries (tmpfs, overlay) a file renamed over an existing name can
 * be missed by a listing already under way. A lake reader that missed a bucket file would read a
 * partition without those rows, silently. So the directory is listed until two listings in a row
 * agree; when a writer keeps renaming and they never do within `attempts`, the union of the last two
 * is returned: a file that vanished in between is left out later, when it cannot be pinned or stat'ed.
 */
import * as fs from "node:fs/promises"

const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((n, i) => n === b[i])

/** `list` until two calls in a row return the same names (sorted); at most `attempts` calls. */
export const stableNames = async (
  list: () => Promise<ReadonlyArray<string>>,
  attempts = 6
): Promise<ReadonlyArray<string>> => {
  let previous = [...(await list())].sort()
  for (let i = 1; i < attempts; i++) {
    const next = [...(await list())].sort()
    if (same(previous, next)) return next
    if (i === attempts - 1) return [...new Set([...previous, ...next])].sort()
    previous = next
  }
  return previous
}

/** The `.parquet` names directly in `dir`, sorted (none when it does not exist), by `stableNames`. */
export const parquetNames = (dir: string): Promise<ReadonlyArray<string>> =>
  stableNames(async () =>
    (await fs.readdir(dir).catch(() => [] as Array<string>)).filter((n) => n.endsWith(".parquet"))
  )
