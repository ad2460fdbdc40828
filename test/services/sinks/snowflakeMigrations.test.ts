/**
 * Snowflake's versioned migrations (no account here, so a recording fake stands in for the
 * connection; the statements themselves are Snowflake SQL checked as text): a fresh schema gets
 * version 1's DDL once and records it with a MERGE; a second start runs only the bookkeeping; a
 * schema migrated by a newer build is refused before any DDL.
 */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { migrateWith } from "../../../src/services/sinks/migrate.js"
import { SNOWFLAKE_MIGRATIONS, snowflakeBookkeeping } from "../../../src/services/sinks/snowflakeMigrations.js"

/** Remembers the statements run; SCHEMA_MIGRATIONS is the `versions` array. */
const fakeSnowflake = (versions: Array<number>) => {
  const log: Array<{ sql: string; params: ReadonlyArray<unknown> }> = []
  const run = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.sync(() => {
      log.push({ sql, params })
      if (sql === snowflakeBookkeeping.selectVersions) return versions.map((v) => ({ V: v }))
      if (sql.startsWith('MERGE INTO "SCHEMA_MIGRATIONS"')) versions.push(Number(params[0]))
      return []
    })
  const start = () =>
    Effect.runPromise(
      Effect.either(
        migrateWith(
          { sink: "snowflake", bookkeeping: snowflakeBookkeeping, statements: (m) => m.statements, run },
          SNOWFLAKE_MIGRATIONS
        )
      )
    )
  return { log, start, versions }
}

describe("Snowflake migrations", () => {
  it("a fresh schema: bookkeeping table, version 1's DDL in order, then the record; a second start applies nothing", async () => {
    const sf = fakeSnowflake([])
    expect(await sf.start()).toEqual(Either.right([1]))
    expect(sf.log.map((s) => s.sql.split("(")[0]!.trim())).toEqual([
      'CREATE TABLE IF NOT EXISTS "SCHEMA_MIGRATIONS"',
      'SELECT "VERSION" AS "V" FROM "SCHEMA_MIGRATIONS"',
      'CREATE TABLE IF NOT EXISTS "SPY_BARS"',
      'CREATE TABLE IF NOT EXISTS "OPTION_BARS"',
      'CREATE TABLE IF NOT EXISTS "VIX_VALUES"',
      'CREATE TABLE IF NOT EXISTS "NEWS"',
      'CREATE TABLE IF NOT EXISTS "OPTION_CONTRACTS"',
      'CREATE TABLE IF NOT EXISTS "OPTIONS_CONSOLIDATED"',
      'CREATE TABLE IF NOT EXISTS "SINK_CHECKPOINTS"',
      'MERGE INTO "SCHEMA_MIGRATIONS" t USING'
    ])
    expect(sf.log.at(-1)!.params).toEqual([1, SNOWFLAKE_MIGRATIONS[0]!.name])
    expect(sf.versions).toEqual([1])
    sf.log.length = 0
    expect(await sf.start()).toEqual(Either.right([]))
    expect(sf.log.map((s) => s.sql)).toEqual([snowflakeBookkeeping.createTable, snowflakeBookkeeping.selectVersions])
  })

  it("a schema migrated by a newer build is refused before any DDL", async () => {
    const sf = fakeSnowflake([1, 2])
    const result = await sf.start()
    expect(Either.isLeft(result) && result.left.message).toMatch(
      /schema version 2, newer than this build knows \(up to 1\)/
    )
    expect(sf.log.map((s) => s.sql)).toEqual([snowflakeBookkeeping.createTable, snowflakeBookkeeping.selectVersions])
  })
})
