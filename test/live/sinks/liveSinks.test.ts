/**
 * Sinks loaded during the live day (LiveSinkLoader, src/layers/LiveSinks.ts) on the TestClock: the
 * real live program from 15:00 to the close with a fake WebSocket fed from the SyntheticMarket,
 * `sinks.live_load_interval_s` = 600 (rounds at 15:10, 15:20, …), DuckDB, PostgreSQL and MariaDB
 * (these two receive only the rows that changed in a rewritten window file: `since`).
 * Emission pauses after 15:26 until the 15:30 round, so at that round the lake is at rest: the
 * sinks must then hold exactly the lake's durable files (every one of them, nothing else), i.e.
 * exactly the market's bars from the open (the morning comes over REST: live started at 15:00) to
 * 15:26, values included. After the close and the
 * end-of-day load they hold exactly the session's bars, no duplicates, and no alert was raised.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import type { Feed } from "../../../src/domain/feeds.js"
import { SPY, VIX } from "../../../src/domain/tickers.js"
import * as LiveSinks from "../../../src/layers/LiveSinks.js"
import * as Sinks from "../../../src/layers/Sinks.js"
import { checkpointFile } from "../../../src/live/writer/liveFiles.js"
import { LiveSinkLoader } from "../../../src/live/sinks/LiveSinkLoader.js"
import { consolidateProgram } from "../../../src/programs/consolidate.js"
import { liveProgram } from "../../../src/programs/live.js"
import { AppSettings } from "../../../src/services/AppSettings.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { prepareMysql, preparePg, queryDuck, queryMysql, queryPg } from "../../services/sinks/support.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../fixtures/fakeRest.js"
import { FakeServer } from "../fixtures/fakeWs.js"
import { diffLake, type LakeRow, liveTestLayer, realTick, realWait } from "../fixtures/harness.js"

const DATE = "2025-10-28"
const pg = await preparePg("t_livesinks")
const mysql = await prepareMysql("livesinks")
const TABLE = { spy: "spy_bars", vix: "vix_values", options: "option_bars" } as const
type BarFeed = keyof typeof TABLE

const sinkRows = (engine: "duckdb" | "postgres" | "mysql", root: string, feed: BarFeed): Promise<Array<LakeRow>> => {
  const vol = feed === "vix" ? "CAST(NULL AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS vw" : "volume AS v, vwap AS vw"
  const sql = `SELECT ticker, window_start_ms AS s, open AS o, high AS h, low AS l, close AS c, ${vol}, source FROM ${TABLE[feed]} WHERE date = '${DATE}'`
  const rows =
    engine === "duckdb"
      ? queryDuck<Record<string, unknown>>(root, sql)
      : engine === "postgres"
        ? queryPg<Record<string, unknown>>(pg!, sql.replaceAll("AS DOUBLE)", "AS DOUBLE PRECISION)"))
        : queryMysql<Record<string, unknown>>(mysql!, sql)
  return rows.then((rs) =>
    rs.map((r) => ({
      ...(r as unknown as LakeRow),
      s: Number(r["s"]),
      v: r["v"] === null ? null : Number(r["v"]),
      vw: r["vw"] === null ? null : Number(r["vw"])
    }))
  )
}

/** Wait (real time) without failing: give real I/O a chance between TestClock steps. */
const softWait = (condition: () => boolean, ms: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + ms
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  })

