/**
 * At sink start: end the sessions a killed earlier run of this platform left running on the
 * sink's database. A server keeps executing a statement after its client died (`kill -9`, a lost
 * host), so a `--resume` would otherwise run beside it, or wait on its locks.
 *
 * A session is ended only when ALL of these hold:
 * - it carries this platform's tag (`spy-options:<host>:<pid>`: PostgreSQL `application_name`,
 *   MySQL the statement's leading comment) — sessions of other applications are never touched;
 * - it is in this sink's database (PostgreSQL `datname`, MySQL `DB`);
 * - the tag names THIS host and a pid that is no longer alive — a live sibling (a running `live`
 *   loading the same database) is never touched.
 * Each ended session is logged; then we wait (up to 15 s) until the server has dropped them.
 * Best effort: a role that may not see or signal other sessions logs a warning and the sink starts.
 */
import type { MysqlClient } from "@effect/sql-mysql2"
import type { PgClient } from "@effect/sql-pg"
import { Effect, Schedule } from "effect"
import * as os from "node:os"
import { isAlive } from "../../lib/processAlive.js"
import { mysqlDropStage, mysqlListStages } from "../../sql/consolidatedPartitioned.js"
import { parseTag, sessionTag } from "./statementGuard.js"

export interface Session {
  readonly id: number
  readonly tag: string
  readonly query: string
}

/** The sessions to end: tagged, on this host, naming a dead pid (`alive` injectable for tests). */
export const orphansOf = (
  sessions: ReadonlyArray<Session>,
  alive: (pid: number) => boolean = isAlive,
  host: string = os.hostname()
): ReadonlyArray<Session> => {
  const ownHost = parseTag(sessionTag(1, host))!.host
  return sessions.filter((s) => {
    const t = parseTag(s.tag)
    return t !== undefined && t.host === ownHost && t.pid !== process.pid && !alive(t.pid)
  })
}

const describe = (s: Session) =>
  `session ${s.id} of ${s.tag} (dead process): ${s.query.replace(/\s+/g, " ").slice(0, 120)}`

/** Poll `remaining` until it is empty (every 200 ms, at most 15 s). */
const untilGone = (remaining: Effect.Effect<number, unknown>) =>
  remaining.pipe(
    Effect.filterOrFail(
      (n) => n === 0,
      (n) => n
    ),
    Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("15 seconds"))),
    Effect.catchAll((n) =>
      Effect.logWarning(
        `${typeof n === "number" ? n : "some"} orphaned session(s) still on the server 15 s after being ended (rolling back?)`
      )
    )
  )

/** A failure to look or to end (privileges) is logged, never fatal: the sink still starts. */
const bestEffort = (engine: string) => (effect: Effect.Effect<number, unknown>) =>
  Effect.catchAll(effect, (e) =>
    Effect.as(Effect.logWarning(`${engine}: could not end orphaned sessions of earlier runs (privileges?)`, e), 0)
  )

export const endPostgres = (sql: PgClient.PgClient): Effect.Effect<number> =>
  Effect.gen(function* () {
    const rows = yield* sql.unsafe<{ pid: number; tag: string; query: string | null }>(
      `SELECT pid, application_name AS tag, query FROM pg_stat_activity ` +
        `WHERE datname = current_database() AND application_name LIKE 'spy-options:%' AND pid <> pg_backend_pid()`
    )
    const orphans = orphansOf(rows.map((r) => ({ id: Number(r.pid), tag: r.tag, query: r.query ?? "" })))
    for (const o of orphans) {
      yield* sql.unsafe(`SELECT pg_terminate_backend($1)`, [o.id])
      yield* Effect.logWarning(`postgres: ended ${describe(o)}`)
    }
    if (orphans.length > 0)
      yield* untilGone(
        Effect.map(
          sql.unsafe<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])`, [
            orphans.map((o) => o.id)
          ]),
          ([r]) => Number(r!.n)
        )
      )
    return orphans.length
  }).pipe(bestEffort("postgres"))

export const endMysql = (sql: MysqlClient.MysqlClient): Effect.Effect<number> =>
  Effect.gen(function* () {
    const rows = yield* sql.unsafe<{ id: number | string; info: string | null }>(
      `SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO LIKE '/* spy-options:%'`
    )
    const sessions = rows.flatMap((r) => {
      const m = /^\/\* (spy-options:\S+) \*\//.exec(r.info ?? "")
      return m ? [{ id: Number(r.id), tag: m[1]!, query: r.info ?? "" }] : []
    })
    const orphans = orphansOf(sessions)
    for (const o of orphans) {
      // the connection's client is gone: end the connection (its transaction rolls back)
      yield* sql
        .unsafe(`KILL ${o.id}`)
        .pipe(Effect.catchAll((e) => Effect.logWarning(`mysql: KILL ${o.id} failed (already gone?)`, e)))
      yield* Effect.logWarning(`mysql: ended ${describe(o)}`)
    }
    if (orphans.length > 0)
      yield* untilGone(
        Effect.map(
          sql.unsafe<{ n: number | string }>(
            `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (${orphans.map((o) => o.id).join(",")})`
          ),
          ([r]) => Number(r!.n)
        )
      )
    return orphans.length
  }).pipe(bestEffort("mysql"))

/**
 * MySQL: drop the `options_consolidated` staging tables a killed run on this host left (their
 * COMMENT is the session tag; same rule as the sessions above). PostgreSQL needs none: its staging
 * table lives inside the consolidation's transaction.
 */
export const dropMysqlStages = (sql: MysqlClient.MysqlClient): Effect.Effect<number> =>
  Effect.gen(function* () {
    const rows = yield* sql.unsafe<{ name: string; tag: string | null }>(mysqlListStages)
    const orphans = orphansOf(rows.map((r) => ({ id: 0, tag: r.tag ?? "", query: r.name })))
    if (orphans.length > 0) {
      yield* sql.unsafe(mysqlDropStage(orphans.map((o) => o.query)))
      yield* Effect.logWarning(
        `mysql: dropped ${orphans.length} staging table(s) of dead processes: ${orphans.map((o) => o.query).join(", ")}`
      )
    }
    return orphans.length
  }).pipe(bestEffort("mysql"))
