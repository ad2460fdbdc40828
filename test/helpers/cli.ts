/** Run the built CLI (`dist/main.js`) as a child process, for crash, signal and exit-code tests. */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

export const MAIN = path.resolve("dist/main.js")

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A clean environment: only what the test passes (plus PATH/HOME), so a developer's .env or keys never leak in. */
export const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"],
  HOME: process.env["HOME"],
  ...env
})

export const startCli = (args: ReadonlyArray<string>, env: Record<string, string>, cwd = process.cwd()) => {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  const finished = new Promise<Finished>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return { child: child as ChildProcess, finished, output: () => ({ stdout, stderr }) }
}

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>, cwd?: string) =>
  startCli(args, env, cwd).finished

export const waitFor = async (condition: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 50) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

/** `startCli` that remembers its children; `killAll` (in an afterEach) SIGKILLs any still running. */
export const childPool = () => {
  const children: Array<ReturnType<typeof startCli>> = []
  const spawn = (args: ReadonlyArray<string>, env: Record<string, string>) => {
    const c = startCli(args, env)
    children.push(c)
    return c
  }
  const killAll = () => {
    for (const c of children.splice(0))
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL")
  }
  return { spawn, killAll }
}
