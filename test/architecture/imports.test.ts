/**
 * Imports run downward only, between the layers the README's architecture section names:
 * `domain`, `lib` and `types` at the bottom, then `config` and `sql`, `services`, `live` and
 * `simulator`, `layers`, `programs`, and `cli`, `bench`, `main.ts`, `index.ts` at the top.
 * A file may import its own folder and any folder below it, never one above.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const RANK: Readonly<Record<string, number>> = {
  domain: 0,
  lib: 0,
  types: 0,
  config: 1,
  sql: 1,
  services: 2,
  live: 3,
  simulator: 3,
  layers: 4,
  programs: 5,
  cli: 6,
  bench: 6,
  "main.ts": 6,
  "index.ts": 6
}

const SRC = path.resolve("src")
const sources = (dir: string): Array<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
    )
const room = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!
const IMPORT = /(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g

describe("import direction", () => {
  it("every top-level folder of src has a rank", () => {
    const rooms = fs.readdirSync(SRC).filter((n) => fs.statSync(path.join(SRC, n)).isDirectory() || n.endsWith(".ts"))
    expect(rooms.filter((r) => RANK[r] === undefined)).toEqual([])
  })

  it("no import runs upward", () => {
    const upward: Array<string> = []
    for (const file of sources(SRC)) {
      for (const m of fs.readFileSync(file, "utf8").matchAll(IMPORT)) {
        const target = path.resolve(path.dirname(file), m[1]!)
        const [from, to] = [room(file), room(target)]
        if (from !== to && RANK[to]! > RANK[from]!)
          upward.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`)
      }
    }
    expect(upward).toEqual([])
  })

  it("no source file imports the index of @effect/platform or @effect/platform-node", () => {
    // Their indexes load every module, among them the Swagger and Scalar UIs: ~20 MB of strings
    // held in every process's heap (a news-only backfill peaked at 272 MB with them, 242 without).
    const root = /from\s*"@effect\/platform(-node)?"/
    const offenders = sources(SRC).filter((f) => root.test(fs.readFileSync(f, "utf8")))
    expect(offenders.map((f) => path.relative(SRC, f))).toEqual([])
  })

  it("no source file is over 300 lines", () => {
    const long = sources(SRC)
      .map((f) => [path.relative(SRC, f), fs.readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 300)
    expect(long).toEqual([])
  })
})
