/**
 * A backfill of several underlyings and indices into the lake, against the built-in simulator: SPY
 * and QQQ in `raw/spy`, I:VIX and I:SPX in `raw/vix`, each underlying's contracts (chosen from its
 * own open by its own rule, the cap per underlying) and their bars in `raw/options`, the union of
 * their news in `raw/news`, every partition equal to the simulator's truth per ticker as sets
 * (rows = distinct keys = truth). That first backfill also loads the default DuckDB sink (views over
 * the lake), whose `options_consolidated` must join each option bar with its own underlying's bar
 * and I:VIX, exactly (the issue "Many underlyings"). Then (sinks off) `--overwrite` of one day
 * replaces the configured tickers' rows only, a re-run fetches nothing, and `verify` passes.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { holidayIndex, nextTradingDay, nyDateOf, nyTimeMs } from "../../../src/domain/calendar.js"
import { selectContracts } from "../../../src/domain/contractSelection.js"
import { SPY_SCHEMA } from "../../../src/domain/feeds.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import { BackfillLayer } from "../../../src/layers/Backfill.js"
import * as Sinks from "../../../src/layers/Sinks.js"
import { backfillProgram } from "../../../src/programs/backfill.js"
import { verifyReport } from "../../../src/programs/verify.js"
import { formatVerify } from "../../../src/programs/verify/format.js"
import * as AppSettings from "../../../src/services/AppSettings.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { startSimulator } from "../../../src/simulator/server.js"
import { barRow } from "../../helpers/barRows.js"
import { asOf, expectedBars } from "../../helpers/groundTruth.js"
import { tempRoot } from "../../helpers/settings.js"
import { queryDuck } from "../../services/sinks/support.js"

const SEED = 11
const DAYS = ["2025-10-27", "2025-10-28"]
const BAND = { SPY: 0.01, QQQ: 0.015 }
const CAP = 12
const HOLIDAYS = holidayIndex([...nyseHolidays(2025), ...nyseHolidays(2026)])

const rowsOf = (root: string, feed: string, cols: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    db.query<Record<string, unknown>>(
      `SELECT ${cols}, date::VARCHAR AS date FROM read_parquet('${root}/raw/${feed}/date=*/*.parquet', hive_partitioning = true)`
    )
  ).pipe(Effect.provide(DuckDb.layer()), Effect.scoped)

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("backfill of several underlyings and indices (lake, and the DuckDB view of the first run)", () => {
  it.live("SPY + QQQ, I:VIX + I:SPX over two days: every partition equals the truth per ticker", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: "test-key-1234" }))
      const root = yield* Effect.promise(() => tempRoot("universe-backfill-"))
      const overrides = {
        polygon: { rest_url: sim.url },
        storage: { root },
        sinks: { enabled: [] },
        underlyings: [
          { ticker: "SPY", strike_band_pct: BAND.SPY, max_contracts: CAP },
          { ticker: "QQQ", strike_band_pct: BAND.QQQ, max_contracts: CAP }
        ],
        indices: ["I:VIX", "I:SPX"],
        POLYGON_API_KEY: "test-key-1234"
      }
      const settings = AppSettings.layer({ configPath: "config/settings.yaml", ignoreEnv: true, overrides })
      const run = <A, E>(effect: Effect.Effect<A, E, AppSettings.AppSettings>) =>
        effect.pipe(Effect.provide(settings), Effect.provide(NodeContext.layer))
      const backfill = (options: Parameters<typeof backfillProgram>[0]) =>
        run(backfillProgram(options).pipe(Effect.provide(BackfillLayer)))
      const market = makeSyntheticMarket(SEED)
      const chosen = (d: string, u: "SPY" | "QQQ") =>
        selectContracts(market.contracts(d, u), market.officialOpen(d, u), nextTradingDay(d, HOLIDAYS), {
          bandPct: BAND[u],
          maxContracts: CAP
        })
      const barKeys = (tickers: ReadonlyArray<string>) =>
        sorted(
          DAYS.flatMap((d) => tickers.flatMap((t) => expectedBars(market, t, d).map((b) => `${d}|${t}|${b.t}|${b.c}`)))
        )

      /** Every feed against the truth, as sets, and no key twice. */
      const assertLake = Effect.gen(function* () {
        const keysOnce = (rows: ReadonlyArray<Record<string, unknown>>, key: (r: Record<string, unknown>) => string) =>
          assert.strictEqual(new Set(rows.map(key)).size, rows.length, "no key twice")
        const bars = (feed: string) => rowsOf(root, feed, "ticker, window_start_ms::DOUBLE AS t, close")
        const line = (r: Record<string, unknown>) => `${r["date"]}|${r["ticker"]}|${r["t"]}|${r["close"]}`
        const spy = yield* bars("spy")
        keysOnce(spy, (r) => `${r["date"]}|${r["ticker"]}|${r["t"]}`)
        assert.deepStrictEqual(sorted(spy.map(line)), barKeys(["SPY", "QQQ"]))
        const vix = yield* bars("vix")
        keysOnce(vix, (r) => `${r["date"]}|${r["ticker"]}|${r["t"]}`)
        assert.deepStrictEqual(sorted(vix.map(line)), barKeys(["I:VIX", "I:SPX"]))

        const contracts = yield* rowsOf(
          root,
          "contracts",
          "ticker, underlying_ticker AS u, strike_price AS k, open_price"
        )
        keysOnce(contracts, (r) => `${r["date"]}|${r["ticker"]}`)
        const expectedContracts = DAYS.flatMap((d) =>
          (["SPY", "QQQ"] as const).flatMap((u) => chosen(d, u).map((c) => `${d}|${u}|${c.ticker}`))
        )
        assert.deepStrictEqual(
          sorted(contracts.map((r) => `${r["date"]}|${r["u"]}|${r["ticker"]}`)),
          sorted(expectedContracts)
        )
        for (const d of DAYS) {
          const qqq = contracts.filter((r) => r["date"] === d && r["u"] === "QQQ")
          const open = market.officialOpen(d, "QQQ")
          assert.strictEqual(qqq.length, CAP, "QQQ has its own cap")
          assert.strictEqual(contracts.filter((r) => r["date"] === d && r["u"] === "SPY").length, CAP)
          for (const r of qqq) {
            assert.strictEqual(r["open_price"], open, "QQQ's set is centred on QQQ's open")
            assert.ok(Math.abs((r["k"] as number) - open) <= open * BAND.QQQ, `${r["ticker"]} within QQQ's band`)
          }
        }

        const options = yield* bars("options")
        keysOnce(options, (r) => `${r["date"]}|${r["ticker"]}|${r["t"]}`)
        const expectedOptions = DAYS.flatMap((d) =>
          (["SPY", "QQQ"] as const).flatMap((u) =>
            chosen(d, u).flatMap((c) => expectedBars(market, c.ticker, d).map((b) => `${d}|${c.ticker}|${b.t}|${b.c}`))
          )
        )
        assert.ok(
          expectedOptions.some((l) => l.includes("|O:QQQ")),
          "QQQ's contracts have bars"
        )
        assert.deepStrictEqual(sorted(options.map(line)), sorted(expectedOptions))

        const news = yield* rowsOf(root, "news", "id")
        keysOnce(news, (r) => `${r["id"]}`)
        const expectedNews = DAYS.flatMap((d) =>
          market
            .news(d)
            .filter(
              (a) =>
                (a.tickers.includes("SPY") || a.tickers.includes("QQQ")) && nyDateOf(Date.parse(a.published_utc)) === d
            )
            .map((a) => `${d}|${a.id}`)
        )
        assert.ok(expectedNews.length > 0)
        assert.deepStrictEqual(sorted(news.map((r) => `${r["date"]}|${r["id"]}`)), sorted(expectedNews))
      })

      // The first backfill as the CLI runs it, with the default DuckDB sink (views over the lake): each day
      // loaded and consolidated. The later runs are lake only.
      const withDuckDb = AppSettings.layer({
        configPath: "config/settings.yaml",
        ignoreEnv: true,
        overrides: { ...overrides, sinks: { enabled: ["duckdb"], duckdb: { storage: "lake" } } }
      })
      const first = yield* backfillProgram({ startDate: DAYS[0]!, endDate: DAYS[1]! }).pipe(
        Effect.provide(Layer.mergeAll(BackfillLayer, Sinks.layer)),
        Effect.provide(withDuckDb),
        Effect.provide(NodeContext.layer)
      )
      assert.deepStrictEqual(
        first.days.map((d) => d.date),
        DAYS
      )
      yield* assertLake

      // The consolidated view: every option bar of each underlying's chosen contracts with its OWN underlying's
      // latest bar at or before the option bar's start (NULL if none) and I:VIX's. The truth is built from the
      // bars the lake holds (the session's, as assertLake just showed: expectedBars), per date.
      const viewLine = (
        ticker: string,
        u: string,
        t: number,
        own: { t: number; c: number } | undefined,
        vix?: number
      ) => `${ticker}|${u}|${t}|${own?.t ?? null}|${own?.c ?? null}|${vix ?? null}`
      let viewRows = 0
      for (const d of DAYS) {
        const view = yield* Effect.promise(() =>
          queryDuck<{
            ticker: string
            underlying: string
            s: bigint
            spy_s: bigint | null
            spy_close: number | null
            vix: number | null
          }>(
            root,
            `SELECT ticker, underlying, window_start_ms AS s, spy_window_start_ms AS spy_s, spy_close, vix_value AS vix
             FROM options_consolidated WHERE "date" = '${d}'`
          )
        )
        const got = sorted(view.map((r) => `${r.ticker}|${r.underlying}|${r.s}|${r.spy_s}|${r.spy_close}|${r.vix}`))
        const vix = expectedBars(market, "I:VIX", d)
        const truth = (barsOf: (u: "SPY" | "QQQ") => ReadonlyArray<{ t: number; c: number }>) =>
          sorted(
            (["SPY", "QQQ"] as const).flatMap((u) =>
              chosen(d, u).flatMap((c) =>
                expectedBars(market, c.ticker, d).map((b) =>
                  viewLine(c.ticker, u, b.t, asOf(barsOf(u), b.t), asOf(vix, b.t)?.c)
                )
              )
            )
          )
        const own = { SPY: expectedBars(market, "SPY", d), QQQ: expectedBars(market, "QQQ", d) }
        const want = truth((u) => own[u])
        assert.isAbove(want.length, 10_000, `${d}: a large truth`)
        const qqqRows = want.filter((l) => l.split("|")[1] === "QQQ")
        assert.isAbove(qqqRows.length, 1_000, `${d}: QQQ's options are in the view`)
        assert.ok(
          qqqRows.every((l) => l.startsWith("O:QQQ")),
          "only QQQ's contracts carry QQQ"
        )
        // The check tells the underlyings apart: QQQ's options joined with SPY's bars would differ on every QQQ row.
        const crossed = new Set(truth(() => own.SPY))
        assert.ok(
          qqqRows.every((l) => !crossed.has(l)),
          `${d}: SPY's bars give QQQ's rows other values`
        )
        // A short report first (a diff of 10^5 lines takes minutes to print), then the exact equality.
        const gotSet = new Set(got)
        const wantSet = new Set(want)
        assert.deepStrictEqual(
          {
            missing: want.filter((l) => !gotSet.has(l)).slice(0, 5),
            spurious: got.filter((l) => !wantSet.has(l)).slice(0, 5)
          },
          { missing: [], spurious: [] },
          `${d}: options_consolidated against the truth`
        )
        assert.deepStrictEqual(got, want, `${d}: options_consolidated equals the truth`)
        viewRows += got.length
      }
      assert.isAbove(viewRows, 20_000)

      // A stale QQQ bar (a key the API does not serve) and a session of an unconfigured ticker: `--overwrite`
      // of the day replaces QQQ's rows (the stale one goes), and leaves IWM's alone.
      const open = nyTimeMs(DAYS[0]!, 9, 30)
      yield* Effect.flatMap(ParquetWriter.ParquetWriter, (w) =>
        w.upsert(SPY_SCHEMA, root, DAYS[0]!, {
          rows: [
            { ...barRow(DAYS[0]!, "QQQ", 0, 1), window_start_ms: open + 500 },
            ...Array.from({ length: 23_400 }, (_, i) => barRow(DAYS[0]!, "IWM", i, 1))
          ]
        })
      ).pipe(Effect.provide(ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))))
      const before = sim.stats().requests
      yield* backfill({ startDate: DAYS[0]!, endDate: DAYS[0]!, overwrite: true })
      const overwriteRequests = sim.stats().requests - before
      const iwm = (yield* rowsOf(root, "spy", "ticker")).filter((r) => r["ticker"] === "IWM")
      assert.strictEqual(iwm.length, 23_400, "an unconfigured ticker's rows stay")
      // Without IWM's row, the lake is the truth again.
      const spyNow = yield* rowsOf(root, "spy", "ticker, window_start_ms::DOUBLE AS t, close")
      assert.deepStrictEqual(
        sorted(
          spyNow.filter((r) => r["ticker"] !== "IWM").map((r) => `${r["date"]}|${r["ticker"]}|${r["t"]}|${r["close"]}`)
        ),
        barKeys(["SPY", "QQQ"])
      )
      // Nothing fetched twice: the overwrite asked exactly what a first backfill of the day into an empty lake asks.
      const fresh = yield* Effect.promise(() => tempRoot("universe-fresh-"))
      const beforeFresh = sim.stats().requests
      yield* backfillProgram({ startDate: DAYS[0]!, endDate: DAYS[0]! }).pipe(
        Effect.provide(BackfillLayer),
        Effect.provide(
          AppSettings.layer({
            configPath: "config/settings.yaml",
            ignoreEnv: true,
            overrides: { ...overrides, storage: { root: fresh } }
          })
        ),
        Effect.provide(NodeContext.layer)
      )
      assert.strictEqual(overwriteRequests, sim.stats().requests - beforeFresh)
      assert.ok(overwriteRequests >= 2 * CAP + 11, `one request per unit at least (${overwriteRequests})`)

      const rerun = sim.stats().requests
      const again = yield* backfill({ startDate: DAYS[0]!, endDate: DAYS[1]! })
      assert.strictEqual(sim.stats().requests - rerun, 1, "only the holiday calendar is fetched again")
      assert.deepStrictEqual(
        again.days.map((d) => d.rows.spy),
        first.days.map((d) => d.rows.spy)
      )

      for (const date of DAYS) {
        const report = yield* run(verifyReport({ date, lakeOnly: true }))
        const spy = report.feeds.find((f) => f.feed === "spy")!
        assert.deepStrictEqual(
          spy.tickers.map((t) => t.ticker),
          date === DAYS[0] ? ["IWM", "QQQ", "SPY"] : ["QQQ", "SPY"]
        )
        assert.deepStrictEqual(
          report.feeds.find((f) => f.feed === "vix")!.tickers.map((t) => t.ticker),
          ["I:SPX", "I:VIX"]
        )
        assert.deepStrictEqual(report.contracts.map((c) => [c.underlying, c.contracts]).sort(), [
          ["QQQ", CAP],
          ["SPY", CAP]
        ])
        assert.ok(report.contracts.every((c) => c.traded > 0 && c.maxCoveragePct! > 0))
        assert.ok(formatVerify(report).includes("UNDERLYING"))
        assert.deepStrictEqual(report.problems, [])
      }
      // A configured index the lake does not hold is a gap as long as the session.
      const withRut = AppSettings.layer({
        configPath: "config/settings.yaml",
        ignoreEnv: true,
        overrides: { storage: { root }, sinks: { enabled: [] }, indices: ["I:VIX", "I:SPX", "I:RUT"] }
      })
      const missing = yield* verifyReport({ date: DAYS[1]!, lakeOnly: true }).pipe(
        Effect.provide(withRut),
        Effect.provide(NodeContext.layer)
      )
      assert.deepStrictEqual(
        missing.problems.map((p) => p.slice(0, 36)),
        ["vix: I:RUT has no bar for 23400 s fr"]
      )
      yield* Effect.promise(() => sim.close())
    })
  )
})
