/**
 * The per-date rebuild of the tables behind the `options_consolidated` view on the real PostgreSQL
 * and MariaDB (src/sql/consolidatedView.ts), two lake days loaded through the SinkRouter:
 * - a rebuild leaves the date with exactly the new rows (the reference after a correction of the
 *   lake; a stale per-second value and a planted per-second and contract row of the date are gone),
 *   the other date untouched;
 * - a consolidation stopped mid-way (its statement blocked behind a lock after the date's rows were
 *   deleted, the fiber interrupted) leaves the date's previous rows as they were; the next run
 *   replaces them;
 * - MariaDB: a staging table an older build's killed run left (tagged with a dead pid) is dropped
 *   when a sink starts; one of a live process is kept.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Fiber, Redacted } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { STAGE_PREFIX } from "../../../src/sql/consolidatedPartitioned.js"
import { sessionTag } from "../../../src/services/sinks/statementGuard.js"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { type Day, DATES, dayRows, makeDay, referenceView } from "./fixtures.js"
import {
  normalizeView,
  prepareMysql,
  preparePg,
  queryMysql,
  queryPg,
  tempRoot,
  withRouter,
  writeDays,
  writeLake
} from "./support.js"

const pg = await preparePg("t_swap")
const mysql = await prepareMysql("swap")
const root = await tempRoot()
const days: Array<Day> = DATES.map((d, i) => makeDay(d, i))
const [D0, D1] = DATES
const MARKER = "O:MARKER"
const cols = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")

interface Engine {
  readonly name: "postgres" | "mysql"
  readonly url: string
  readonly query: <A extends object>(sql: string, params?: ReadonlyArray<unknown>) => Promise<Array<A>>
  readonly q: (id: string) => string
  readonly p: (i: number) => string
  /** Staging tables present (older builds'). */
  readonly stages: string
  /** Holds a lock the consolidation's statements wait for, until `release` resolves. */
  readonly hold: (locked: () => void, release: Promise<void>) => Promise<unknown>
  /** The consolidation is blocked behind that lock (the date's rows already deleted in its transaction). */
  readonly blocked: string
}

const engines: Array<Engine> = []
if (pg)
  engines.push({
    name: "postgres",
    url: pg,
    query: (s, p) => queryPg(pg, s, p),
    q: (id) => `"${id}"`,
    p: (i) => `$${i}`,
    stages: `SELECT relname AS name FROM pg_class WHERE relname LIKE '${STAGE_PREFIX}%'`,
    hold: (locked, release) =>
      Effect.runPromise(
        Effect.flatMap(PgClient.PgClient, (sql) =>
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql.unsafe(`LOCK TABLE option_contracts IN ACCESS EXCLUSIVE MODE`)
              locked()
              yield* Effect.promise(() => release)
            })
          )
        ).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(pg) })), Effect.scoped)
      ),
    blocked: `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO "consolidated_contracts"%'`
  })
if (mysql)
  engines.push({
    name: "mysql",
    url: mysql,
    query: (s, p) => queryMysql(mysql, s, p),
    q: (id) => `\`${id}\``,
    p: () => "?",
    stages: `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'options\\_consolidated\\_stage\\_%'`,
    hold: (locked, release) =>
      Effect.runPromise(
        Effect.flatMap(MysqlClient.MysqlClient, (sql) =>
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql.unsafe(`LOCK TABLES option_contracts WRITE`)
              locked()
              yield* Effect.promise(() => release)
              yield* sql.unsafe(`UNLOCK TABLES`)
            })
          )
        ).pipe(Effect.provide(MysqlClient.layer({ url: Redacted.make(mysql) })), Effect.scoped)
      ),
    blocked: `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE '%metadata lock%' AND INFO LIKE '%INSERT INTO \`consolidated_contracts\`%'`
  })

const view = async (e: Engine, date: string) =>
  normalizeView(
    await e.query<Record<string, unknown>>(
      `SELECT ${cols.map((c) => e.q(c.name)).join(", ")} FROM options_consolidated WHERE ${e.q("date")} = ${e.p(1)}`,
      [date]
    )
  )
/** A stale value in every per-second row of the date (the view changes), plus a planted second and contract. */
const plant = async (e: Engine, date: string) => {
  await e.query(`UPDATE consolidated_seconds SET spy_close = -1 WHERE ${e.q("date")} = ${e.p(1)}`, [date])
  await e.query(
    `INSERT INTO consolidated_seconds (${["date", "part", "t"].map(e.q).join(", ")}) VALUES (${e.p(1)}, 'SPY', 1)`,
    [date]
  )
  await e.query(
    `INSERT INTO consolidated_contracts (${["date", "ticker", "part"].map(e.q).join(", ")}) VALUES (${e.p(1)}, '${MARKER}', 'SPY')`,
    [date]
  )
}
const planted = async (e: Engine, date: string) =>
  Number(
    (
      await e.query<{ n: number | string }>(
        `SELECT (SELECT COUNT(*) FROM consolidated_seconds WHERE ${e.q("date")} = ${e.p(1)} AND (t = 1 OR spy_close = -1)) + (SELECT COUNT(*) FROM consolidated_contracts WHERE ${e.q("date")} = ${e.p(2)} AND ticker = '${MARKER}') AS n`,
        [date, date]
      )
    )[0]!.n
  )
