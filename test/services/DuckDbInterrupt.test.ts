/**
 * DuckDb.withConnection is interruptible: an interruption interrupts DuckDB's running statement
 * (`connection.interrupt()`), waits until it stopped, rolls back a transaction left open, and the
 * (only) connection of the pool is usable again right away.
 */
import { Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { nativeBusy } from "../../src/lib/threadExit.js"
import * as DuckDb from "../../src/services/DuckDb.js"

const SLOW = "SELECT count(*) AS n FROM range(20000000000) t(a) WHERE a % 7 = 3"

describe("DuckDb interruption", () => {
  it("interrupting a long statement stops it within a second and leaves the connection clean", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const db = yield* DuckDb.make(":memory:", 1, { interruptible: true })
        yield* db.run("CREATE TABLE t (x INTEGER)")
        const fiber = yield* Effect.fork(
          db.withConnection(async (c) => {
            await c.run("BEGIN TRANSACTION")
            await c.run("INSERT INTO t VALUES (1)")
            await c.run(SLOW)
            await c.run("COMMIT")
          }, "slow")
        )
        yield* Effect.sleep("500 millis")
        const started = Date.now()
        const exit = yield* Fiber.interrupt(fiber)
        const ms = Date.now() - started
        // the same single connection: no transaction left open, the insert rolled back
        const rows = yield* db.query<{ n: number }>("SELECT count(*)::DOUBLE AS n FROM t")
        yield* db.run("BEGIN TRANSACTION; COMMIT")
        return { interrupted: Exit.isInterrupted(exit), ms, rows: rows[0]!.n }
      }).pipe(Effect.scoped)
    )
    expect(result.interrupted).toBe(true)
    expect(result.ms).toBeLessThan(1_000)
    expect(result.rows).toBe(0)
  }, 30_000)
})

describe("DuckDb scope end", () => {
  it("never closes a connection under a running query: it interrupts it and waits for it to settle", async () => {
    const order: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const db = yield* DuckDb.make(":memory:", 1) // not interruptible: an interruption abandons `f`
        const fiber = yield* Effect.fork(
          db.withConnection(
            (c) =>
              c.run(SLOW).then(
                () => order.push("query ended"),
                () => order.push("query interrupted")
              ),
            "slow"
          )
        )
        yield* Effect.sleep("300 millis")
        yield* Fiber.interrupt(fiber) // returns at once; the query goes on
        expect(nativeBusy()).toBe(1)
      }).pipe(Effect.scoped)
    )
    order.push("scope closed")
    expect(order).toEqual(["query interrupted", "scope closed"])
    expect(nativeBusy()).toBe(0)
  }, 30_000)
})
