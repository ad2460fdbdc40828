/** `simulate` as a child process on a free port, its WebSocket faults set, and its simulated clock. */
import { waitFor } from "./cli.js"
import type { startCli } from "./cli.js"

type Spawn = (args: ReadonlyArray<string>, env: Record<string, string>) => ReturnType<typeof startCli>

export interface SimulateOptions {
  readonly seed: number
  /** ISO start of the simulated clock, e.g. `2025-10-28T09:29:50-04:00`. */
  readonly start: string
  readonly speed: number
  readonly apiKey: string
  /** `POST /_sim/faults` body's `ws` part (faults.ts `WsFaults`). */
  readonly wsFaults?: Record<string, number>
}

export const startSimulate = async (spawn: Spawn, o: SimulateOptions) => {
  const sim = spawn(
    [
      "simulate",
      "--port",
      "0",
      "--seed",
      String(o.seed),
      "--start",
      o.start,
      "--speed",
      String(o.speed),
      "--api-key",
      o.apiKey
    ],
    {}
  )
  let url = ""
  await waitFor(() => {
    const { stdout, stderr } = sim.output()
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout + stderr)
    if (m) url = m[1]!
    return m !== null
  }, 30_000)
  if (o.wsFaults !== undefined) {
    const res = await fetch(`${url}/_sim/faults`, { method: "POST", body: JSON.stringify({ ws: o.wsFaults }) })
    if (res.status !== 200) throw new Error(`POST /_sim/faults: ${res.status}`)
  }
  /** The simulator's simulated now (whole seconds). */
  const now = async () => {
    const body = (await (await fetch(`${url}/v1/marketstatus/now?apiKey=${o.apiKey}`)).json()) as { serverTime: string }
    return Date.parse(body.serverTime)
  }
  return { sim, url, now }
}
