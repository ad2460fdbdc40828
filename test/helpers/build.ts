/** Build dist/ unless every src/**.ts already has a newer dist/**.js (tests of the built CLI or worker scripts). */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export const buildIfStale = (): void => {
  const stale = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) return stale(p)
      if (!e.name.endsWith(".ts") || e.name.endsWith(".d.ts")) return false
      const out = path.join("dist", path.relative("src", p)).replace(/\.ts$/, ".js")
      return !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(p).mtimeMs
    })
  if (stale("src")) execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { stdio: "inherit" })
}
