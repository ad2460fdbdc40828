/** Support for the cluster's real-process tests: a fresh PostgreSQL database, free ports, runners. */
import { dropDatabase as dropOn, freePorts, pgQuery, withDb } from "../../src/bench/clusterSupport.js"

export { freePorts, pgQuery }

const PG_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

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

export const dropDatabase = (name: string) => dropOn(PG_URL, name)
