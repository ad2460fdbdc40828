/**
 * Reads one lake partition (feed, date) for the SQL sinks: every Parquet file of the partition via
 * `read_parquet(files, union_by_name = true)`, deduplicated by key (max `received_at_ms`), ordered
 * by key, staged once in a temp table of its own in-memory DuckDB and paged from there.
 * `fingerprint` identifies the partition's file set (names, sizes, mtimes) so a sink can resume a
 * load only against the same lake version. `openFiles` does the same for a subset of a partition's
 * files (the live day's incremental loads): dedup among those files only, no claim about the rest;
 * with `since` (a file's earlier version that the sink already holds), only the file's rows that
 * are not in that version (`EXCEPT`: new keys and newer versions of keys) are staged.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type Feed, type Row, SCHEMAS } from "../../domain/feeds.js"
import { lakePaths } from "../../domain/paths.js"
import * as DuckDb from "../DuckDb.js"
import { parquetNames } from "../../lib/stableListing.js"
import { scopedSnapshot } from "../parquet/lakeSnapshot.js"

export interface PartitionFiles {
  readonly files: ReadonlyArray<string>
  readonly fingerprint: string
}

export interface Partition extends PartitionFiles {
  readonly total: number
  /** Rows `[offset, offset + limit)` in key order; lake columns only, BIGINT as number. */
  readonly page: (offset: number, limit: number) => Effect.Effect<ReadonlyArray<Row>, DuckDb.DuckDbError>
}

export interface LakeReaderService {
  readonly files: (feed: Feed, date: string) => Effect.Effect<PartitionFiles>
  readonly open: (feed: Feed, date: string) => Effect.Effect<Partition, DuckDb.DuckDbError, Scope.Scope>
  /**
   * Only `files` (absolute paths of `.parquet` files directly in the (feed, date) partition);
   * `since`: file name → an earlier version of that file (`sinceFiles`), whose rows are left out.
   */
  readonly openFiles: (
    feed: Feed,
    date: string,
    files: ReadonlyArray<string>,
    since?: SinceVersions
  ) => Effect.Effect<Partition, DuckDb.DuckDbError, Scope.Scope>
}

/** A partition file's name → a Parquet file holding an earlier version of it (in the lake's `state/snapshots/`). */
export type SinceVersions = Readonly<Record<string, string>>

export class LakeReader extends Context.Tag("spy/LakeReader")<LakeReader, LakeReaderService>() {}

export const partitionFiles = (root: string, feed: Feed, date: string): Effect.Effect<PartitionFiles> =>
  Effect.promise(async () => {
    const dir = lakePaths(root).partitionDir(feed, date)
    const names = await parquetNames(dir)
    const hash = createHash("sha256")
    const files: Array<string> = []
    for (const name of names) {
      const file = path.join(dir, name)
      const stat = await fs.stat(file).catch(() => undefined)
      if (!stat) continue
      files.push(file)
      hash.update(`${name}\0${stat.size}\0${stat.mtimeMs}\n`)
    }
    return { files, fingerprint: hash.digest("hex").slice(0, 32) }
  })

/**
 * `files` resolved, each checked to be a `.parquet` file directly in the (feed, date) partition of
 * `root` (a sink never reads outside the lake); duplicates removed, sorted. Throws otherwise.
 */
export const partitionSubset = (
  root: string,
  feed: Feed,
  date: string,
  files: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const dir = path.resolve(lakePaths(root).partitionDir(feed, date))
  const out = new Set<string>()
  for (const f of files) {
    const abs = path.resolve(f)
    if (path.dirname(abs) !== dir || !abs.endsWith(".parquet"))
      throw new Error(`not a Parquet file of the ${feed} ${date} partition: ${JSON.stringify(f)}`)
    out.add(abs)
  }
  return [...out].sort()
}

/**
 * `since` resolved, each checked to be a `.parquet` file under the lake's `state/snapshots/` (where
 * pinned versions live: lakeSnapshot.ts, src/live/sinks/loadedVersions.ts). Throws otherwise.
 */
export const sinceFiles = (root: string, since: SinceVersions): SinceVersions => {
  const base = path.resolve(lakePaths(root).stateDir, "snapshots") + path.sep
  const out: Record<string, string> = {}
  for (const [name, f] of Object.entries(since)) {
    const abs = path.resolve(f)
    if (!abs.startsWith(base) || !abs.endsWith(".parquet") || name.includes(path.sep))
      throw new Error(`not a pinned lake version: ${JSON.stringify(f)}`)
    out[name] = abs
  }
  return out
}

/** Names, sizes and mtimes of `files` (a vanished one is left out: the load then reads what exists). */
const fingerprintOf = (files: ReadonlyArray<string>): Effect.Effect<PartitionFiles> =>
  Effect.promise(async () => {
    const hash = createHash("sha256")
    const present: Array<string> = []
    for (const file of files) {
      const stat = await fs.stat(file).catch(() => undefined)
      if (!stat) continue
      present.push(file)
      hash.update(`${path.basename(file)}\0${stat.size}\0${stat.mtimeMs}\n`)
    }
    return { files: present, fingerprint: hash.digest("hex").slice(0, 32) }
  })

/** `SELECT <lake columns> FROM <files>`, by name (a column a file lacks is NULL). */
const readFiles = (feed: Feed, files: ReadonlyArray<string>): string =>
  `SELECT ${SCHEMAS[feed].columns.map((c) => `"${c.name}"`).join(", ")} FROM read_parquet([${files.map(DuckDb.sqlString).join(", ")}], union_by_name = true)`

