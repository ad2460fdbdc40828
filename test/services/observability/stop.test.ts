import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { isAlive } from "../../../src/lib/processAlive.js"
import { readPidFile, stopPid, stopProgram, writePidFile } from "../../../src/programs/stop.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import { settingsFor, tempRoot } from "./_helpers.js"

const child = (script: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly pid: number; readonly exited: Promise<number | null> }>((resume) => {
      const proc = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
      const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)))
      proc.stdout.once("data", () => resume(Effect.succeed({ pid: proc.pid!, exited })))
    }),
    ({ pid }) => Effect.sync(() => isAlive(pid) && process.kill(pid, "SIGKILL"))
  )

describe("stop", () => {
  it.scopedLive("sends SIGTERM to the live pid and waits until it is gone", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const proc = yield* child(
        "process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1000);console.log('ready')"
      )
      const pidFile = path.join(root, "state", "live.pid")
      fs.mkdirSync(path.dirname(pidFile), { recursive: true })
      fs.writeFileSync(pidFile, `${proc.pid}\n`)
      const result = yield* stopProgram.pipe(Effect.provide(AppSettings.layerValue(settingsFor(root))))
      assert.strictEqual(result._tag, "Stopped")
      assert.strictEqual(result._tag === "Stopped" && result.pid, proc.pid)
      assert.strictEqual(yield* Effect.promise(() => proc.exited), 0)
      assert.isFalse(isAlive(proc.pid))
    })
  )

  it.scopedLive("a process ignoring SIGTERM fails with StopError after the timeout", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const proc = yield* child("process.on('SIGTERM',()=>{});setInterval(()=>{},1000);console.log('ready')")
      const pidFile = path.join(root, "live.pid")
      fs.writeFileSync(pidFile, `${proc.pid}\n`)
      const exit = yield* Effect.exit(stopPid({ pidFile, timeoutMs: 300, pollMs: 50 }))
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(
        Exit.isFailure(exit) && exit.cause._tag === "Fail" ? [exit.cause.error._tag, exit.cause.error.message] : [],
        ["StopError", `pid ${proc.pid} still running 0.3 s after SIGTERM`]
      )
      assert.isTrue(isAlive(proc.pid))
    })
  )

  it.effect("a missing or stale pid file means no live process (exit 0)", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const pidFile = path.join(root, "live.pid")
      assert.deepStrictEqual(yield* stopPid({ pidFile }), { _tag: "NotRunning", stalePid: null })
      fs.writeFileSync(pidFile, "999999999\n")
      assert.deepStrictEqual(yield* stopPid({ pidFile }), { _tag: "NotRunning", stalePid: 999999999 })
      assert.isFalse(fs.existsSync(pidFile))
    })
  )

  it.effect("writePidFile holds the pid for the scope and refuses a second live process", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const pidFile = path.join(root, "state", "live.pid")
      const scope = yield* Scope.make()
      yield* writePidFile(pidFile).pipe(Scope.extend(scope))
      assert.strictEqual(readPidFile(pidFile), process.pid)
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(fs.existsSync(pidFile))
      fs.writeFileSync(pidFile, `${process.ppid}\n`)
      const exit = yield* Effect.exit(Effect.scoped(writePidFile(pidFile)))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "AlreadyRunning")
      assert.strictEqual(readPidFile(pidFile), process.ppid)
    })
  )
})
