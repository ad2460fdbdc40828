/**
 * News while live (src/live/news/NewsPoller.ts) against the in-process simulator over real HTTP, on
 * the TestClock: the simulator's clock is the test's (it serves only articles published up to
 * simulated now), so every poll's answer is known exactly. Polls every 30 s from the open to the
 * close, with a restart at noon (cursor read back from disk). Exact expectations:
 * - each poll asks `published_utc.gt` = the latest `published_utc` seen so far (the first one
 *   the configured `since`), ticker SPY, ascending;
 * - articles the API sends again (here: the boundary articles of the previous answer, re-sent by
 *   a wrapper as a server with inclusive bounds would) are not written twice: every id once in
 *   the rows committed (before compaction) and in the compacted partition;
 * - the news partition equals the simulator's SPY articles published in (since, last poll].
 */
import { assert, describe, it } from "@effect/vitest"
import { FetchHttpClient } from "@effect/platform"
import { Chunk, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { pollNews } from "../../../src/live/news/NewsPoller.js"
import { recorder } from "../../../src/live/telemetry.js"
import * as DuckDb from "../../../src/services/DuckDb.js"
import * as ParquetWriter from "../../../src/services/ParquetWriter.js"
import { PolygonRest, type PolygonRestService, type RawItem } from "../../../src/services/polygon/PolygonRest.js"
import * as PolygonRestLive from "../../../src/services/polygon/PolygonRestLive.js"
import * as SchemaDrift from "../../../src/services/SchemaDrift.js"
import { startSimulator } from "../../../src/simulator/server.js"
import type { SimClock } from "../../../src/simulator/SimClock.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { realWait } from "../fixtures/harness.js"
import { CLEAN_LAYOUT, lakeLayout } from "../../helpers/lakeLayout.js"

const SEED = 11
const DATE = "2025-10-28"
const KEY = "news-test-key"
const OPEN = nyTimeMs(DATE, 9, 30)
const NOON = nyTimeMs(DATE, 12, 0)
const CLOSE = nyTimeMs(DATE, 16, 0)
const INTERVAL_MS = 30_000
/** As programs/live.ts: 6.5 h before the open. */
const SINCE = new Date(OPEN - 6.5 * 3600_000).toISOString()

describe("live news poller against the simulator", () => {
  it.scoped(
    "polls published_utc.gt the last seen, dedupes by id, writes exactly the simulator's articles of the span (restart at noon)",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-news-"))
        const settings = yield* Effect.promise(() => loadTestSettings({ storage: { root } }))
        // The simulator's "now" is whatever the test says it is.
        let simNow = OPEN
        const clock: SimClock = { startMs: OPEN, speed: 1, now: () => simNow }
        const sim = yield* Effect.acquireRelease(
          Effect.promise(() => startSimulator({ port: 0, seed: SEED, apiKey: KEY, clock })),
          (s) => Effect.promise(() => s.close())
        )
        const real = yield* PolygonRestLive.make({
          baseUrl: sim.url,
          apiKey: Redacted.make(KEY),
          retry: { ...settings.retry, requestTimeoutMs: 7_000 },
          maxConcurrency: 2,
          pageLimit: 1000
        }).pipe(Effect.provide(FetchHttpClient.layer))

        // Record every query; re-send the boundary articles of the previous answer with the next one.
        const queries: Array<Record<string, unknown>> = []
        let previous: ReadonlyArray<RawItem> = []
        let resent = 0
        const rest: PolygonRestService = {
          ...real,
          news: (p) =>
            Effect.map(real.news(p), (items) => {
              queries.push({ ...p })
              const last = previous.length === 0 ? undefined : previous[previous.length - 1]!["published_utc"]
              const again = previous.filter((a) => a["published_utc"] === last)
              resent += again.length
              if (items.length > 0) previous = items
              return [...again, ...items]
            })
        }
        const rec = recorder()
        const layer = Layer.mergeAll(
          Layer.succeed(PolygonRest, rest),
          ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer())),
          SchemaDrift.layer(root),
          rec.layer
        )
        const cfg = { root, date: DATE, ticker: "SPY", intervalMs: INTERVAL_MS, since: SINCE }

        const waitSleeping = Effect.gen(function* () {
          const deadline = Date.now() + 20_000
          // The schedule's sleep ends one interval from now (the request timeout, 7 s, cannot be mistaken for it).
          while (!Chunk.toReadonlyArray(yield* TestClock.sleeps()).includes(simNow + INTERVAL_MS)) {
            if (Date.now() > deadline) return yield* Effect.die(new Error("the poller never went back to sleep"))
            yield* Effect.promise(() => new Promise<void>((r) => setTimeout(r, 2)))
          }
        })

        /** Run a poller from now to `until`, one poll per interval, waiting (real time) for each poll's HTTP round trip. */
        const run = (until: number) =>
          Effect.gen(function* () {
            const news = yield* pollNews(cfg)
            const fiber = yield* Effect.fork(news.loop)
            for (let polls = rec.totals.frames + 1; ; polls++) {
              yield* realWait(
                () => rec.totals.frames >= polls,
                20_000,
                () => `poll ${polls} at ${new Date(simNow).toISOString()}`
              )
              // The poll is over (Parquet and cursor committed) once the poller sleeps until the next one.
              yield* waitSleeping
              if (simNow + INTERVAL_MS > until) break
              simNow += INTERVAL_MS
              yield* TestClock.adjust(INTERVAL_MS)
            }
            yield* Fiber.interrupt(fiber)
          }).pipe(Effect.provide(layer))

        yield* TestClock.setTime(OPEN)
        yield* run(NOON)
        const cursorFile = path.join(root, "state/live/news", `${DATE}.json`)
        const atNoon = JSON.parse(fs.readFileSync(cursorFile, "utf8")) as { lastPublished: string; seq: number }
        simNow += INTERVAL_MS
        yield* TestClock.adjust(INTERVAL_MS)
        yield* run(CLOSE)
        const lastPoll = simNow

        // The simulator's truth: SPY-tagged articles published in (since, last poll].
        const articles = sim.market.news(DATE).filter((a) => a.tickers.includes("SPY"))
        const expected = articles
          .filter((a) => Date.parse(a.published_utc) > Date.parse(SINCE) && Date.parse(a.published_utc) <= lastPoll)
          .map((a) => ({ id: a.id, published: Date.parse(a.published_utc), title: a.title }))
          .sort((x, y) => x.published - y.published || (x.id < y.id ? -1 : 1))
        assert.isAbove(expected.length, 5)
        assert.isAbove(resent, 0) // the dedupe was exercised
        assert.isTrue(expected.some((a) => a.published < NOON) && expected.some((a) => a.published > NOON)) // both runs wrote

        // Every query: gt the latest published_utc seen before it (the first: since), SPY, ascending.
        const polls = Math.round((NOON - OPEN) / INTERVAL_MS) + 1 + Math.round((CLOSE - NOON) / INTERVAL_MS)
        assert.strictEqual(queries.length, polls)
        let seen = SINCE
        // Polls are contiguous across the restart: poll i is sent at OPEN + i × interval.
        const sentAt = (i: number) => OPEN + i * INTERVAL_MS
        queries.forEach((q, i) => {
          assert.deepStrictEqual(
            { gt: q["published_utc.gt"], ticker: q["ticker"], order: q["order"], sort: q["sort"] },
            { gt: seen, ticker: "SPY", order: "asc", sort: "published_utc" },
            `query ${i}`
          )
          const got = expected.filter((a) => a.published <= sentAt(i))
          if (got.length > 0) seen = articles.find((a) => a.id === got[got.length - 1]!.id)!.published_utc
        })
        const beforeNoon = expected.filter((a) => a.published <= NOON).at(-1)!
        assert.strictEqual(Date.parse(atNoon.lastPublished), beforeNoon.published)
        // Rows committed by the polls: each article once, the re-sent ones never again.
        assert.strictEqual(rec.totals.rows, expected.length)

        // The lake: the day file only, every id once, exactly the expected articles.
        const dir = path.join(root, "raw/news", `date=${DATE}`)
        assert.deepStrictEqual(
          fs.readdirSync(dir).filter((f) => f.endsWith(".parquet")),
          ["day.parquet"]
        )
        assert.deepStrictEqual(yield* Effect.promise(() => lakeLayout(root, "news", DATE)), CLEAN_LAYOUT)
        const rows = yield* Effect.flatMap(DuckDb.DuckDb, (db) =>
          db.query<{ id: string; p: number; title: string }>(
            `SELECT id, published_utc_ms::DOUBLE AS p, title FROM read_parquet('${dir}/*.parquet')`
          )
        ).pipe(Effect.provide(DuckDb.layer()))
        const got = rows
          .map((r) => ({ id: r.id, published: r.p, title: r.title }))
          .sort((x, y) => x.published - y.published || (x.id < y.id ? -1 : 1))
        assert.deepStrictEqual(got, expected)
        assert.strictEqual(rec.totals.errors, 0)
        // REST-polled: its heartbeat says `polling` after every successful poll, never a socket state
        assert.deepStrictEqual([...new Set(rec.states.map((s) => `${s.source}:${s.state}`))], ["news:polling"])
        assert.strictEqual(rec.states.length, rec.totals.frames)
      }),
    { timeout: 90_000 }
  )
})
