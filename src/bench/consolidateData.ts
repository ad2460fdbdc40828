/**
 * Data and databases for `bench:consolidate` (./consolidate.ts).
 * - `generateDay`: one synthetic lake day written with DuckDB SQL straight into Parquet. The bench
 *   day has 100 contracts × 23 400 per-second option bars (2.34 M); a history day the same SPY,
 *   VIX, news and contracts but one option bar per contract per minute (39 000), so other dates
 *   are present in every table without costing minutes to load.
 * - `benchDatabase`: a private PostgreSQL schema (`bench_consolidate`) or MySQL database
 *   (`<db>_bench_consolidate`) next to the configured one, created fresh, dropped afterwards unless kept.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { addDays, isWeekend } from "../domain/calendar.js"
import { type Feed, SCHEMAS } from "../domain/feeds.js"
import { lakePaths } from "../domain/paths.js"
import * as DuckDb from "../services/DuckDb.js"

export const SECONDS = 23_400
export const CONTRACTS = 100

/** `n` weekdays before `date`, oldest first. */
export const historyDates = (date: string, n: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let d = addDays(date, -1); out.length < n; d = addDays(d, -1)) if (!isWeekend(d)) out.unshift(d)
  return out
}

/** `SELECT` producing every lake column of `feed` from the given expressions (others NULL). */
export const shape = (feed: Feed, values: Record<string, string>, from: string) =>
  `SELECT ${SCHEMAS[feed].columns
    .map((c) => `CAST(${values[c.name] ?? "NULL"} AS ${c.type}) AS "${c.name}"`)
    .concat(
      SCHEMAS[feed].timestamps.map(([ms, ts]) => `epoch_ms(CAST(${values[ms]} AS BIGINT))::TIMESTAMPTZ AS "${ts}"`)
    )
    .join(", ")} FROM ${from}`

/** A bar's column expressions over `s` (the second of the session, from 09:30 ET) for `ticker` at `price`. */
export const barValues = (date: string, ticker: string, price: string): Record<string, string> => ({
  ticker,
  window_start_ms: `${Date.parse(`${date}T13:30:00Z`)} + s * 1000`,
  open: price,
  high: `${price} + 0.05`,
  low: `${price} - 0.05`,
  close: `${price} + 0.01`,
  volume: "10 + s % 17",
  vwap: price,
  transactions: "1 + s % 5",
  source: "'rest'",
  received_at_ms: "1761000000000"
})

/** Contract `k`'s OCC ticker on `date` (calls and puts alternating, strikes from 530). */
export const optionTicker = (date: string): string =>
  `'O:SPY${date.slice(2).replaceAll("-", "")}' || CASE WHEN k % 2 = 0 THEN 'C' ELSE 'P' END || lpad(CAST((530 + k // 2) * 1000 AS VARCHAR), 8, '0')`

/** Writes the lake partitions of `date` under `root`; `full`: per-second option bars, else per-minute. */
export const generateDay = (root: string, date: string, full: boolean) =>
  Effect.gen(function* () {
    const open = Date.parse(`${date}T13:30:00Z`)
    const yymmdd = date.slice(2).replaceAll("-", "")
    const bar = (ticker: string, price: string) => barValues(date, ticker, price)
    const db = yield* DuckDb.make()
    const paths = lakePaths(root)
    const write = (feed: Feed, select: string) =>
      Effect.gen(function* () {
        // One file per partition holds each key once: a valid partition (a later upsert folds it into buckets).
        const file = path.join(paths.partitionDir(feed, date), "day.parquet")
        yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
        yield* db.run(`COPY (${select}) TO ${DuckDb.sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`)
      })
    const seconds = `range(0, ${SECONDS}) t(s)`
    const ticker = optionTicker(date)
    yield* write("spy", shape("spy", bar("'SPY'", "580 + s / 10000.0"), `${seconds} WHERE s % 7 <> 3`))
    yield* write("vix", shape("vix", bar("'I:VIX'", "17 + s / 100000.0"), seconds))
    yield* write(
      "options",
      shape(
        "options",
        bar(ticker, "1 + k / 10.0 + s / 100000.0"),
        `${seconds}, range(0, ${CONTRACTS}) c(k)${full ? "" : " WHERE s % 60 = 0"}`
      )
    )
    yield* write(
      "news",
      shape(
        "news",
        {
          id: `'n${yymmdd}-' || s`,
          published_utc_ms: `${open} - 3600000 + s * 60000 + s % 13`,
          title: "'headline ' || s",
          author: "'a'",
          article_url: "'u'",
          publisher_name: "'p'",
          tickers: `CASE WHEN s % 5 = 4 THEN '["AAPL"]' ELSE '["SPY"]' END`,
          spy_sentiment: "'neutral'",
          source: "'rest'",
          received_at_ms: "1761000000000"
        },
        "range(0, 400) t(s)"
      )
    )
    yield* write(
      "contracts",
      shape(
        "contracts",
        {
          as_of: `'${date}'`,
          ticker,
          underlying_ticker: "'SPY'",
          contract_type: "CASE WHEN k % 2 = 0 THEN 'call' ELSE 'put' END",
          expiration_date: `'${date}'`,
          strike_price: "530 + k // 2",
          open_price: "580",
          moneyness_rank: "k",
          source: "'rest'",
          received_at_ms: "1761000000000"
        },
        `range(0, ${CONTRACTS}) c(k)`
      )
    )
  }).pipe(Effect.scoped)

const withPath = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u
}

/** A fresh private schema/database for the bench; the returned URL points at it; `drop` removes it. */
export const benchDatabase = (sink: "postgres" | "mysql", url: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const base = new URL(Redacted.value(url))
    if (sink === "postgres") {
      const run = (s: string) =>
        Effect.flatMap(PgClient.PgClient, (c) => c.unsafe(s)).pipe(
          Effect.provide(PgClient.layer({ url })),
          Effect.scoped
        )
      yield* run(`DROP SCHEMA IF EXISTS bench_consolidate CASCADE`)
      yield* run(`CREATE SCHEMA bench_consolidate`)
      base.searchParams.set("options", "-c search_path=bench_consolidate")
      return {
        url: Redacted.make(base.toString()),
        drop: run(`DROP SCHEMA IF EXISTS bench_consolidate CASCADE`).pipe(Effect.asVoid)
      }
    }
    const db = `${base.pathname.slice(1) || "spy"}_bench_consolidate`
    const server = Redacted.make(withPath(Redacted.value(url), "").toString())
    const run = (s: string) =>
      Effect.flatMap(MysqlClient.MysqlClient, (c) => c.unsafe(s)).pipe(
        Effect.provide(MysqlClient.layer({ url: server })),
        Effect.scoped
      )
    yield* run(`DROP DATABASE IF EXISTS \`${db}\``)
    yield* run(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    return {
      url: Redacted.make(withPath(Redacted.value(url), db).toString()),
      drop: run(`DROP DATABASE IF EXISTS \`${db}\``).pipe(Effect.asVoid)
    }
  })
