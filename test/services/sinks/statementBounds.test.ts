/**
 * Server-side statement bounds (src/services/sinks/statementGuard.ts) on the real PostgreSQL and
 * MariaDB, proven by the servers' own process lists: a statement the sink gives up on (server
 * timeout, client timeout, interruption) is no longer running when the transaction effect ends, and
 * a retry never starts beside the attempt before it.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Schedule } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { LakeReaderService } from "../../../src/services/sinks/LakeReader.js"
import { logAlerts } from "../../../src/services/sinks/Sink.js"
import * as SinkMetrics from "../../../src/services/sinks/SinkMetrics.js"
import * as SqlSink from "../../../src/services/sinks/SqlSink.js"
import * as StatementGuard from "../../../src/services/sinks/statementGuard.js"
import * as Throttle from "../../../src/services/sinks/Throttle.js"
import { prepareMysql, preparePg } from "./support.js"

let pgUrl: string | undefined
let myUrl: string | undefined
beforeAll(async () => {
  pgUrl = await preparePg("bounds")
  myUrl = await prepareMysql("bounds")
}, 30_000)

/** A statement no real sink runs: the marker finds exactly ours in the process list. */
const MARK = "bounds_marker_"

const pgLayer = () => PgClient.layer({ url: Redacted.make(pgUrl!), applicationName: StatementGuard.sessionTag() })
const myLayer = () => MysqlClient.layer({ url: Redacted.make(myUrl!) })

const withClient = <A>(
  which: "pg" | "mysql",
  f: (sql: PgClient.PgClient & MysqlClient.MysqlClient) => Effect.Effect<A, unknown>
) =>
  Effect.runPromiseExit(
    Effect.scoped(
      which === "pg"
        ? Effect.flatMap(PgClient.PgClient, (sql) => f(sql as PgClient.PgClient & MysqlClient.MysqlClient)).pipe(
            Effect.provide(pgLayer())
          )
        : Effect.flatMap(MysqlClient.MysqlClient, (sql) =>
            f(
              StatementGuard.tagStatements(sql, StatementGuard.sessionTag()) as PgClient.PgClient &
                MysqlClient.MysqlClient
            )
          ).pipe(Effect.provide(myLayer()))
    )
  )

