/**
 * MariaDB, a FIRST build of a date with two underlyings (SPY, QQQ), stopped while its second
 * underlying's INSERT runs: the consolidation's steps create temporary tables (DDL), and each
 * underlying's part inserts its own per-second rows and contracts, so a build that committed part
 * by part would show readers half the date. Checked on the real server: while the second part's
 * INSERT is held (a trigger sleeps on its first row), no reader sees a row of the date; after the
 * stop, none either; the next consolidation gives exactly the expected view.
 */
import { Effect, Fiber } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, describe, expect, it } from "vitest"
import { consolidatedColumns, FEEDS } from "../../../src/sql/tables.js"
import { DATES } from "./fixtures.js"
import { allDays, expectedView, underlyingsOverrides } from "./manyUnderlyingsDays.js"
import { normalizeView, prepareMysql, queryMysql, tempRoot, withRouter, writeDays } from "./support.js"

const mysql = await prepareMysql("first")
const root = await tempRoot()
afterAll(() => fs.rm(root, { recursive: true, force: true }))
const ORDER = ["SPY", "QQQ"]
const D0 = DATES[0]!
const cols = consolidatedColumns.map((c) => `\`${c.name}\``).join(", ")

/**
 * A trigger holds the first QQQ per-second row the consolidation inserts for a minute (a server-side
 * SLEEP the stop's KILL QUERY ends): by then SPY's part, the statements before it, inserted all its rows.
 * While it sleeps, PROCESSLIST shows the trigger's statement in the state "User sleep".
 */
const HOLD_QQQ = `CREATE TRIGGER test_hold_qqq BEFORE INSERT ON consolidated_seconds FOR EACH ROW
IF NEW.part = 'QQQ' AND @held IS NULL THEN SET @held = SLEEP(60); END IF`
const HELD = `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep' AND INFO LIKE 'SET @held%'`

describe.skipIf(!mysql)("MariaDB: a stopped first build with two underlyings", () => {
  it("shows no row of the date while waiting or after the stop; the next run is exact", async () => {
    const url = mysql!
    const dateRows = async () =>
      Number(
        (
          await queryMysql<{ n: number }>(url, `SELECT COUNT(*) AS n FROM options_consolidated WHERE \`date\` = ?`, [
            D0
          ])
        )[0]!.n
      )
    await writeDays(root, allDays)
    const t = { root, mysql: url, overrides: underlyingsOverrides(ORDER) }
    await withRouter(t, (router) =>
      Effect.forEach(
        DATES,
        (date) => Effect.forEach(FEEDS, (feed) => router.loadPartition(feed, date), { discard: true }),
        { discard: true }
      )
    )
    expect(await dateRows()).toBe(0)

    await queryMysql(url, HOLD_QQQ)
    let seenWhileHeld = -1
    await withRouter(t, (router) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(router.consolidate(D0, { sink: "mysql" }))
        for (let i = 0; ; i++) {
          const [held] = yield* Effect.promise(() => queryMysql<{ n: number }>(url, HELD))
          if (Number(held!.n) > 0) break
          if (i > 300) throw new Error("the consolidation never reached QQQ's rows")
          yield* Effect.sleep("100 millis")
        }
        seenWhileHeld = yield* Effect.promise(dateRows)
        yield* Fiber.interrupt(fiber)
      })
    )
    await queryMysql(url, `DROP TRIGGER test_hold_qqq`)
    expect(seenWhileHeld).toBe(0)
    expect(await dateRows()).toBe(0)

    await withRouter(t, (router) => router.consolidate(D0, { sink: "mysql" }))
    const view = await queryMysql<Record<string, unknown>>(
      url,
      `SELECT ${cols} FROM options_consolidated WHERE \`date\` = ?`,
      [D0]
    )
    const expected = normalizeView(expectedView(D0, ORDER))
    expect(expected.some((r) => String(r["ticker"]).startsWith("O:QQQ"))).toBe(true)
    expect(normalizeView(view)).toEqual(expected)
  }, 180_000)
})
