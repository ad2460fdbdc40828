/**
 * stableNames: a directory is listed until two listings in a row agree, so an entry that one
 * listing missed while a writer renamed files (simulated here by a scripted lister) is not lost;
 * a writer that never lets two listings agree gets the union of the last two.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parquetNames, stableNames } from "../../src/lib/stableListing.js"

/** A lister returning `listings` in turn (the last one again when they run out), counting its calls. */
const scripted = (listings: ReadonlyArray<ReadonlyArray<string>>) => {
  let calls = 0
  const list = async () => listings[Math.min(calls++, listings.length - 1)]!
  return { list, calls: () => calls }
}

describe("stableNames", () => {
  it("returns the first listing that the next one confirms, sorted", async () => {
    const s = scripted([
      ["b-0940.parquet", "b-0930.parquet"],
      ["b-0930.parquet", "b-0940.parquet"]
    ])
    expect(await stableNames(s.list)).toEqual(["b-0930.parquet", "b-0940.parquet"])
    expect(s.calls()).toBe(2)
  })

  it("a file one listing missed (a rename under way) is in the result", async () => {
    const all = ["b-0930.parquet", "b-0940.parquet", "b-0950.parquet"]
    const s = scripted([["b-0930.parquet", "b-0950.parquet"], all, all])
    expect(await stableNames(s.list)).toEqual(all)
    expect(s.calls()).toBe(3)
  })

  it("listings that never agree: the union of the last two, after `attempts` calls", async () => {
    const s = scripted([["a"], ["b"], ["a"], ["b", "c"]])
    expect(await stableNames(s.list, 4)).toEqual(["a", "b", "c"])
    expect(s.calls()).toBe(4)
  })
})

describe("parquetNames", () => {
  it("lists only .parquet names of the folder, sorted; a missing folder has none", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "listing-"))
    for (const n of ["bars-0940.parquet", "bars-0930.parquet", "bars-0930.parquet.tmp-1-0-1", "notes.txt"])
      await fs.writeFile(path.join(dir, n), "")
    expect(await parquetNames(dir)).toEqual(["bars-0930.parquet", "bars-0940.parquet"])
    expect(await parquetNames(path.join(dir, "missing"))).toEqual([])
    await fs.rm(dir, { recursive: true, force: true })
  })
})
