/**
 * Bench: the live day's sink rounds on one 10-minute options window. A live day rewrites the
 * window's file (`bars-0930.parquet`, src/domain/lakeBuckets.ts) at every commit, and each sink
 * round loads the files rewritten since the last one (src/live/sinks/LiveSinkLoader.ts).
 *
 *   npm run build && node dist/bench/sinkRounds.js [--sink postgres|mysql|duckdb] [--contracts 100] [--rounds 20]
 *
 * The window's file grows by `contracts` × (600 / `rounds`) bars per round (every contract trades
 * every second: the densest window a day can have), replaced atomically as the live writer does.
 * Each round is loaded as `live` loads it (Sink.loadFiles with the version this sink loaded last
 * round: `since`), and, in a second pass on a fresh database, with the whole file (what `live` did
 * before `since`). Prints each round's new rows, the file's rows, both times and the load average.
 * After each pass the sink's table is compared with the window's file: rows, distinct keys, and
 * the sums of `close` and `volume` must be equal (exit code 1 otherwise).
 * PostgreSQL/MySQL: DATABASE_URL / MYSQL_URL; a private schema or database, dropped at the end.
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
import { lakePaths } from "../domain/paths.js"
import * as Sinks from "../layers/Sinks.js"
import { openLoadedVersions } from "../live/sinks/loadedVersions.js"
import * as AppSettings from "../services/AppSettings.js"
import * as DuckDb from "../services/DuckDb.js"
import { SinkRouter } from "../services/sinks/SinkRouter.js"
import { barValues, benchDatabase, optionTicker, shape } from "./consolidateData.js"
import { loadAverage } from "./measure.js"

const DATE = "2025-10-28"
const WINDOW_S = 600
const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback)
}
const sink = flag("sink", "postgres") as Extract<SinkName, "postgres" | "mysql" | "duckdb">
const contracts = Math.max(1, Number(flag("contracts", "100")))
const rounds = Math.max(1, Number(flag("rounds", "20")))
const step = Math.ceil(WINDOW_S / rounds)

/** The window's file with the bars of its first `seconds` seconds, replaced by one rename. */
const writeWindow = (db: DuckDb.DuckDbService, file: string, seconds: number) =>
  Effect.gen(function* () {
    const select = shape(
      "options",
      barValues(DATE, optionTicker(DATE), "1 + k / 10.0 + s / 100000.0"),
      `range(0, ${seconds}) t(s), range(0, ${contracts}) c(k)`
    )
    yield* db.run(`COPY (${select}) TO ${DuckDb.sqlString(`${file}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`)
    yield* Effect.promise(() => fs.rename(`${file}.tmp`, file))
  })

const FIGURES = `SELECT count(*) AS n, count(DISTINCT concat(ticker, '|', window_start_ms)) AS k, sum(close) AS c, sum(volume) AS v FROM`
type Figures = { readonly n: number; readonly k: number; readonly c: number; readonly v: number }
const figures = (rows: ReadonlyArray<Record<string, unknown>>): Figures => {
  const r = rows[0] ?? {}
  return { n: Number(r["n"]), k: Number(r["k"]), c: Number(r["c"]), v: Number(r["v"]) }
}
const same = (a: Figures, b: Figures) =>
  a.n === b.n && a.k === b.k && a.v === b.v && Math.abs(a.c - b.c) <= 1e-9 * Math.max(1, Math.abs(b.c))

/** The sink's option_bars, summed (every row of the table is the bench's date). */
const sinkFigures = (root: string, url: Redacted.Redacted<string> | undefined) =>
  sink === "postgres"
    ? Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<Record<string, unknown>>(`${FIGURES} option_bars`)).pipe(
        Effect.provide(PgClient.layer({ url: url! })),
        Effect.map(figures)
      )
    : sink === "mysql"
      ? Effect.flatMap(MysqlClient.MysqlClient, (sql) =>
          sql.unsafe<Record<string, unknown>>(`${FIGURES} option_bars`)
        ).pipe(Effect.provide(MysqlClient.layer({ url: url! })), Effect.map(figures))
      : Effect.flatMap(DuckDb.make(lakePaths(root).warehouse), (d) =>
          d.query<Record<string, unknown>>(`${FIGURES} option_bars`)
        ).pipe(Effect.scoped, Effect.map(figures))

/** One pass over the window's rounds into a fresh database; seconds per round. */
const pass = (incremental: boolean) =>
  Effect.gen(function* () {
    const settings = yield* loadSettings({})
    const url =
      sink === "postgres"
        ? Option.orElse(settings.sinks.postgres.url, () => settings.databaseUrl)
        : Option.orElse(settings.sinks.mysql.url, () => settings.mysqlUrl)
    const db =
      sink === "duckdb"
        ? undefined
        : Option.isNone(url)
          ? yield* Effect.fail(new Error(`--sink ${sink}: set ${sink === "postgres" ? "DATABASE_URL" : "MYSQL_URL"}`))
          : yield* benchDatabase(sink, url.value)
    const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "bench-sink-rounds-")))
    const file = path.join(lakePaths(root).partitionDir("options", DATE), "bars-0930.parquet")
    yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
    const overrides = {
      storage: { root },
      sinks: {
        enabled: [sink],
        // DuckDB's default bar tables are views over the lake: a round copies nothing there
        duckdb: { storage: "tables" },
        ...(db ? { [sink]: { url: Redacted.value(db.url) } } : {})
      }
    }
    const versions = openLoadedVersions(root)
    const lake = yield* DuckDb.make()
    const times = yield* Effect.gen(function* () {
      const router = yield* SinkRouter
      const out: Array<number> = []
      for (let r = 1; r <= rounds; r++) {
        yield* writeWindow(lake, file, Math.min(WINDOW_S, r * step))
        const start = performance.now()
        const since = incremental ? versions.since(sink, "options", DATE, [file]) : {}
        yield* Effect.promise(() => versions.pin(sink, "options", DATE, [file]))
        yield* router.loadFiles("options", DATE, [file], { sink, since })
        yield* Effect.promise(() => versions.keep(sink, "options", DATE, [file]))
        out.push((performance.now() - start) / 1000)
      }
      return out
    }).pipe(Effect.provide(Sinks.layer.pipe(Layer.provide(AppSettings.layer({ overrides })))))
    const want = figures(
      yield* lake.query<Record<string, unknown>>(`${FIGURES} read_parquet(${DuckDb.sqlString(file)})`)
    )
    const got = yield* sinkFigures(root, db?.url)
    const exact = same(got, want)
    console.log(
      `${incremental ? "since" : "whole files"}: ${sink} holds ${got.n} rows, ${got.k} distinct keys; the window's file ${want.n}, ${want.k}; sums of close and volume ${exact ? "equal: exact" : `DIFFER (${got.c} vs ${want.c}, ${got.v} vs ${want.v})`}`
    )
    if (!exact) process.exitCode = 1
    yield* Effect.promise(() => versions.release())
    if (db) yield* Effect.ignore(db.drop)
    yield* Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
    return times
  }).pipe(Effect.scoped)

