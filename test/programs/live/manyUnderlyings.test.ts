/**
 * A whole live day of SPY and QQQ with I:VIX and I:SPX on the TestClock (the issue "Many
 * underlyings"): one `live` run streams both underlyings on the stocks connection, both indices on
 * the indices connection, both option sets (each chosen at its own open, by its own rule) sharded
 * over the options connections, and polls both underlyings' news. Every partition must equal the
 * simulator's truth for each ticker (rows = distinct keys = truth), and in the DuckDB view over
 * that lake each option row carries its own underlying's bar and the first index.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { liveProgram } from "../../../src/programs/live.js"
import { FEEDS } from "../../../src/sql/tables.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { asOf, chosenContracts } from "../../helpers/groundTruth.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../../live/fixtures/fakeRest.js"
import { FakeServer } from "../../live/fixtures/fakeWs.js"
import { diffLake, liveTestLayer, readLake, realTick, realWait } from "../../live/fixtures/harness.js"
import { queryDuck, withRouter } from "../../services/sinks/support.js"

const DATE = "2025-10-28"
const UNDERLYINGS = ["SPY", "QQQ"] as const
const INDICES = ["I:VIX", "I:SPX"] as const

const contractsOf = (root: string, file: string) =>
  Effect.promise(async () => {
    const text = await fs.readFile(path.join(root, "raw/contracts/date=2025-10-28", file), "utf8")
    return (JSON.parse(text) as { contracts: Array<{ ticker: string }> }).contracts.map((c) => c.ticker)
  })

describe("live: several underlyings and indices", () => {
  it.scoped(
    "SPY and QQQ with I:VIX and I:SPX: every feed equals the simulator per ticker; each option joins its own underlying",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-many-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            underlyings: [{ ticker: "SPY" }, { ticker: "QQQ", max_contracts: 40, strike_band_pct: 0.02 }],
            indices: [...INDICES],
            live: {
              shutdown_before_close_s: -1,
              idle_timeout_s: 180,
              max_connections_per_cluster: 3,
              max_subscriptions_per_connection: 50
            },
            flush: { interval_s: 300 },
            news: { poll_interval_s: 600 }
          })
        )
        const market = makeSyntheticMarket(42)
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, rest.service, server.connect)
        const start = nyTimeMs(DATE, 9, 29)
        const close = nyTimeMs(DATE, 16)
        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        const subscribed = (n: number) =>
          realWait(
            () => server.open().filter((s) => s.subs.size > 0).length >= n,
            20_000,
            () =>
              `${n}: ${server.sockets.map((s) => `${s.url} closed=${s.closed} subs=${s.subs.size}`)} live: ${String(fiber.unsafePoll())}`
          )
        yield* subscribed(2)
        for (let t = start; t <= close; t += 60_000) {
          yield* TestClock.adjust("60 seconds")
          if (t + 60_000 === nyTimeMs(DATE, 9, 31)) yield* subscribed(4)
          server.emitUntil(t + 60_000)
          yield* realTick
        }
        assert.deepStrictEqual(yield* Fiber.join(fiber), { _tag: "Streamed", date: DATE, endOfDay: true })

        // Each underlying's set, chosen by its own rule from its own open.
        const spyOptions = yield* contractsOf(root, "contracts.json")
        const qqqOptions = yield* contractsOf(root, "contracts-QQQ.json")
        assert.deepStrictEqual(
          spyOptions,
          chosenContracts(market, DATE).map((c) => c.ticker)
        )
        assert.deepStrictEqual(
          qqqOptions,
          chosenContracts(market, DATE, 0.02, 40, "QQQ").map((c) => c.ticker)
        )
        assert.strictEqual(qqqOptions.length, 40)
        assert.isAbove(spyOptions.length + qqqOptions.length, 50) // more than one options connection
        // Two options connections (50 per connection), one stocks, one indices.
        const perCluster = new Map<string, number>()
        for (const s of server.sockets) {
          const cluster = s.url.slice(s.url.lastIndexOf("/") + 1)
          perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + 1)
        }
        assert.deepStrictEqual(Object.fromEntries(perCluster), { stocks: 1, indices: 1, options: 2 })

        for (const [feed, tickers] of [
          ["spy", UNDERLYINGS],
          ["vix", INDICES],
          ["options", [...spyOptions, ...qqqOptions]]
        ] as const) {
          const d = diffLake(yield* readLake(root, feed, DATE), market, tickers, DATE)
          assert.deepStrictEqual(
            { feed, missing: d.missing, duplicates: d.duplicates, wrong: d.wrong, spurious: d.spurious, rows: d.rows },
            { feed, missing: 0, duplicates: 0, wrong: 0, spurious: 0, rows: d.expected }
          )
        }

        // News: both underlyings' articles of the window, each once.
        const since = new Date(nyTimeMs(DATE, 9, 30) - 6.5 * 3600_000).toISOString()
        const news = yield* Effect.promise(() =>
          queryDuck<{ id: string }>(root, `SELECT id FROM read_parquet('${root}/raw/news/date=${DATE}/*.parquet')`)
        )
        const wantNews = market
          .news(DATE)
          .filter((a) => a.published_utc > since && (a.tickers.includes("SPY") || a.tickers.includes("QQQ")))
          .map((a) => a.id)
        assert.isTrue(
          wantNews.some(
            (id) =>
              !market
                .news(DATE)
                .find((a) => a.id === id)!
                .tickers.includes("SPY")
          )
        )
        assert.deepStrictEqual(news.map((r) => r.id).sort(), [...wantNews].sort())

        // The consolidated view (DuckDB over this lake): each option row with its own underlying's bar.
        yield* Effect.promise(() =>
          withRouter(
            {
              root,
              overrides: {
                underlyings: [{ ticker: "SPY" }, { ticker: "QQQ" }],
                indices: [...INDICES],
                sinks: { enabled: ["duckdb"], duckdb: { storage: "lake" } }
              }
            },
            (router) =>
              Effect.gen(function* () {
                for (const feed of FEEDS) yield* router.loadPartition(feed, DATE)
                yield* router.consolidate(DATE)
              })
          )
        )
        const view = yield* Effect.promise(() =>
          queryDuck<{ ticker: string; underlying: string; s: bigint; spy_close: number; spy_s: bigint; vix: number }>(
            root,
            `SELECT ticker, underlying, window_start_ms AS s, spy_close, spy_window_start_ms AS spy_s, vix_value AS vix
             FROM options_consolidated WHERE "date" = '${DATE}'`
          )
        )
        const bars = Object.fromEntries(UNDERLYINGS.map((u) => [u, market.secondBars(u, DATE)]))
        const vix = market.secondBars("I:VIX", DATE)
        const got = view.map((r) => `${r.ticker}|${r.underlying}|${r.s}|${r.spy_s}|${r.spy_close}|${r.vix}`).sort()
        const want = [...spyOptions, ...qqqOptions]
          .flatMap((ticker) => {
            const u = ticker.startsWith("O:QQQ") ? "QQQ" : "SPY"
            return market.secondBars(ticker, DATE).map((b) => {
              const own = asOf(bars[u]!, b.t)
              return `${ticker}|${u}|${b.t}|${own?.t ?? null}|${own?.c ?? null}|${asOf(vix, b.t)?.c ?? null}`
            })
          })
          .sort()
        assert.isAbove(want.length, 10_000)
        assert.deepStrictEqual(got, want)
        assert.strictEqual(rec.alerts.length, 0)
      }),
    { timeout: 300_000 }
  )
})
