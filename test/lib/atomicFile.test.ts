/**
 * removeDeadTemps: the temporary files a killed writer left beside a target are removed; those of a
 * live process (this one, another), other targets' and the target itself are kept. publishAll (the
 * lake's publish of a partition's files together) does the same for each of its targets.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { removeDeadTemps, writeFileAtomic } from "../../src/lib/atomicFile.js"
import { publishAll } from "../../src/services/parquet/publish.js"

describe("removeDeadTemps", () => {
  it("removes a dead pid's temporary files of the target and nothing else", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "atomic-"))
    const target = path.join(dir, "contracts-QQQ.json")
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid! // exited: its pid is not alive
    const names = {
      dead: `contracts-QQQ.json.tmp-${dead}-0-204`,
      mine: `contracts-QQQ.json.tmp-${process.pid}-0-999999`,
      parent: `contracts-QQQ.json.tmp-${process.ppid}-0-7`,
      other: `contracts.json.tmp-${dead}-0-3`
    }
    for (const n of Object.values(names)) await fs.writeFile(path.join(dir, n), "x")
    await writeFileAtomic(target, "{}")

    expect(await removeDeadTemps(target)).toEqual([names.dead])
    expect((await fs.readdir(dir)).sort()).toEqual(["contracts-QQQ.json", names.mine, names.parent, names.other].sort())
    expect(await removeDeadTemps(path.join(dir, "missing", "x.json"))).toEqual([]) // no such directory
    await fs.rm(dir, { recursive: true, force: true })
  })

  it("publishAll renames every finished file to its target and removes the dead temps of each target only", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "publish-"))
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
    const targets = ["bars-0930.parquet", "bars-0940.parquet"].map((n) => path.join(dir, n))
    const leftovers = [`bars-0930.parquet.tmp-${dead}-0-1`, `bars-0940.parquet.tmp-${dead}-0-2`]
    const untouched = `bars-0950.parquet.tmp-${dead}-0-3` // not a target of this publish
    for (const n of [...leftovers, untouched]) await fs.writeFile(path.join(dir, n), "stale")
    await fs.writeFile(targets[0]!, "old")
    const finished = targets.map((target, i) => ({ tmp: `${target}.tmp-${process.pid}-0-${i}`, target }))
    for (const [i, f] of finished.entries()) await fs.writeFile(f.tmp, `new ${i}`)

    await publishAll(finished)
    expect((await fs.readdir(dir)).sort()).toEqual(["bars-0930.parquet", "bars-0940.parquet", untouched].sort())
    expect(await Promise.all(targets.map((t) => fs.readFile(t, "utf8")))).toEqual(["new 0", "new 1"])
    await fs.rm(dir, { recursive: true, force: true })
  })
})