const names = async (e: Engine, sql: string) => (await e.query<{ name: string }>(sql)).map((r) => r.name)
const consolidate = (date: string, sink?: "postgres" | "mysql") =>
  withRouter({ root, pg, mysql }, (router) => router.consolidate(date, sink ? { sink } : {}))

beforeAll(async () => {
  await writeDays(root, days)
  await withRouter({ root, pg, mysql }, (router) =>
    Effect.gen(function* () {
      for (const date of DATES) {
        for (const feed of FEEDS) yield* router.loadPartition(feed, date)
        yield* router.consolidate(date)
      }
    })
  )
}, 300_000)
afterAll(() => fs.rm(root, { recursive: true, force: true }))

describe.each(engines)("options_consolidated rebuild on $name", (e) => {
  it("a rebuild leaves the date exactly the new rows, the other date untouched", async () => {
    const rows = await view(e, D0)
    expect(rows).toEqual(normalizeView(referenceView(days, D0)))
    await plant(e, D0)
    expect(await view(e, D0)).not.toEqual(rows)
    expect(await planted(e, D0)).toBeGreaterThan(2)
    // a correction in the lake: one option bar received later with another close
    const [bar] = [...dayRows(days[0]!, "options").values()]
    const fixed = { ...bar!, close: Number(bar!["close"]) + 1, received_at_ms: Number(bar!["received_at_ms"]) + 1 }
    const file = `zz-fix-${e.name}.parquet`
    await writeLake(root, "options", D0, file, [fixed])
    const after = days.map((d) =>
      d.date === D0 ? { ...d, files: { ...d.files, options: [...d.files.options, [file, [fixed]] as const] } } : d
    )
    const expected = normalizeView(referenceView(after, D0))
    expect(expected).not.toEqual(normalizeView(referenceView(days, D0))) // anti-vacuity
    await withRouter({ root, pg, mysql }, (router) => router.loadPartition("options", D0))
    await consolidate(D0, e.name)
    expect(await view(e, D0)).toEqual(expected)
    expect(await planted(e, D0)).toBe(0)
    expect(await view(e, D1)).toEqual(normalizeView(referenceView(days, D1)))
    days.splice(0, days.length, ...after) // the next test's reference
  }, 300_000)

  it("a consolidation stopped mid-way leaves the previous rows; the next run replaces them", async () => {
    const before = normalizeView(referenceView(days, D1))
    expect(await view(e, D1)).toEqual(before)
    await plant(e, D1)
    const stale = await view(e, D1)
    expect(stale).not.toEqual(before)
    const plantedRows = await planted(e, D1)
    let locked!: () => void
    let release!: () => void
    const isLocked = new Promise<void>((r) => (locked = r))
    const released = new Promise<void>((r) => (release = r))
    const holder = e.hold(locked, released)
    await isLocked
    await withRouter({ root, pg, mysql }, (router) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(router.consolidate(D1, { sink: e.name }))
        // wait until it is blocked behind the lock, the date's rows deleted in its transaction
        for (let i = 0; ; i++) {
          const [r] = yield* Effect.promise(() => e.query<{ n: number | string }>(e.blocked))
          if (Number(r!.n) > 0) break
          if (i > 300) throw new Error("the consolidation never reached the lock")
          yield* Effect.sleep("100 millis")
        }
        expect(yield* Effect.promise(() => view(e, D1))).toEqual(stale) // readers still see the old rows
        yield* Fiber.interrupt(fiber)
      })
    )
    release()
    await holder
    expect(await view(e, D1)).toEqual(stale)
    expect(await planted(e, D1)).toBe(plantedRows)
    await consolidate(D1, e.name)
    expect(await view(e, D1)).toEqual(before)
    expect(await planted(e, D1)).toBe(0)
  }, 300_000)
})

/** A staging table as builds of schema 3 created them: tagged with the session in its COMMENT. */
const createStage = (name: string, tag: string) =>
  `CREATE TABLE \`${name}\` (x INT) ENGINE=InnoDB COMMENT='${tag.replaceAll("'", "''")}'`

describe.skipIf(!mysql)("MariaDB staging tables of earlier runs", () => {
  it("a killed run's staging table is dropped at the next start; a live process's is kept", async () => {
    const e = engines.find((x) => x.name === "mysql")!
    const dead = spawnSync(process.execPath, ["-e", ""]).pid ?? 0
    expect(() => execFileSync("kill", ["-0", String(dead)], { stdio: "ignore" })).toThrow()
    const orphan = `${STAGE_PREFIX}20251029_${dead}_1`
    const live = `${STAGE_PREFIX}20251029_${process.ppid}_1`
    await e.query(createStage(orphan, sessionTag(dead)))
    await e.query(createStage(live, sessionTag(process.ppid)))
    expect((await names(e, e.stages)).sort()).toEqual([orphan, live].sort())
    await withRouter({ root, mysql }, (router) => router.consolidate(D1, { sink: "mysql" }))
    expect(await names(e, e.stages)).toEqual([live])
    await e.query(`DROP TABLE \`${live}\``)
  }, 300_000)
})
