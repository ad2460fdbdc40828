/**
 * `--source lake:PATH` through the WebSocket replay at max: a recorded lake (fractional volumes,
 * long decimals, WebSocket rows without transactions) comes back as the A / AM / V events of its
 * bars, every event's text exactly JSON.stringify of the event object (as before the replay
 * wrote bytes itself), every bar of the session once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { nyTimeMs } from "../../src/domain/calendar.js"
import type { Row } from "../../src/domain/feeds.js"
import { SCHEMAS } from "../../src/domain/feeds.js"
import { lakePaths } from "../../src/domain/paths.js"
import * as DuckDb from "../../src/services/DuckDb.js"
import * as ParquetWriter from "../../src/services/ParquetWriter.js"
import { makeLakeMarket } from "../../src/simulator/lake/LakeMarket.js"
import type { WireAgg, WireIndexAgg } from "../../src/simulator/MarketData.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { buildTickerDay } from "../../src/simulator/ws/events.js"
import { fixedClock, Recorder, startWsServer } from "./ws-helpers.js"

const TestLayer = ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer()))
const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30),
  CLOSE = nyTimeMs(DATE, 16)
const synthetic = makeSyntheticMarket(5)

const row = (ticker: string, b: WireAgg, over: Partial<Row> = {}): Row => ({
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
  source: "rest",
  received_at_ms: 1,
  extra: null,
  ...over
})

describe("WebSocket replay of a recorded lake", () => {
  it.scoped(
    "at max: every bar of the session once, each event's text JSON.stringify of its object",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ws-lake-")))
        const paths = lakePaths(root)
        const writer = yield* ParquetWriter.ParquetWriter
        const spy = synthetic.secondBars("SPY", DATE) as ReadonlyArray<WireAgg>
        // fractional volumes, a VWAP with many decimals, WebSocket rows without transactions
        yield* writer.write(
          SCHEMAS.spy,
          spy.map((b, i) =>
            i % 3 === 0
              ? row("SPY", b, { volume: b.v + 0.25, vwap: b.vw + 1 / 3 })
              : i % 3 === 1
                ? row("SPY", b, { transactions: null, avg_trade_size: 7, source: "ws" })
                : row("SPY", b)
          ),
          path.join(paths.partitionDir("spy", DATE), "backfill.parquet")
        )
        const option = synthetic.contracts(DATE).find((c) => synthetic.secondBars(c.ticker, DATE).length > 2000)!.ticker
        yield* writer.write(
          SCHEMAS.options,
          (synthetic.secondBars(option, DATE) as ReadonlyArray<WireAgg>).map((b) => row(option, b)),
          path.join(paths.partitionDir("options", DATE), "backfill.parquet")
        )
        const vix = synthetic.secondBars("I:VIX", DATE) as ReadonlyArray<WireIndexAgg>
        yield* writer.write(
          SCHEMAS.vix,
          vix.map((b) => ({
            ticker: "I:VIX",
            window_start_ms: b.t,
            open: b.o,
            high: b.h,
            low: b.l,
            close: b.c + 0.001,
            window_end_ms: null,
            official_open: null,
            source: "rest",
            received_at_ms: 1,
            extra: null
          })),
          path.join(paths.partitionDir("vix", DATE), "backfill.parquet")
        )
        const lake = yield* Effect.acquireRelease(
          Effect.promise(() => makeLakeMarket(root)),
          (m) => Effect.promise(() => m.close())
        )
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startWsServer(lake, fixedClock(OPEN, "max"), { faults: { replayUntilMs: CLOSE } })),
          (s) => Effect.promise(() => s.close())
        )
        const subs = {
          stocks: "A.SPY,AM.SPY",
          options: `A.${option},AM.${option}`,
          indices: "A.I:VIX,AM.I:VIX,V.I:VIX"
        }
        const received = yield* Effect.promise(() =>
          Promise.all(
            Object.entries(subs).map(async ([cluster, params]) => {
              const r = new Recorder(`ws://127.0.0.1:${server.port}/${cluster}`)
              await r.opened
              r.send({ action: "auth", params: "k" })
              r.send({ action: "subscribe", params })
              await r.until(() => r.messages.some((m) => m["e"] === CLOSE && m["ev"] === "AM"), 60_000)
              r.ws.terminate()
              return r.raw
                .filter((f) => !f.startsWith(`[{"ev":"status"`))
                .flatMap((f) => f.slice(1, -1).split(/(?<=\}),(?=\{)/))
            })
          )
        )
        for (const [i, sym] of ["SPY", option, "I:VIX"].entries()) {
          const bars = lake.secondBars(sym, DATE)
          assert.strictEqual(bars.length, sym === "I:VIX" ? vix.length : synthetic.secondBars(sym, DATE).length)
          const day = buildTickerDay(sym, bars)
          const minutes = [...new Set(bars.map((b) => b.t - (b.t % 60_000)))]
          const expected = [
            ...bars.map((b) => JSON.stringify(day.second(b.t))),
            ...minutes.map((s) => JSON.stringify(day.minute(s))),
            ...(sym === "I:VIX" ? bars.map((b) => JSON.stringify(day.value(b.t))) : [])
          ].sort()
          assert.deepStrictEqual([...received[i]!].sort(), expected)
        }
        const firstSpy = JSON.parse(received[0]![0]!) as Record<string, number>
        assert.deepStrictEqual([firstSpy["v"], firstSpy["vw"]], [spy[0]!.v + 0.25, spy[0]!.vw + 1 / 3])
      }).pipe(Effect.provide(TestLayer)),
    120_000
  )
})