const engines = {
  pg: {
    url: () => pgUrl,
    guard: (sql: PgClient.PgClient) => Effect.succeed(StatementGuard.postgres(sql)),
    sleep: (sql: PgClient.PgClient, id: string, s: number) => sql.unsafe(`SELECT pg_sleep(${s}) AS ${MARK}${id}`),
    running: (sql: PgClient.PgClient, id: string) =>
      Effect.map(
        sql.unsafe<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
          [`%AS ${MARK}${id}%`]
        ),
        ([r]) => Number(r!.n)
      )
  },
  mysql: {
    url: () => myUrl,
    guard: (sql: MysqlClient.MysqlClient) =>
      Effect.map(StatementGuard.mysqlFlavor(sql), (f) => StatementGuard.mysql(sql, f)),
    sleep: (sql: MysqlClient.MysqlClient, id: string, s: number) => sql.unsafe(`SELECT SLEEP(${s}) AS ${MARK}${id}`),
    running: (sql: MysqlClient.MysqlClient, id: string) =>
      Effect.map(
        sql.unsafe<{ n: number | string }>(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND INFO LIKE ? AND ID <> CONNECTION_ID()`,
          [`%AS ${MARK}${id}%`]
        ),
        ([r]) => Number(r!.n)
      )
  }
} as const

describe.each(["pg", "mysql"] as const)("statement bounds on the server (%s)", (which) => {
  const e = engines[which]
  const skip = () => e.url() === undefined

  it("the server's timeout ends the statement: it fails fast and nothing of it runs afterwards", async () => {
    if (skip()) return
    const exit = await withClient(which, (sql) =>
      Effect.gen(function* () {
        const guard = yield* e.guard(sql)
        const started = Date.now()
        const r = yield* Effect.exit(guard.transaction(e.sleep(sql, "srv", 30), { timeoutMs: 700 }))
        return { r, ms: Date.now() - started, after: yield* e.running(sql, "srv") }
      })
    )
    const v = Exit.isSuccess(exit) ? exit.value : expect.fail(String(exit))
    expect(Exit.isFailure(v.r)).toBe(true)
    expect(String(JSON.stringify(v.r))).toMatch(which === "pg" ? /57014/ : /1969|max_statement_time/)
    expect(v.ms).toBeLessThan(5_000)
    expect(v.after).toBe(0)
  }, 30_000)

  it("an interruption cancels the running statement on the server before the transaction effect ends", async () => {
    if (skip()) return
    const exit = await withClient(which, (sql) =>
      Effect.gen(function* () {
        const guard = yield* e.guard(sql)
        const fiber = yield* Effect.fork(guard.transaction(e.sleep(sql, "int", 60), { timeoutMs: 120_000 }))
        // wait until the server runs it, then interrupt (what SIGTERM or the client-side timeout does)
        yield* e
          .running(sql, "int")
          .pipe(
            Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n === 1 }),
            Effect.timeout("10 seconds")
          )
        const started = Date.now()
        const during = yield* e.running(sql, "int")
        yield* Effect.sleep("300 millis")
        const r = yield* fiber.interruptAsFork(fiber.id()).pipe(Effect.zipRight(fiber.await))
        return { during, r, ms: Date.now() - started, after: yield* e.running(sql, "int") }
      })
    )
    const v = Exit.isSuccess(exit) ? exit.value : expect.fail(String(exit))
    expect(v.during).toBe(1)
    expect(Exit.isInterrupted(v.r)).toBe(true)
    expect(v.after).toBe(0)
    expect(v.ms).toBeLessThan(6_000)
  }, 30_000)

  it("SqlSink: a timed-out consolidate is retried only after the server stopped the previous attempt", async () => {
    if (skip()) return
    const exit = await withClient(which, (sql) =>
      Effect.gen(function* () {
        const guard = yield* e.guard(sql)
        const seen: Array<number> = []
        let attempts = 0
        const ops: SqlSink.SqlOps<unknown> = {
          transaction: (effect, bounds) => guard.transaction(effect, bounds),
          upsert: () => Effect.void,
          deleteDate: () => Effect.void,
          readCheckpoint: () => Effect.succeed(undefined),
          countDate: () => Effect.succeed(0),
          writeCheckpoint: () => Effect.void,
          consolidate: () =>
            Effect.gen(function* () {
              attempts++
              // inside the attempt's transaction: is any earlier attempt still running on the server?
              seen.push(yield* e.running(sql, "retry"))
              yield* e.sleep(sql, "retry", 30)
              return 0
            })
        }
        const sink = SqlSink.make(
          ops,
          {
            name: which === "pg" ? "postgres" : "mysql",
            batchRows: 100,
            newsWindowMs: 0,
            consolidateTimeoutMs: 600,
            retry: Schedule.recurs(2)
          },
          {
            reader: {} as LakeReaderService,
            metrics: SinkMetrics.make("t", 1e9, logAlerts),
            throttle: yield* Throttle.make(2, 0)
          }
        )
        const started = Date.now()
        const r = yield* Effect.exit(sink.consolidate!("2025-10-28"))
        return { r, attempts, seen, ms: Date.now() - started, after: yield* e.running(sql, "retry") }
      })
    )
    const v = Exit.isSuccess(exit) ? exit.value : expect.fail(String(exit))
    expect(Exit.isFailure(v.r)).toBe(true)
    expect(v.attempts).toBe(3)
    expect(v.seen).toEqual([0, 0, 0])
    expect(v.after).toBe(0)
    expect(v.ms).toBeLessThan(10_000)
  }, 60_000)
})
