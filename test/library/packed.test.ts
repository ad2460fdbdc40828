/**
 * The package as a library user gets it: `npm pack`, installed into a scratch project (its
 * dependencies and the Effect peer dependencies from npm's cache, the registry otherwise), then
 * the README's "Use as a library" example compiled with TypeScript against it and run. It
 * backfills one day from the built-in simulator: the rows it reports and the lake it writes equal
 * the simulator's regular-session truth, and the project holds one copy of `effect`.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { buildIfStale } from "../helpers/build.js"
import { childEnv } from "../helpers/cli.js"
import { chosenContracts, expectedBars } from "../helpers/groundTruth.js"
import { CLEAN_LAYOUT, lakeLayout } from "../helpers/lakeLayout.js"

const REPO = path.resolve(".")
const DATE = "2025-10-28"
const SEED = 42 // simulator.seed's default

const readmeExample = (): string => {
  const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8")
  const m = /<!-- library-example -->\s*```ts\n([\s\S]*?)```\s*<!-- \/library-example -->/.exec(readme)
  if (m === null) throw new Error("README has no library example between its markers")
  return m[1]!
}

/** A command's stdout (asynchronously: a blocked event loop would stall vitest's worker). */
const run = async (cmd: string, args: ReadonlyArray<string>, cwd: string): Promise<string> =>
  (
    await promisify(execFile)(cmd, [...args], {
      cwd,
      env: { ...childEnv({}), npm_config_update_notifier: "false" },
      encoding: "utf8",
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024
    })
  ).stdout

describe("the packed package as a library", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("the README's example, compiled against the installed package, backfills a day exactly; one copy of effect", async () => {
    const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "packed-")))
    try {
      const tgz = (await run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", work], REPO))
        .trim()
        .split("\n")
        .at(-1)!
      const app = path.join(work, "app")
      fs.mkdirSync(app)
      fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      await run(
        "npm",
        [
          "install",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          "--loglevel=error",
          path.join(work, tgz)
        ],
        app
      )
      fs.writeFileSync(path.join(app, "example.ts"), readmeExample())
      await run(
        process.execPath,
        [
          path.join(REPO, "node_modules/typescript/bin/tsc"),
          "--module",
          "nodenext",
          "--moduleResolution",
          "nodenext",
          "--target",
          "es2022",
          "--strict",
          "--skipLibCheck",
          "--outDir",
          "out",
          "example.ts"
        ],
        app
      )
      const out = await run(process.execPath, ["out/example.js"], app)
      const rows = JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, number>

      const market = makeSyntheticMarket(SEED)
      const contracts = chosenContracts(market, DATE, 0.01, 100)
      expect(rows).toEqual({
        spy: expectedBars(market, "SPY", DATE).length,
        vix: expectedBars(market, "I:VIX", DATE).length,
        options: contracts.reduce((n, c) => n + expectedBars(market, c.ticker, DATE).length, 0),
        contracts: contracts.length
      })
      const root = path.join(app, "data")
      const layouts = await Promise.all((["spy", "vix", "options"] as const).map((f) => lakeLayout(root, f, DATE)))
      expect(layouts).toEqual([CLEAN_LAYOUT, CLEAN_LAYOUT, CLEAN_LAYOUT])
      const copies = (await run("npm", ["ls", "effect", "--all", "--parseable"], app))
        .trim()
        .split("\n")
        .filter((l) => l.length > 0)
      expect(new Set(copies.map((l) => fs.realpathSync(l))).size).toBe(1)
    } finally {
      fs.rmSync(work, { recursive: true, force: true })
    }
  }, 300_000)
})
