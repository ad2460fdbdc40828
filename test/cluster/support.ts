/** Support for the cluster's real-process tests: a fresh PostgreSQL database, free ports, runners. */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import * as net from "node:net"

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

const withDb = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

/** Run statements (or one query) on a database; rows of the last one. */
export const pgQuery = (url: string, statements: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* PgClient.PgClient
      let rows: ReadonlyArray<Record<string, unknown>> = []
      for (const s of statements) rows = yield* sql.unsafe<Record<string, unknown>>(s)
      return rows
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), connectTimeout: "3 seconds" })), Effect.scoped)
  )

/**
 * A fresh database for the cluster's tables (dropped first if a crashed run left it). PostgreSQL
 * unreachable: the test FAILS under CI (process.env.CI), else undefined (the caller skips).
 */
export const freshClusterDatabase = async (name: string): Promise<string | undefined> => {
  const admin = withDb(PG_URL, "postgres")
  try {
    await pgQuery(admin, [`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `CREATE DATABASE "${name}"`])
    return withDb(PG_URL, name)
  } catch (e) {
    if (process.env["CI"]) throw new Error(`PostgreSQL at ${PG_URL} unreachable under CI: ${String(e)}`)
    console.warn(`skipping the cluster test: PostgreSQL at ${PG_URL} unreachable (${String(e)}); set DATABASE_URL`)
    return undefined
  }
}

export const dropDatabase = (name: string) =>
  pgQuery(withDb(PG_URL, "postgres"), [`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]).catch(() => undefined)

/** Free loopback ports (each bound once, then released). */
export const freePorts = async (n: number): Promise<Array<number>> => {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer()
          s.listen(0, "127.0.0.1", () => resolve(s))
        })
    )
  )
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}
