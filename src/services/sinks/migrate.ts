/**
 * Runs the versioned migrations of src/sql/migrations.ts on one sink's database at start: creates
 * `schema_migrations` if needed, applies every pending migration in order and records it, and
 * refuses a database migrated by a newer build. One log line per applied migration.
 */
import { Effect } from "effect"
import {
  bookkeepingFor,
  type Derived,
  type Migration,
  type MigrationBookkeeping,
  MIGRATIONS,
  plan,
  type Versioned
} from "../../sql/migrations.js"
import type { Dialect } from "../../sql/tables.js"
import { SinkError, sinkError } from "./Sink.js"

export interface MigrationDriver<E> {
  readonly sink: string
  readonly dialect: Dialect
  readonly run: (
    sql: string,
    params: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Record<string, unknown>>, E>
  /** An error a statement may end with when its object already exists (MySQL: duplicate index name). */
  readonly alreadyExists?: (e: E) => boolean
}

/** An engine outside the shared dialects (Snowflake): its own bookkeeping SQL and statements. */
export interface BookkeptDriver<E, M extends Versioned> extends Omit<MigrationDriver<E>, "dialect"> {
  readonly bookkeeping: MigrationBookkeeping
  readonly statements: (m: M) => ReadonlyArray<string>
  /** Statements that depend on the database's contents (Migration.derived), run after `statements`. */
  readonly derived?: (m: M) => Derived | undefined
}

/** The versions applied by this call (empty when the database was up to date). */
export const migrate = <E>(
  driver: MigrationDriver<E>,
  migrations: ReadonlyArray<Migration> = MIGRATIONS
): Effect.Effect<ReadonlyArray<number>, SinkError> =>
  migrateWith(
    {
      ...driver,
      bookkeeping: bookkeepingFor(driver.dialect),
      statements: (m) => m.statements(driver.dialect),
      derived: (m) => m.derived?.(driver.dialect)
    },
    migrations
  )

export const migrateWith = <E, M extends Versioned>(
  driver: BookkeptDriver<E, M>,
  migrations: ReadonlyArray<M>
): Effect.Effect<ReadonlyArray<number>, SinkError> =>
  Effect.gen(function* () {
    const { bookkeeping, run } = driver
    yield* run(bookkeeping.createTable, [])
    // Snowflake folds unquoted aliases to upper case
    const applied = (yield* run(bookkeeping.selectVersions, [])).map((r) => Number(r["v"] ?? r["V"]))
    const next = plan(applied, migrations)
    if (next._tag === "TooNew") {
      const latest = Math.max(...migrations.map((m) => m.version))
      return yield* new SinkError({
        sink: driver.sink,
        operation: "migrate",
        message: `the database lists schema version ${next.unknown.join(", ")}, newer than this build knows (up to ${latest}): it was migrated by a newer version of the platform; upgrade before writing to it`
      })
    }
    const tolerate = driver.alreadyExists
    const runTolerant = (statement: string) =>
      tolerate ? run(statement, []).pipe(Effect.catchIf(tolerate, () => Effect.succeed([]))) : run(statement, [])
    for (const m of next.pending) {
      for (const statement of driver.statements(m)) yield* runTolerant(statement)
      const derived = driver.derived?.(m)
      if (derived)
        for (const statement of derived.statements(yield* run(derived.query, []))) yield* runTolerant(statement)
      const record = bookkeeping.record(m)
      yield* run(record.sql, record.params)
      yield* Effect.logInfo(`Applied schema migration ${m.version} (${m.name}) to ${driver.sink}`)
    }
    return next.pending.map((m) => m.version)
  }).pipe(Effect.mapError(sinkError(driver.sink, "migrate")))
