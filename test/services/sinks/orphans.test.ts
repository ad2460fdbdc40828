/**
 * Orphan cleanup at sink start (src/services/sinks/orphans.ts) with real processes on the real
 * PostgreSQL and MariaDB: a child process tagged like the platform runs a long statement and is
 * SIGKILLed (the server keeps running it); a second tagged child stays alive; a third session
 * belongs to another application. Ending orphans terminates exactly the dead child's session.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Orphans from "../../../src/services/sinks/orphans.js"
import { orphansOf } from "../../../src/services/sinks/orphans.js"
import { sessionTag } from "../../../src/services/sinks/statementGuard.js"
import { waitFor } from "../../helpers/cli.js"
import { prepareMysql, preparePg, queryMysql, queryPg } from "./support.js"

let pgUrl: string | undefined
let myUrl: string | undefined
const children: Array<ChildProcess> = []
beforeAll(async () => {
  pgUrl = await preparePg("orphans")
  myUrl = await prepareMysql("orphans")
}, 30_000)
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  // the server would keep the killed children's sleeps for minutes
  if (pgUrl)
    await queryPg(
      pgUrl,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(7__)'`
    )
  if (myUrl)
    for (const r of await queryMysql<{ id: number }>(
      myUrl,
      `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SELECT SLEEP(7__)'`
    ))
      await queryMysql(myUrl, `KILL ${Number(r.id)}`).catch(() => undefined)
})

/** A node child that opens one session (tagged with ITS pid unless `app` is given) and runs `SLEEP`/`pg_sleep` of `marker` seconds. */
const sleeper = (engine: "pg" | "mysql", url: string, marker: number, app?: string) => {
  const script =
    engine === "pg"
      ? `const { Client } = require("pg"); const tag = process.env.APP || ("spy-options:" + require("os").hostname() + ":" + process.pid);
         const c = new Client({ connectionString: process.env.URL, application_name: tag });
         c.connect().then(() => c.query("SELECT pg_sleep(${marker})")).catch(() => process.exit(1))`
      : `const mysql = require("mysql2"); const tag = process.env.APP || ("spy-options:" + require("os").hostname() + ":" + process.pid);
         const c = mysql.createConnection(process.env.URL); c.query("/* " + tag + " */ SELECT SLEEP(${marker})", () => process.exit(0))`
  const child = spawn(process.execPath, ["-e", script], {
    env: { ...process.env, URL: url, APP: app ?? "" },
    stdio: "ignore"
  })
  children.push(child)
  return child
}

const running = {
  pg: async (marker: number) =>
    Number(
      (
        await queryPg<{ n: string }>(
          pgUrl!,
          `SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query = $1`,
          [`SELECT pg_sleep(${marker})`]
        )
      )[0]!.n
    ),
  mysql: async (marker: number) =>
    Number(
      (
        await queryMysql<{ n: number }>(
          myUrl!,
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND INFO LIKE ?`,
          [`%SELECT SLEEP(${marker})`]
        )
      )[0]!.n
    )
}

const endOrphans = {
  pg: () =>
    Effect.runPromise(
      Effect.flatMap(PgClient.PgClient, Orphans.endPostgres).pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(pgUrl!), applicationName: sessionTag() }))
      )
    ),
  mysql: () =>
    Effect.runPromise(
      Effect.flatMap(MysqlClient.MysqlClient, Orphans.endMysql).pipe(
        Effect.provide(MysqlClient.layer({ url: Redacted.make(myUrl!) }))
      )
    )
}

describe("orphansOf", () => {
  it("only tagged sessions of this host whose pid is dead, never this process", () => {
    const host = sessionTag(1).split(":")[1]!
    const sessions = [
      { id: 1, tag: `spy-options:${host}:111`, query: "" },
      { id: 2, tag: `spy-options:${host}:222`, query: "" },
      { id: 3, tag: `spy-options:other-host:111`, query: "" },
      { id: 4, tag: `psql`, query: "" },
      { id: 5, tag: sessionTag(), query: "" }
    ]
    expect(orphansOf(sessions, (pid) => pid === 222).map((s) => s.id)).toEqual([1])
  })
})

describe.each(["pg", "mysql"] as const)("orphaned sessions at sink start (%s)", (engine) => {
  it("a killed run's statement is ended; a live sibling's and another application's are not", async () => {
    const url = engine === "pg" ? pgUrl : myUrl
    if (url === undefined) return
    const base = 700 + (engine === "pg" ? 0 : 10)
    const [dead, live, other] = [base + 1, base + 2, base + 3]
    const deadChild = sleeper(engine, url, dead)
    sleeper(engine, url, live)
    sleeper(engine, url, other, "another-application")
    await waitFor(
      async () => (await running[engine](dead)) + (await running[engine](live)) + (await running[engine](other)) === 3,
      15_000,
      100
    )
    deadChild.kill("SIGKILL")
    await new Promise((r) => deadChild.once("exit", r))
    // the server keeps running the dead client's statement
    await new Promise((r) => setTimeout(r, 300))
    expect(await running[engine](dead)).toBe(1)

    expect(await endOrphans[engine]()).toBe(1)
    expect([await running[engine](dead), await running[engine](live), await running[engine](other)]).toEqual([0, 1, 1])
    expect(await endOrphans[engine]()).toBe(0)
  }, 60_000)
})
