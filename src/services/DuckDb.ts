/**
 * An embedded DuckDB instance (in memory by default) shared by the lake writer and readers.
 * One connection, used one statement at a time: DuckDB appenders and temp tables are
 * per-connection state, and a semaphore keeps concurrent fibers from interleaving them.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Context, Data, Effect, Layer } from "effect"

export class DuckDbError extends Data.TaggedError("DuckDbError")<{ readonly sql: string; readonly message: string }> {}

export interface DuckDbService {
  /** Run statements; results discarded. */
  readonly run: (sql: string) => Effect.Effect<void, DuckDbError>
  /** Run a query and return its rows as JS objects (BIGINT → bigint, DOUBLE → number). */
  readonly query: <A = Record<string, unknown>>(sql: string) => Effect.Effect<ReadonlyArray<A>, DuckDbError>
  /** Exclusive use of the raw connection (appenders, multi-statement work). */
  readonly withConnection: <A>(f: (c: DuckDBConnection) => Promise<A>, what: string) => Effect.Effect<A, DuckDbError>
}

export class DuckDb extends Context.Tag("spy/DuckDb")<DuckDb, DuckDbService>() {}

export const make = (path = ":memory:") =>
  Effect.gen(function* () {
    const instance = yield* Effect.acquireRelease(
      Effect.promise(() => DuckDBInstance.create(path, { threads: "2" })),
      (i) => Effect.sync(() => i.closeSync())
    )
    const connection = yield* Effect.acquireRelease(
      Effect.promise(() => instance.connect()),
      (c) => Effect.sync(() => c.closeSync())
    )
    yield* Effect.promise(() => connection.run("SET TimeZone = 'UTC'"))
    const lock = yield* Effect.makeSemaphore(1)
    const withConnection = <A>(f: (c: DuckDBConnection) => Promise<A>, what: string) =>
      lock.withPermits(1)(
        Effect.tryPromise({
          try: () => f(connection),
          catch: (e) => new DuckDbError({ sql: what.slice(0, 500), message: e instanceof Error ? e.message : String(e) })
        })
      )
    const service: DuckDbService = {
      withConnection,
      run: (sql) => withConnection((c) => c.run(sql).then(() => undefined), sql),
      query: <A>(sql: string) =>
        withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS() as unknown as ReadonlyArray<A>, sql)
    }
    return service
  })

export const layer = (path?: string): Layer.Layer<DuckDb> => Layer.scoped(DuckDb, make(path))

/** A SQL string literal (single quotes doubled): for file paths and values we generate. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`
