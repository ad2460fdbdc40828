/**
 * Statement bounds the SERVER enforces, for the PostgreSQL and MySQL/MariaDB sinks.
 *
 * - Every guarded transaction first records its server session (`pg_backend_pid()` /
 *   `CONNECTION_ID()`) and sets a server-side statement timeout: PostgreSQL `SET LOCAL
 *   statement_timeout` (this transaction only), MariaDB `SET SESSION max_statement_time` (every
 *   statement kind), MySQL 8 `max_execution_time` (SELECT only; KILL QUERY below covers the rest).
 * - When the transaction's fiber is interrupted (a client-side timeout, SIGINT/SIGTERM, `stop`),
 *   the running statement is cancelled from a SECOND connection (`pg_cancel_backend` / `KILL QUERY`)
 *   before the rollback is sent. The rollback queues behind the cancelled statement on the same
 *   connection, so when the transaction effect ends nothing of it runs on the server any more
 *   (@effect/sql-mysql2 0.53 does not cancel at all; @effect/sql-pg 0.53 does, best effort, through
 *   the pool: this is the same cancel, made explicit, logged and engine-independent).
 * - Sessions are tagged `spy-options:<host>:<pid>`: PostgreSQL `application_name`, MySQL a leading
 *   comment on every statement (visible in PROCESSLIST.INFO). `endOrphans` (at sink start) ends the
 *   statements of tagged sessions whose process is dead on this host; see orphans.ts.
 * - Fault injection (tests only): `faultSleepS > 0` runs a server-side sleep inside the transaction.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import type { MysqlClient } from "@effect/sql-mysql2"
import type { PgClient } from "@effect/sql-pg"
import { Context, Effect } from "effect"
import * as os from "node:os"

export const TAG_PREFIX = "spy-options"

/** This process's session tag (PostgreSQL keeps 63 bytes of application_name: the host is cut to fit). */
export const sessionTag = (pid: number = process.pid, host: string = os.hostname()): string =>
  `${TAG_PREFIX}:${host.slice(0, 40)}:${pid}`

/** The host and pid a session tag names, or undefined for anything else. */
export const parseTag = (tag: string): { readonly host: string; readonly pid: number } | undefined => {
  const m = /^spy-options:(.+):(\d+)$/.exec(tag)
  return m ? { host: m[1]!, pid: Number(m[2]) } : undefined
}

export interface GuardOptions {
  /** Server-side limit for each statement of the transaction. */
  readonly timeoutMs: number
  /** Fault injection: the server sleeps this long inside the transaction first (0 = off). */
  readonly faultSleepS?: number | undefined
}

export interface StatementGuard {
  readonly engine: "postgres" | "mysql" | "mariadb"
  /** `effect` as one transaction bounded on the server; an interruption cancels the running statement on the server, then rolls back. */
  readonly transaction: <A, E>(
    effect: Effect.Effect<A, E>,
    options: GuardOptions
  ) => Effect.Effect<A, E | SqlError.SqlError>
}

/** Run on a pooled connection of its own even inside a transaction (the cancel must not queue behind the statement it cancels). */
const outsideTransaction = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.mapInputContext(
    effect,
    (ctx: Context.Context<never>) => Context.omit(SqlClient.TransactionConnection)(ctx) as Context.Context<never>
  )

/** Cancel `session`'s running statement from another connection; logged, best effort, at most 5 s. */
const cancelOnInterrupt = (engine: string, session: number, statement: Effect.Effect<unknown, SqlError.SqlError>) =>
  outsideTransaction(statement).pipe(
    Effect.timeout("5 seconds"),
    Effect.matchCauseEffect({
      onSuccess: () =>
        Effect.logWarning(
          `${engine}: transaction interrupted; cancelled its running statement on the server (session ${session}), rolling back`
        ),
      onFailure: (cause) =>
        Effect.logWarning(
          `${engine}: transaction interrupted; cancelling session ${session} on the server failed, rolling back after it ends`,
          cause
        )
    })
  )

export const postgres = (sql: PgClient.PgClient): StatementGuard => ({
  engine: "postgres",
  transaction: (effect, options) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const timeout = String(Math.max(1, Math.ceil(options.timeoutMs)))
        const [row] = yield* sql.unsafe<{ pid: number }>(
          `SELECT pg_backend_pid() AS pid, set_config('statement_timeout', $1, true)`,
          [timeout]
        )
        const pid = Number(row!.pid)
        const body =
          (options.faultSleepS ?? 0) > 0
            ? Effect.zipRight(sql.unsafe(`SELECT pg_sleep($1)`, [options.faultSleepS]), effect)
            : effect
        return yield* Effect.onInterrupt(body, () =>
          cancelOnInterrupt("postgres", pid, sql.unsafe(`SELECT pg_cancel_backend($1)`, [pid]))
        )
      })
    )
})

/** MariaDB or MySQL, from `SELECT VERSION()`: they bound statements differently. */
export const mysqlFlavor = (sql: MysqlClient.MysqlClient) =>
  Effect.map(sql.unsafe<{ v: string }>(`SELECT VERSION() AS v`), ([r]) =>
    /mariadb/i.test(String(r?.v)) ? ("mariadb" as const) : ("mysql" as const)
  )

/**
 * `sql` with every `unsafe` statement tagged by a leading comment (PROCESSLIST.INFO shows it).
 * Everything else is `sql`'s own (a template-tag call still works, untagged).
 */
export const tagStatements = (sql: MysqlClient.MysqlClient, tag: string): MysqlClient.MysqlClient => {
  const call = (...args: Array<unknown>) => (sql as unknown as (...a: Array<unknown>) => unknown)(...args)
  Object.setPrototypeOf(call, sql)
  return Object.assign(call, {
    unsafe: (statement: string, params?: ReadonlyArray<unknown>) => sql.unsafe(`/* ${tag} */ ${statement}`, params)
  }) as unknown as MysqlClient.MysqlClient
}

export const mysql = (sql: MysqlClient.MysqlClient, flavor: "mysql" | "mariadb"): StatementGuard => ({
  engine: flavor,
  transaction: (effect, options) =>
    sql.withTransaction(
      Effect.gen(function* () {
        const [row] = yield* sql.unsafe<{ id: number | string }>(`SELECT CONNECTION_ID() AS id`)
        const id = Number(row!.id)
        yield* flavor === "mariadb"
          ? sql.unsafe(`SET SESSION max_statement_time = ?`, [Math.max(0.001, options.timeoutMs / 1000)])
          : sql.unsafe(`SET SESSION max_execution_time = ?`, [Math.max(1, Math.ceil(options.timeoutMs))])
        const body =
          (options.faultSleepS ?? 0) > 0
            ? Effect.zipRight(sql.unsafe(`SELECT SLEEP(?)`, [options.faultSleepS]), effect)
            : effect
        return yield* Effect.onInterrupt(body, () => cancelOnInterrupt(flavor, id, sql.unsafe(`KILL QUERY ${id}`)))
      })
    )
})
