import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { expect } from "vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { type Row, SCHEMAS } from "../../src/domain/feeds.js"
import { lakePaths } from "../../src/domain/paths.js"
import * as DuckDb from "../../src/services/DuckDb.js"
import * as ParquetWriter from "../../src/services/ParquetWriter.js"
import { makeLakeMarket } from "../../src/simulator/lake/LakeMarket.js"
import type { WireAgg, WireArticle, WireContract, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))
const DATE = "2025-10-28"
const synthetic = makeSyntheticMarket(3)

const provenance = (received: number, source = "rest") => ({ source, received_at_ms: received, extra: null })
const aggRow = (ticker: string, b: WireAgg, received: number, over: Partial<Row> = {}): Row => ({
  ticker,
  window_start_ms: b.t,
  open: b.o,
  high: b.h,
  low: b.l,
  close: b.c,
  volume: b.v,
  vwap: b.vw,
  transactions: b.n,
  window_end_ms: null,
  accumulated_volume: null,
  official_open: null,
  day_vwap: null,
  avg_trade_size: null,
  otc: null,
  ...provenance(received),
  ...over
})
const vixRow = (b: WireIndexAgg): Row => ({
  ticker: "I:VIX",
  window_start_ms: b.t,
  open: b.o,
  high: b.h,
  low: b.l,
  close: b.c,
  window_end_ms: null,
  official_open: null,
  ...provenance(1)
})
const contractRow = (c: WireContract, rank: number): Row => ({
  as_of: DATE,
  ticker: c.ticker,
  underlying_ticker: c.underlying_ticker,
  contract_type: c.contract_type,
  exercise_style: c.exercise_style,
  expiration_date: c.expiration_date,
  strike_price: c.strike_price,
  shares_per_contract: c.shares_per_contract,
  primary_exchange: c.primary_exchange,
  cfi: c.cfi,
  correction: null,
  additional_underlyings: null,
  open_price: 580,
  moneyness_rank: rank,
  ...provenance(1)
})
const newsRow = (a: WireArticle, received: number): Row => ({
  id: a.id,
  published_utc_ms: Date.parse(a.published_utc),
  title: a.title,
  author: a.author,
  article_url: a.article_url,
  publisher_name: a.publisher.name,
  publisher_homepage_url: a.publisher.homepage_url,
  publisher_logo_url: a.publisher.logo_url,
  publisher_favicon_url: a.publisher.favicon_url ?? null,
  tickers: JSON.stringify(a.tickers),
  amp_url: a.amp_url ?? null,
  image_url: a.image_url ?? null,
  description: a.description ?? null,
  keywords: a.keywords ? JSON.stringify(a.keywords) : null,
  insights: a.insights ? JSON.stringify(a.insights) : null,
  spy_sentiment: null,
  spy_sentiment_reasoning: null,
  ...provenance(received)
})

describe("LakeMarket", () => {
  it.scoped("serves a recorded lake back through MarketData, latest received version of each key", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "lake-market-")))
      const paths = lakePaths(root)
      const writer = yield* ParquetWriter.ParquetWriter
      const write = (
        feed: keyof typeof SCHEMAS,
        rows: ReadonlyArray<Row>,
        file = path.join(paths.partitionDir(feed, DATE), "backfill.parquet")
      ) => writer.write(SCHEMAS[feed], rows, file)

      const spy = synthetic.secondBars("SPY", DATE) as ReadonlyArray<WireAgg>
      const premarket = { ...spy[0]!, t: nyTimeMs(DATE, 9, 0) }
      yield* write("spy", [aggRow("SPY", premarket, 1), ...spy.map((b) => aggRow("SPY", b, 1))])
      // a live file in the same partition: newer WebSocket versions of seconds 0–9, older junk for 10–19
      const live = [
        ...spy
          .slice(0, 10)
          .map((b) => aggRow("SPY", b, 2, { close: b.c + 0.01, transactions: null, avg_trade_size: 7, source: "ws" })),
        ...spy.slice(10, 20).map((b) => aggRow("SPY", b, 0, { close: -1 }))
      ]
      yield* write("spy", live, path.join(paths.partitionDir("spy", DATE), "live-1.parquet"))

      const listed = synthetic.contracts(DATE)
      const traded = listed
        .filter((c) => synthetic.secondBars(c.ticker, DATE).length > 0)
        .slice(0, 3)
        .map((c) => c.ticker)
      yield* write(
        "options",
        traded.flatMap((t) => (synthetic.secondBars(t, DATE) as ReadonlyArray<WireAgg>).map((b) => aggRow(t, b, 1)))
      )
      const vix = synthetic.secondBars("I:VIX", DATE) as ReadonlyArray<WireIndexAgg>
      yield* write("vix", vix.map(vixRow))
      yield* write("contracts", listed.slice(0, 40).reverse().map(contractRow))
      const articles = synthetic.news(DATE)
      yield* write("news", [...articles.map((a) => newsRow(a, 1)), newsRow({ ...articles[0]!, title: "stale" }, 0)])

      const lake = yield* Effect.acquireRelease(
        Effect.promise(() => makeLakeMarket(root)),
        (m) => Effect.promise(() => m.close())
      )

      const expectedSpy = spy.map((b, i) => (i < 10 ? { ...b, c: b.c + 0.01, n: Math.round(b.v / 7) } : b))
      assert.deepStrictEqual(lake.secondBars("SPY", DATE), expectedSpy)
      assert.strictEqual(lake.secondBars("SPY", DATE), lake.secondBars("SPY", DATE), "cached")
      for (const t of traded) assert.deepStrictEqual(lake.secondBars(t, DATE), synthetic.secondBars(t, DATE))
      assert.deepStrictEqual(lake.secondBars("I:VIX", DATE), vix)
      assert.deepStrictEqual(lake.contracts(DATE), listed.slice(0, 40))
      assert.deepStrictEqual(lake.news(DATE), articles)
      assert.deepStrictEqual(lake.holidays(2025), synthetic.holidays(2025))

      // unknown tickers, closed days and dates never recorded are empty
      assert.deepStrictEqual(lake.secondBars("O:SPY251031C00999000", DATE), [])
      assert.deepStrictEqual(lake.secondBars("SPY", "2025-10-25"), [])
      assert.deepStrictEqual(lake.secondBars("SPY", "2025-10-29"), [])
      assert.deepStrictEqual(lake.contracts("2025-10-29"), [])
      assert.deepStrictEqual(lake.news("2025-10-29"), [])
    }).pipe(Effect.provide(TestLayer))
  )

  it("refuses a directory that is not a lake", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "not-a-lake-"))
    await expect(makeLakeMarket(root)).rejects.toThrow(/not a lake/)
  })
})
