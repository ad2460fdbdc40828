/**
 * An embedded DuckDB instance (in memory by default) shared by the lake writer and readers.
 * A small pool of connections: each `withConnection` call has one connection to itself for its
 * whole duration (appenders and temp tables are per-connection state), and independent writes
 * (different units of a backfill) run in parallel on different connections.
 * With `{ interruptible: true }` (the sinks and their lake reader), interrupting `withConnection`
 * interrupts DuckDB (`connection.interrupt()`, repeated until `f` settles, so a multi-statement `f`
 * stops too) and waits for it: the connection goes back to the pool, or is closed, only when nothing
 * runs on it. Without it (the lake writers), an interruption stops waiting and `f` runs to its end;
 * its connection returns to the pool only then.
 * A connection or instance is never closed under a running query (src/lib/threadExit.ts says why):
 * the scope's end interrupts and waits for it, and leaves open a connection that will not settle.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api"
import { Context, Data, Effect, Layer, Queue } from "effect"
import { runNative } from "../lib/threadExit.js"

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

/** `f(connection)`; on interruption, `connection.interrupt()` every 20 ms until `f` has settled, then any open transaction rolled back. */
const interruptible = <A>(connection: DuckDBConnection, f: (c: DuckDBConnection) => Promise<A>, what: string) =>
  Effect.async<A, DuckDbError>((resume) => {
    const running = f(connection)
    running.then(
      (a) => resume(Effect.succeed(a)),
      (e) =>
        resume(
          Effect.fail(new DuckDbError({ sql: what.slice(0, 500), message: e instanceof Error ? e.message : String(e) }))
        )
    )
    return Effect.async<void>((settled) => {
      connection.interrupt()
      const again = setInterval(() => connection.interrupt(), 20)
      // the repeated interrupt may also have hit `f`'s own ROLLBACK: end any transaction left open (an error when none is)
      const done = () => {
        clearInterval(again)
        runNative(() => connection.run("ROLLBACK")).then(
          () => settled(Effect.void),
          () => settled(Effect.void)
        )
      }
      running.then(done, done)
    })
  })

export interface DuckDbOptions {
  /** Interrupt DuckDB when `withConnection` is interrupted (see above). */
  readonly interruptible?: boolean
  /** DuckDB's worker threads per statement (default 2). */
  readonly threads?: number
}

const abandoning = <A>(connection: DuckDBConnection, f: (c: DuckDBConnection) => Promise<A>, what: string) =>
  Effect.tryPromise({
    try: () => f(connection),
    catch: (e) => new DuckDbError({ sql: what.slice(0, 500), message: e instanceof Error ? e.message : String(e) })
  })

/** REAL ms the scope's end waits for a query it interrupted before leaving its connection open. */
const CLOSE_WAIT_MS = 10_000

const settled = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    () => undefined
  )

/** Interrupt what runs on `c` until it settles; true if it did within `CLOSE_WAIT_MS`. */
const quiesce = async (c: DuckDBConnection, running: Promise<unknown> | undefined): Promise<boolean> => {
  if (running === undefined) return true
  c.interrupt()
  const again = setInterval(() => c.interrupt(), 20)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS)))
  const ok = await Promise.race([settled(running).then(() => true as const), late])
  clearInterval(again)
  clearTimeout(timer)
  return ok
}

export const make = (path = ":memory:", poolSize = 2, options: DuckDbOptions = {}) =>
  Effect.gen(function* () {
    /** What runs on each connection now (its `f`, or the setup statements). */
    const running = new Map<DuckDBConnection, Promise<unknown>>()
    let leftOpen = 0
    const track = <A>(c: DuckDBConnection, start: () => Promise<A>): Promise<A> => {
      const work = runNative(start)
      running.set(c, work)
      void settled(work).then(() => {
        if (running.get(c) === work) running.delete(c)
      })
      return work
    }
    const instance = yield* Effect.acquireRelease(
      Effect.promise(() => runNative(() => DuckDBInstance.create(path, { threads: String(options.threads ?? 2) }))),
      (i) =>
        Effect.sync(() => {
          if (leftOpen === 0) i.closeSync()
        })
    )
    const pool = yield* Effect.acquireRelease(Queue.unbounded<DuckDBConnection>(), Queue.shutdown)
    for (let i = 0; i < poolSize; i++) {
      const connection = yield* Effect.acquireRelease(
        Effect.promise(() => runNative(() => instance.connect())),
        (c) =>
          Effect.promise(async () => {
            if (await quiesce(c, running.get(c))) c.closeSync()
            else leftOpen++
          })
      )
      yield* Effect.promise(() => track(connection, () => connection.run("SET TimeZone = 'UTC'")))
      // DuckDB keeps the bytes of every file it read in its external file cache; the lake writer and
      // the warehouse read each lake file once or twice, so the cache only grew with the range (a
      // 40-day default backfill: peak RSS 739 MB still rising, 626 MB flat from day 10 without it).
      yield* Effect.promise(() => track(connection, () => connection.run("SET enable_external_file_cache = false")))
      yield* Queue.offer(pool, connection)
    }
    const withConnection = <A>(f: (c: DuckDBConnection) => Promise<A>, what: string) => {
      const tracked = (c: DuckDBConnection) => track(c, () => f(c))
      return Effect.acquireUseRelease(
        Queue.take(pool),
        (connection) =>
          options.interruptible === true
            ? interruptible(connection, tracked, what)
            : abandoning(connection, tracked, what),
        (connection) => {
          const still = running.get(connection)
          if (still === undefined) return Queue.offer(pool, connection).pipe(Effect.asVoid)
          // an abandoned `f` still runs: the connection is reused only once it has ended
          return Effect.forkDaemon(
            Effect.promise(() => settled(still)).pipe(Effect.zipRight(Queue.offer(pool, connection)))
          ).pipe(Effect.asVoid)
        }
      )
    }
    const service: DuckDbService = {
      withConnection,
      run: (sql) => withConnection((c) => c.run(sql).then(() => undefined), sql),
      query: <A>(sql: string) =>
        withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS() as unknown as ReadonlyArray<A>, sql)
    }
    return service
  })

export const layer = (path?: string, poolSize?: number, options?: DuckDbOptions): Layer.Layer<DuckDb> =>
  Layer.scoped(DuckDb, make(path, poolSize, options))

/** A SQL string literal (single quotes doubled): for file paths and values we generate. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`
