/** Helpers of bench:cluster (clusterRun.ts): PostgreSQL, free ports, /proc, the simulator's counter, the lake's bytes. */
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Redacted } from "effect"
import type { Settings } from "../config/Settings.js"
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"

/** The PostgreSQL the bench creates its databases on: cluster.database_url, else DATABASE_URL (the settings), else the local one. */
export const benchPgUrl = (s: Settings): string =>
  Option.getOrElse(
    Option.map(
      Option.orElse(s.cluster.databaseUrl, () => s.databaseUrl),
      Redacted.value
    ),
    () => "postgres://postgres@127.0.0.1:5432/postgres"
  )
export const withDb = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

/** Statements on a database, one connection; the rows of the last one. */
export const pgQuery = (url: string, statements: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* PgClient.PgClient
      let rows: ReadonlyArray<Record<string, unknown>> = []
      for (const s of statements) rows = yield* sql.unsafe<Record<string, unknown>>(s)
      return rows
    }).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), connectTimeout: "3 seconds", maxConnections: 1 })),
      Effect.scoped
    )
  )

/** Drops `db` on the server of `pgUrl` (a crashed run's or this one's); never fails. */
export const dropDatabase = (pgUrl: string, db: string) =>
  pgQuery(withDb(pgUrl, "postgres"), [`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`]).catch(() => undefined)

export const freePorts = async (n: number): Promise<Array<number>> => {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((r) =>
          net.createServer().listen(0, "127.0.0.1", function (this: net.Server) {
            r(this)
          })
        )
    )
  )
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

export const hwmMb = (pid: number | undefined) => {
  try {
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024)
  } catch {
    return 0
  }
}

export const pgCounters = async (dbUrl: string, db: string) => {
  // a fresh session reads a fresh snapshot of the cumulative statistics
  const r = (
    await pgQuery(dbUrl, [
      `SELECT xact_commit + xact_rollback AS x, tup_inserted AS i, tup_updated AS u, tup_deleted AS d, tup_returned + tup_fetched AS f FROM pg_stat_database WHERE datname = '${db}'`
    ])
  )[0]!
  return {
    xacts: Number(r["x"]),
    inserted: Number(r["i"]),
    updated: Number(r["u"]) + Number(r["d"]),
    read: Number(r["f"])
  }
}
export type PgCounters = Awaited<ReturnType<typeof pgCounters>>
export const minus = (a: PgCounters, b: PgCounters): PgCounters => ({
  xacts: a.xacts - b.xacts,
  inserted: a.inserted - b.inserted,
  updated: a.updated - b.updated,
  read: a.read - b.read
})

export const simStats = async (url: string) =>
  ((await (await fetch(`${url}/_sim/stats`)).json()) as { requests: number }).requests

/** Bytes and files under <root>/raw/<feed>/date=<date>/ for every feed. */
export const bytesOfDate = async (root: string, date: string, feeds?: ReadonlyArray<string>) => {
  let total = 0
  let files = 0
  for (const feed of feeds ?? (await fs.readdir(path.join(root, "raw")).catch(() => [] as Array<string>))) {
    const dir = path.join(root, "raw", feed, `date=${date}`)
    for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []))
      if (e.isFile()) ((total += (await fs.stat(path.join(e.parentPath, e.name))).size), (files += 1))
  }
  return { bytes: total, files }
}

/** `[ms, message]` of the submitter's log lines that carry an ISO timestamp. */
export const logTimes = (output: string, pattern: RegExp) =>
  output.split("\n").flatMap((l) => {
    const m = pattern.exec(l)
    const t = /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z)/.exec(l)
    return m && t ? [[Date.parse(t[1]!), m[1] ?? ""] as const] : []
  })
