/** Start `node dist/main.js simulate` in a child process and wait until it answers. */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "main.js")

/** `main`: another build's main.js (e.g. to compare with an earlier version). */
export const startSimulatorProcess = async (port: number, extraArgs: ReadonlyArray<string> = [], main = MAIN) => {
  const child = spawn(process.execPath, [main, "simulate", "--port", String(port), ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const r = await fetch(`${url}/v1/marketstatus/now?apiKey=bench`)
      if (r.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`simulator did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM"))
      )
  }
}

export const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024)
