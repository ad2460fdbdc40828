/**
 * removeDeadTemps: the temporary files a killed writer left beside a target are removed; those of a
 * live process (this one, another), other targets' and the target itself are kept.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { removeDeadTemps, writeFileAtomic } from "../../src/lib/atomicFile.js"

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
})
