/**
 * Bench: build options_consolidated for one synthetic day (2.34 M option bars; ./consolidateData.ts).
 *
 *   npm run bench:consolidate -- [--sink duckdb|postgres|mysql] [--history-days N] [--runs 3] [--keep]
 *
 * The lake is generated with DuckDB SQL straight into Parquet under a temp root: the bench day and
 * N history days before it (per-second SPY/VIX, 400 articles and 100 contracts a day, 39 000 option
 * bars a day). All days are loaded with the chosen sink (through the SinkRouter, as `backfill` does),
 * then the bench day is consolidated `--runs` times (run 1 is the first build, the others rebuilds
 * of the same date; PostgreSQL/MySQL: the sink's statements, see `direct`); prints each run, the
 * median and the load average (`uptime`'s three figures), since the machine may be shared.
 * PostgreSQL/MySQL then time what a reader of the whole day pays: `options_consolidated` is a view
 * joining the bars to per-second and per-contract rows (src/sql/consolidatedView.ts), so a full-day
 * read (an aggregate over columns of all three tables, on the server) is measured too. PostgreSQL and MySQL use DATABASE_URL / MYSQL_URL (or
 * sinks.<name>.url): the bench works in a private schema `bench_consolidate` (PostgreSQL) or database
 * `<db>_bench_consolidate` (MySQL), created fresh and dropped at the end unless `--keep`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { MysqlClient } from "@effect/sql-mysql2"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { SinkName } from "../config/Settings.js"
import { loadSettings } from "../config/load.js"
import { FEEDS } from "../sql/tables.js"
import * as Sinks from "../layers/Sinks.js"
import * as AppSettings from "../services/AppSettings.js"
import * as MysqlSink from "../services/sinks/MysqlSink.js"
import * as PgSink from "../services/sinks/PgSink.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import { formatSteps, recordSteps, type StepTimer } from "../services/sinks/stepTimes.js"
import { benchDatabase, generateDay, historyDates } from "./consolidateData.js"

const DATE = "2025-10-28"
const flag = (name: string) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const sink = (flag("--sink") ?? "duckdb") as SinkName
const historyDays = Math.max(0, Number(flag("--history-days") ?? 0))
const runs = Math.max(1, Number(flag("--runs") ?? 3))
const keep = process.argv.includes("--keep")
const loadAverage = () =>
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(", ")}`
const secondsSince = (t: number) => (performance.now() - t) / 1000

/**
 * PostgreSQL/MySQL: the sink's own consolidate statements in one transaction, as the sink runs them
 * (PostgreSQL: after the sink's VACUUM of the loaded bars, timed with it), but outside SqlSink's fixed 20 s transaction timeout (a 2.34 M-row day can take longer on a slow
 * server, and the timeout would retry it instead of measuring it).
 */
const direct = (sink: "postgres" | "mysql", url: Redacted.Redacted<string>, windowMs: number, time: StepTimer) =>
  sink === "postgres"
    ? Effect.flatMap(PgClient.PgClient, (sql) =>
        Effect.zipRight(
          time("vacuum", sql.unsafe(PgSink.PG_PREPARE_CONSOLIDATE)),
          time("commit", sql.withTransaction(PgSink.consolidate(sql, time)(DATE, windowMs)))
        )
      ).pipe(Effect.provide(PgClient.layer({ url })))
    : Effect.flatMap(MysqlClient.MysqlClient, (sql) =>
        time("commit", sql.withTransaction(MysqlSink.consolidate(sql, time)(DATE, windowMs)))
      ).pipe(Effect.provide(MysqlClient.layer({ url })))

/** PostgreSQL/MySQL: one server-side pass over the date's view rows, touching columns of each joined table. */
const readDay = (sink: "postgres" | "mysql", url: Redacted.Redacted<string>) => {
  const query = `SELECT COUNT(*) AS n, SUM(close) AS a, SUM(spy_close) AS b, SUM(strike) AS c, SUM(LENGTH(latest_headline)) AS d FROM options_consolidated WHERE date = ${sink === "postgres" ? "$1" : "?"}`
  return sink === "postgres"
    ? Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe(query, [DATE])).pipe(
        Effect.provide(PgClient.layer({ url }))
      )
    : Effect.flatMap(MysqlClient.MysqlClient, (sql) => sql.unsafe(query, [DATE])).pipe(
        Effect.provide(MysqlClient.layer({ url }))
      )
}

