/**
 * A full simulated day (./simDay.ts: 24 contracts, 100 215 option bars + corrections) loaded and
 * consolidated while the server terminates the sink's connections: twice in the middle of the
 * option bars' load (at 20 000 and 60 000 committed rows) and once while the consolidation runs.
 * The load retries and resumes from its checkpoint, the consolidation transaction is retried
 * whole; at the end `option_bars` equals the lake's latest versions and `options_consolidated`
 * the reference, row for row. The sink's failure count proves the kills hit work in progress.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { sessionTag } from "../../../src/services/sinks/statementGuard.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SCHEMAS } from "../../../src/domain/feeds.js"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { expectSameLines, lines, referenceRows, type SimDay, simulatedDay } from "./simDay.js"
import { prepareMysql, preparePg, queryMysql, queryPg, withRouter } from "./support.js"

const WINDOW_MS = 15 * 60_000
const pg = await preparePg("faults_day", true)
const mysql = await prepareMysql("faults_day")
let day: SimDay

beforeAll(async () => {
  day = await simulatedDay()
}, 300_000)
afterAll(() => (day ? fs.rm(day.root, { recursive: true, force: true }) : undefined))

interface Engine {
  readonly name: "postgres" | "mysql"
  /** Option bars committed so far (the checkpoint). */
  readonly progress: () => Promise<number>
  /** Is a consolidation statement running now? */
  readonly consolidating: () => Promise<boolean>
  /** Terminate every connection of the sink's database but ours. */
  readonly kill: () => Promise<unknown>
  readonly read: (table: string, columns: ReadonlyArray<string>) => Promise<Array<Record<string, unknown>>>
}

/** Loads every feed and consolidates in a fiber; kills at 20 k and 60 k rows, then once during the consolidation. */
const runWhileKilling = (engine: Engine, t: { pg?: string; mysql?: string }) =>
  withRouter({ root: day.root, ...t, batchRows: 5_000 }, (router) =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        Effect.gen(function* () {
          for (const feed of FEEDS) yield* router.loadPartition(feed, day.date)
          return yield* router.consolidate(day.date)
        })
      )
      const kills: Array<string> = []
      while (fiber.unsafePoll() === null) {
        const done = yield* Effect.promise(engine.progress)
        const due = (kills.length === 0 && done >= 20_000) || (kills.length === 1 && done >= 60_000)
        if (due || (kills.length === 2 && (yield* Effect.promise(engine.consolidating)))) {
          yield* Effect.promise(engine.kill)
          kills.push(kills.length < 2 ? `load at ${done}` : "consolidate")
        } else yield* Effect.sleep("20 millis")
      }
      const result = yield* fiber.await.pipe(Effect.flatten)
      return { kills, result, metrics: (yield* router.metrics)[engine.name]! }
    })
  )

const engines: Array<readonly [Engine, { pg?: string; mysql?: string }]> = []
if (pg)
  engines.push([
    {
      name: "postgres",
      progress: async () =>
        Number(
          (
            await queryPg<{ n: string }>(
              pg,
              `SELECT coalesce(max("rows"), 0) n FROM sink_checkpoints WHERE feed = 'options'`
            )
          )[0]!.n
        ),
      consolidating: async () =>
        (
          await queryPg(
            pg,
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '%INSERT INTO "consolidated\\_%' AND query NOT LIKE '%pg_stat_activity%'`
          )
        ).length > 0,
      kill: () =>
        queryPg(
          pg,
          // only the sink's sessions (tagged by this process): other test files share the database
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
          [sessionTag()]
        ),
      read: (table, columns) =>
        queryPg(pg, `SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM ${table} WHERE "date" = $1`, [day.date])
    },
    { pg }
  ])
if (mysql) {
  const db = new URL(mysql).pathname.slice(1)
  engines.push([
    {
      name: "mysql",
      progress: async () =>
        Number(
          (
            await queryMysql<{ n: number }>(
              mysql,
              `SELECT COALESCE(MAX(\`rows\`), 0) n FROM sink_checkpoints WHERE feed = 'options'`
            )
          )[0]!.n
        ),
      consolidating: async () =>
        (
          await queryMysql(
            mysql,
            `SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = ? AND (INFO LIKE '%CREATE TEMPORARY TABLE cons_%' OR INFO LIKE '%INSERT INTO \`consolidated\\_%') AND INFO NOT LIKE '%PROCESSLIST%'`,
            [db]
          )
        ).length > 0,
      kill: async () => {
        const ids = await queryMysql<{ id: number }>(
          mysql,
          `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`,
          [db]
        )
        for (const { id } of ids) await queryMysql(mysql, `KILL ${Number(id)}`).catch(() => undefined)
      },
      read: (table, columns) =>
        queryMysql(mysql, `SELECT ${columns.map((c) => `\`${c}\``).join(", ")} FROM ${table} WHERE \`date\` = ?`, [
          day.date
        ])
    },
    { mysql }
  ])
}

describe.skipIf(engines.length === 0)("a full day while the server terminates the sink's connections", () => {
  it.each(engines.map(([e, t]) => [e.name, e, t] as const))(
    "%s: load and consolidation retried, both exact",
    async (_, engine, t) => {
      const { kills, result, metrics } = await runWhileKilling(engine, t)
      expect(kills).toEqual([expect.stringMatching(/^load at /), expect.stringMatching(/^load at /), "consolidate"])
      expect(metrics.failures).toBeGreaterThanOrEqual(1) // at least the consolidation, killed while its statement ran
      expect(result.bySink[engine.name]).toBe(day.truth.options.size)
      const bars = SCHEMAS.options.columns
      expectSameLines(
        lines(
          bars,
          await engine.read(
            "option_bars",
            bars.map((c) => c.name)
          )
        ),
        lines(bars, [...day.truth.options.values()])
      )
      const view = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")
      expectSameLines(
        lines(
          view,
          await engine.read(
            "options_consolidated",
            view.map((c) => c.name)
          )
        ),
        lines(view, referenceRows(day, WINDOW_MS))
      )
    },
    600_000
  )
})
