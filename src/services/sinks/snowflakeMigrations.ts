/**
 * Snowflake's versioned migrations: the versions of src/sql/migrations.ts with Snowflake's own DDL
 * (snowflakeSql.ts, snowflakeConsolidated.ts) and its own `SCHEMA_MIGRATIONS` bookkeeping, run by
 * the same `migrateWith` as the other sinks. The stage is not schema: it is named in the config and
 * created (idempotently) at every start.
 */
import { type MigrationBookkeeping, MIGRATIONS, type Versioned } from "../../sql/migrations.js"
import { FEEDS } from "../../sql/tables.js"
import { createConsolidatedTable } from "./snowflakeConsolidated.js"
import * as sf from "./snowflakeSql.js"

export interface SnowflakeMigration extends Versioned {
  readonly statements: ReadonlyArray<string>
}

const nameOf = (version: number): string => MIGRATIONS.find((m) => m.version === version)!.name

export const SNOWFLAKE_MIGRATIONS: ReadonlyArray<SnowflakeMigration> = [
  {
    version: 1,
    name: nameOf(1),
    statements: [...FEEDS.map(sf.createTable), createConsolidatedTable(), sf.createCheckpoints()]
  }
]

const table = sf.id("schema_migrations")

export const snowflakeBookkeeping: MigrationBookkeeping = {
  createTable: `CREATE TABLE IF NOT EXISTS ${table} ("VERSION" NUMBER(38,0), "NAME" VARCHAR, "APPLIED_AT" TIMESTAMP_TZ, PRIMARY KEY ("VERSION"))`,
  selectVersions: `SELECT "VERSION" AS "V" FROM ${table}`,
  // MERGE: a row written meanwhile by a concurrent starter is kept
  record: (m) => ({
    sql:
      `MERGE INTO ${table} t USING (SELECT ? AS "V", ? AS "N") s ON t."VERSION" = s."V" ` +
      `WHEN NOT MATCHED THEN INSERT ("VERSION", "NAME", "APPLIED_AT") VALUES (s."V", s."N", CURRENT_TIMESTAMP())`,
    params: [m.version, m.name]
  })
}