const program = Effect.gen(function* () {
  if (!["postgres", "mysql", "duckdb"].includes(sink))
    return yield* Effect.fail(new Error(`--sink must be postgres, mysql or duckdb (got ${sink})`))
  console.log(
    `${sink}: one 10-minute window of ${contracts} contracts in ${rounds} rounds of ${contracts * step} new bars (load average ${loadAverage()})`
  )
  const withSince = yield* pass(true)
  const whole = yield* pass(false)
  const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
  console.log("round  new rows  file rows  since (s)  whole file (s)")
  for (let r = 0; r < rounds; r++)
    console.log(
      `${String(r + 1).padStart(5)}  ${String(contracts * step).padStart(8)}  ${String(contracts * Math.min(WINDOW_S, (r + 1) * step)).padStart(9)}  ${withSince[r]!.toFixed(3).padStart(9)}  ${whole[r]!.toFixed(3).padStart(14)}`
    )
  console.log(
    `total: since ${sum(withSince).toFixed(2)} s, whole files ${sum(whole).toFixed(2)} s; last round ${withSince.at(-1)!.toFixed(3)} s vs ${whole.at(-1)!.toFixed(3)} s (load average ${loadAverage()})`
  )
})

Effect.runPromise(program.pipe(Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.Warning))).catch(
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