const program = Effect.gen(function* () {
  if (!["duckdb", "postgres", "mysql"].includes(sink))
    return yield* Effect.fail(new Error(`--sink must be duckdb, postgres or mysql (got ${sink})`))
  const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "bench-consolidate-")))
  const settings = yield* loadSettings({})
  let db: { readonly url: Redacted.Redacted<string>; readonly drop: Effect.Effect<void, unknown> } | undefined
  if (sink === "postgres" || sink === "mysql") {
    const url =
      sink === "postgres"
        ? Option.orElse(settings.sinks.postgres.url, () => settings.databaseUrl)
        : Option.orElse(settings.sinks.mysql.url, () => settings.mysqlUrl)
    if (Option.isNone(url))
      return yield* Effect.fail(
        new Error(`--sink ${sink}: set ${sink === "postgres" ? "DATABASE_URL" : "MYSQL_URL"} (or sinks.${sink}.url)`)
      )
    db = yield* benchDatabase(sink, url.value)
  }
  const dates = [...historyDates(DATE, historyDays), DATE]
  const t0 = performance.now()
  for (const date of dates) yield* generateDay(root, date, date === DATE)
  const generated = secondsSince(t0)
  const overrides = {
    storage: { root },
    sinks: { enabled: [sink], ...(db ? { [sink]: { url: Redacted.value(db.url) } } : {}) }
  }
  const settingsLayer = AppSettings.layer({ overrides }).pipe(Layer.provide(NodeContext.layer))
  yield* Effect.gen(function* () {
    const router = yield* SinkRouter
    const t1 = performance.now()
    for (const date of dates.filter((d) => d !== DATE))
      for (const feed of FEEDS) yield* router.loadPartition(feed, date)
    const history = secondsSince(t1)
    const t2 = performance.now()
    for (const feed of FEEDS) yield* router.loadPartition(feed, DATE)
    const loaded = secondsSince(t2)
    console.log(
      `${sink}: generate lake (${dates.length} days): ${generated.toFixed(2)} s; load ${historyDays} history days: ${history.toFixed(2)} s; load ${DATE}: ${loaded.toFixed(2)} s (${loadAverage()})`
    )
    const times: Array<number> = []
    let rows = 0
    const windowMs = settings.consolidated.newsWindowMinutes * 60_000
    for (let i = 0; i < runs; i++) {
      const start = performance.now()
      const steps: Array<readonly [string, number]> = []
      rows = db
        ? yield* direct(sink as "postgres" | "mysql", db.url, windowMs, recordSteps(steps))
        : (yield* router.consolidate(DATE, { sink })).rows
      times.push(secondsSince(start))
      console.log(`run ${i + 1}: ${times[i]!.toFixed(3)} s (${rows} rows; ${loadAverage()})`)
      // "commit" spans the transaction: its own share is what the steps inside it leave over
      const inside = steps.filter(([l]) => l !== "vacuum" && l !== "commit").reduce((a, [, ms]) => a + ms, 0)
      const own = steps.map(([l, ms]) => [l, l === "commit" ? ms - inside : ms] as const)
      if (db)
        console.log(
          `  steps: ${formatSteps(own)}, other ${(times[i]! - own.reduce((a, [, ms]) => a + ms, 0) / 1000).toFixed(2)} s`
        )
    }
    if (db)
      for (let i = 0; i < 2; i++) {
        const start = performance.now()
        const [r] = yield* readDay(sink as "postgres" | "mysql", db.url)
        console.log(
          `read the whole day from the view, run ${i + 1}: ${secondsSince(start).toFixed(3)} s (${String((r as { n?: unknown } | undefined)?.n)} rows; ${loadAverage()})`
        )
      }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!
    const target = sink === "duckdb" ? 2 : 10
    console.log(
      `${sink} consolidate ${DATE} with ${historyDays} history days: ${rows} rows, median of ${runs} = ${median.toFixed(3)} s ` +
        `(target < ${target} s) ${median < target ? "OK" : "SLOW"}; ${loadAverage()}`
    )
  }).pipe(Effect.provide(Sinks.layer.pipe(Layer.provide(settingsLayer))))
  if (keep)
    console.log(
      `kept ${root}${db ? ` and the ${sink} bench ${sink === "postgres" ? "schema bench_consolidate" : "database"}` : ""}`
    )
  else {
    yield* Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
    if (db) yield* db.drop
  }
}).pipe(Effect.scoped, Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
