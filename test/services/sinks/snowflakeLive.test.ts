/**
 * The Snowflake sink against a real account. Runs ONLY when SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER,
 * SNOWFLAKE_PASSWORD and SNOWFLAKE_DATABASE are set (never in CI here: no account, no internet):
 * two days loaded twice (idempotent), counts equal the deduplicated lake, options_consolidated
 * equals the TypeScript reference row for row.
 */
import { Effect, Redacted } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, describe, expect, it } from "vitest"
import { consolidatedColumns, FEEDS, TABLES } from "../../../src/sql/tables.js"
import * as SnowflakeSink from "../../../src/services/sinks/SnowflakeSink.js"
import { DATES, dayRows, makeDay, referenceView, WINDOW_MS } from "./fixtures.js"
import { norm, tempRoot, writeDays } from "./support.js"

const env = (k: string) => process.env[`SNOWFLAKE_${k}`]
const configured = ["ACCOUNT", "USER", "PASSWORD", "DATABASE"].every((k) => env(k))

describe.skipIf(!configured)("snowflake sink (live account)", () => {
  let root = ""
  afterAll(() => (root ? fs.rm(root, { recursive: true, force: true }) : undefined))

  it("loads two days idempotently and builds options_consolidated equal to the reference", async () => {
    root = await tempRoot()
    const days = DATES.map((d, i) => makeDay(d, i))
    await writeDays(root, days)
    const options = {
      root,
      account: env("ACCOUNT")!,
      username: env("USER")!,
      password: Redacted.make(env("PASSWORD")!),
      database: env("DATABASE")!,
      schema: env("SCHEMA") ?? "PUBLIC",
      warehouse: env("WAREHOUSE"),
      stage: "SPY_TEST_STAGE",
      newsWindowMinutes: WINDOW_MS / 60_000,
      commitSlaS: 300
    }
    const cols = consolidatedColumns.filter((c) => c.type !== "TIMESTAMP")
    const normalize = (rows: ReadonlyArray<Record<string, unknown>>) =>
      rows
        .map((r) => Object.fromEntries(cols.map((c) => [c.name, norm(c.type, r[c.name.toUpperCase()] ?? r[c.name])])))
        .sort((a, b) =>
          `${a["ticker"]}|${String(a["window_start_ms"]).padStart(15, "0")}` <
          `${b["ticker"]}|${String(b["window_start_ms"]).padStart(15, "0")}`
            ? -1
            : 1
        )
    await Effect.runPromise(
      Effect.gen(function* () {
        const sink = yield* SnowflakeSink.make(options)
        for (let pass = 0; pass < 2; pass++)
          for (const day of days)
            for (const feed of FEEDS) yield* sink.loadPartition(feed, day.date, { overwrite: pass === 1 })
        for (const date of DATES) yield* sink.consolidate!(date)
      }).pipe(Effect.scoped)
    )
    const sdk = (await import("snowflake-sdk")).default
    const c = await sdk
      .createConnection({
        account: options.account,
        username: options.username,
        password: env("PASSWORD")!,
        database: options.database,
        schema: options.schema
      })
      .connectAsync()
    const query = (sqlText: string, binds: Array<string>) =>
      new Promise<Array<Record<string, unknown>>>((ok, ko) =>
        c.execute({ sqlText, binds, complete: (e, _s, rows) => (e ? ko(e) : ok(rows ?? [])) })
      )
    for (const day of days) {
      for (const feed of FEEDS) {
        const [r] = await query(`SELECT COUNT(*) AS N FROM "${TABLES[feed].toUpperCase()}" WHERE "DATE" = ?`, [
          day.date
        ])
        expect([feed, Number(r!["N"])]).toEqual([feed, dayRows(day, feed).size])
      }
      const view = await query(
        `SELECT ${cols.map((c) => `"${c.name.toUpperCase()}"`).join(", ")} FROM "OPTIONS_CONSOLIDATED" WHERE "DATE" = ?`,
        [day.date]
      )
      expect(normalize(view)).toEqual(normalize(referenceView(days, day.date)))
    }
  }, 600_000)
})