describe("live: sinks loaded during the day", () => {
  it.scoped(
    "midway the sinks hold exactly the lake's durable bars; after the close exactly the session's",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-sinks-"))
        const engines = ["duckdb" as const, ...(pg ? ["postgres" as const] : []), ...(mysql ? ["mysql" as const] : [])]
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            live: { shutdown_before_close_s: -1, idle_timeout_s: 900 },
            flush: { interval_s: 60 },
            feeds: { news: { enabled: false } },
            options: { max_contracts: 6 },
            sinks: {
              enabled: [...engines],
              live_load_interval_s: 600,
              postgres: { url: pg ?? "" },
              mysql: { url: mysql ?? "" }
            }
          })
        )
        const market = makeSyntheticMarket(42)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, fakeRest(market).service, server.connect)
        const loader = yield* Effect.provide(
          LiveSinkLoader,
          LiveSinks.layer.pipe(Layer.provide(Layer.succeed(AppSettings, settings)))
        )
        const status = () => Effect.runSync(loader.status)
        const open = nyTimeMs(DATE, 9, 30) // started after the open: the morning is repaired over REST on the first bars
        const start = nyTimeMs(DATE, 15)
        const close = nyTimeMs(DATE, 16)
        const pauseFrom = nyTimeMs(DATE, 15, 26)
        const checkAt = nyTimeMs(DATE, 15, 30)
        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(
          liveProgram().pipe(Effect.provide(Layer.merge(layer, Layer.succeed(LiveSinkLoader, loader))))
        )
        yield* realWait(
          () => server.open().filter((s) => s.subs.size > 0).length >= 3,
          20_000,
          () => "3 subscribed sockets"
        )

        const options = () =>
          (
            JSON.parse(fsSync.readFileSync(path.join(root, `raw/contracts/date=${DATE}/contracts.json`), "utf8")) as {
              contracts: Array<{ ticker: string }>
            }
          ).contracts.map((c) => c.ticker)
        const tickers = (feed: BarFeed) => (feed === "spy" ? [SPY] : feed === "vix" ? [VIX] : options())
        const expectedRows = (feed: BarFeed, until: number) =>
          tickers(feed).reduce(
            (n, t) => n + market.secondBars(t, DATE).filter((b) => b.t >= open && b.t < until).length,
            0
          )
        const committed = (feed: BarFeed) => {
          try {
            return JSON.parse(fsSync.readFileSync(checkpointFile(root, feed, DATE), "utf8")) as {
              rowsCommitted: number
              seq: number
            }
          } catch {
            return { rowsCommitted: 0, seq: 0 }
          }
        }
        const feeds = ["spy", "vix", "options"] as const
        const allCommitted = () => feeds.every((f) => committed(f).rowsCommitted === expectedRows(f, pauseFrom))

        const compare = (rows: ReadonlyArray<LakeRow>, feed: BarFeed, until: number) => {
          const d = diffLake(rows, market, tickers(feed), DATE, (t) => t >= open && t < until)
          return {
            missing: d.missing,
            duplicates: d.duplicates,
            wrong: d.wrong,
            spurious: d.spurious,
            rows: d.rows,
            expected: d.expected
          }
        }
        const exact = (n: number) => ({ missing: 0, duplicates: 0, wrong: 0, spurious: 0, rows: n, expected: n })

        for (let t = start; t <= close; t += 60_000) {
          const now = t + 60_000
          yield* TestClock.adjust("60 seconds")
          // A round due now (every 10 simulated minutes from 15:00) finishes before time moves on.
          const due = Math.floor((now - start) / 600_000)
          yield* realWait(
            () => status().rounds >= due && !status().running,
            30_000,
            () => `round ${due} at ${new Date(now).toISOString()}`
          )
          if (now <= pauseFrom || now > checkAt) server.emitUntil(now)
          else if (now < checkAt) {
            // the pause: the flushes of 15:27–15:29 commit everything emitted up to 15:26
            if (now === checkAt - 60_000)
              yield* realWait(
                allCommitted,
                20_000,
                () =>
                  `committed ${feeds.map((f) => `${f} ${committed(f).rowsCommitted}/${expectedRows(f, pauseFrom)}`)}`
              )
            else yield* softWait(allCommitted, 2_000)
          }
          if (now === checkAt) {
            // The 15:30 round saw a lake at rest: every file durable (seq <= the checkpoint's) and loaded, nothing else.
            for (const feed of feeds) {
              const names = (yield* Effect.promise(() => fs.readdir(path.join(root, "raw", feed, `date=${DATE}`))))
                .filter((n) => n.endsWith(".parquet"))
                .sort()
              assert.isAbove(names.length, 3)
              assert.deepStrictEqual(
                names.filter((n) => Number(/^live-(\d+)\.parquet$/.exec(n)?.[1] ?? 0) > committed(feed).seq),
                []
              )
              for (const engine of engines)
                assert.deepStrictEqual(
                  [engine, feed, (status().loaded[engine]?.[feed as Feed] ?? []).map((p) => path.basename(p))],
                  [engine, feed, names]
                )
            }
            for (const engine of engines)
              for (const feed of feeds) {
                const rows = yield* Effect.promise(() => sinkRows(engine, root, feed))
                assert.deepStrictEqual(
                  [engine, feed, compare(rows, feed, pauseFrom)],
                  [engine, feed, exact(expectedRows(feed, pauseFrom))]
                )
              }
          }
          yield* realTick
        }
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(outcome, { _tag: "Streamed", date: DATE, endOfDay: true })
        assert.strictEqual(status().rounds, 6)
        assert.deepStrictEqual(
          status().last.map((r) => r.error),
          engines.map(() => undefined)
        )

        // The end of the day, as runLive does it: the compacted partitions, whole, then the view.
        yield* consolidateProgram({ date: DATE }).pipe(
          Effect.provide(Sinks.layer),
          Effect.provide(Layer.succeed(AppSettings, settings))
        )
        for (const engine of engines)
          for (const feed of feeds) {
            const rows = yield* Effect.promise(() => sinkRows(engine, root, feed))
            assert.deepStrictEqual(
              [engine, feed, compare(rows, feed, close)],
              [engine, feed, exact(expectedRows(feed, close))]
            )
          }
        assert.deepStrictEqual(rec.alerts, [])
      }),
    { timeout: 120_000 }
  )
})