/** Keeps the latest `received_at_ms` of each key. */
const latestPerKey = (feed: Feed): string =>
  `QUALIFY row_number() OVER (PARTITION BY ${SCHEMAS[feed].key.map((k) => `"${k}"`).join(", ")} ORDER BY "received_at_ms" DESC) = 1`

/** `SELECT <lake columns> FROM <files> <dedupe>`: the partition as the sinks see it. */
export const dedupedSelect = (feed: Feed, files: ReadonlyArray<string>): string =>
  `${readFiles(feed, files)} ${latestPerKey(feed)}`

/**
 * `dedupedSelect` of `files`, except that a file with an earlier version in `since` (by name)
 * contributes only its rows that are not in that version: new keys and changed rows. Correct for a
 * sink that already holds the earlier version's rows, since every sink keeps the latest
 * `received_at_ms` per key (a row left out here is already there, byte for byte).
 */
export const incrementalSelect = (feed: Feed, files: ReadonlyArray<string>, since: SinceVersions): string => {
  const earlier = (f: string) => since[path.basename(f)]
  const whole = files.filter((f) => earlier(f) === undefined)
  const changed = files.filter((f) => earlier(f) !== undefined)
  if (changed.length === 0) return dedupedSelect(feed, files)
  const parts = [
    ...(whole.length > 0 ? [readFiles(feed, whole)] : []),
    ...changed.map((f) => `SELECT * FROM (${readFiles(feed, [f])} EXCEPT ${readFiles(feed, [earlier(f)!])})`)
  ]
  return `SELECT * FROM (${parts.join(" UNION ALL ")}) ${latestPerKey(feed)}`
}

let sequence = 0

export const make = (root: string) =>
  Effect.gen(function* () {
    const db = yield* DuckDb.make(":memory:", 1, { interruptible: true }) // one connection: the staged partitions are temp tables
    const stage = (feed: Feed, listed: PartitionFiles, since: SinceVersions = {}) =>
      Effect.gen(function* () {
        const schema = SCHEMAS[feed]
        if (listed.files.length === 0)
          return { ...listed, total: 0, page: () => Effect.succeed([]) } satisfies Partition
        const table = `lake_${feed}_${++sequence}`
        const key = schema.key.map((k) => `"${k}"`).join(", ")
        // Read through pinned files (lakeSnapshot.ts): a live commit may replace a file mid-read.
        // The fingerprint is the pinned files', so it names exactly the version staged.
        const { files, fingerprint } = yield* Effect.acquireRelease(
          Effect.scoped(
            Effect.gen(function* () {
              const snapshot = yield* scopedSnapshot(root)
              const pinned = yield* Effect.promise(() => snapshot.pin(listed.files))
              const earlier = yield* Effect.promise(() => pinSince(snapshot, pinned, since))
              const staged = yield* fingerprintOf(pinned)
              yield* db.run(
                `CREATE TEMP TABLE ${table} AS SELECT row_number() OVER (ORDER BY ${key}) AS __rn, * FROM (${incrementalSelect(feed, pinned, earlier)})`
              )
              const names = new Set(pinned.map((f) => path.basename(f)))
              return { files: listed.files.filter((f) => names.has(path.basename(f))), fingerprint: staged.fingerprint }
            })
          ),
          () => Effect.ignore(db.run(`DROP TABLE IF EXISTS temp.${table}`))
        )
        const [count] = yield* db.query<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM temp.${table}`)
        const cols = schema.columns
          .map((c) => (c.type === "BIGINT" ? `"${c.name}"::DOUBLE AS "${c.name}"` : `"${c.name}"`))
          .join(", ")
        const page = (offset: number, limit: number) =>
          db.query<Row>(
            `SELECT ${cols} FROM temp.${table} WHERE __rn > ${Math.trunc(offset)} AND __rn <= ${Math.trunc(offset + limit)} ORDER BY __rn`
          )
        return { files, fingerprint, total: Number(count!.n), page } satisfies Partition
      })
    const open = (feed: Feed, date: string) => Effect.flatMap(partitionFiles(root, feed, date), (pf) => stage(feed, pf))
    const openFiles = (feed: Feed, date: string, files: ReadonlyArray<string>, since: SinceVersions = {}) =>
      Effect.try({
        try: () => ({ subset: partitionSubset(root, feed, date, files), earlier: sinceFiles(root, since) }),
        catch: (e) =>
          new DuckDb.DuckDbError({
            sql: `openFiles ${feed} ${date}`,
            message: e instanceof Error ? e.message : String(e)
          })
      }).pipe(
        Effect.flatMap(({ subset, earlier }) => Effect.flatMap(fingerprintOf(subset), (pf) => stage(feed, pf, earlier)))
      )
    return { files: (feed, date) => partitionFiles(root, feed, date), open, openFiles } satisfies LakeReaderService
  })

/** The earlier versions of the pinned files that have one, pinned too; one that is gone is left out (its file is then read whole). */
const pinSince = async (
  snapshot: { readonly pin: (files: ReadonlyArray<string>) => Promise<ReadonlyArray<string>> },
  pinned: ReadonlyArray<string>,
  since: SinceVersions
): Promise<SinceVersions> => {
  const out: Record<string, string> = {}
  for (const file of pinned) {
    const earlier = since[path.basename(file)]
    if (earlier === undefined) continue
    const [kept] = await snapshot.pin([earlier])
    if (kept !== undefined) out[path.basename(file)] = kept
  }
  return out
}

export const layer = (root: string): Layer.Layer<LakeReader> => Layer.scoped(LakeReader, make(root))
