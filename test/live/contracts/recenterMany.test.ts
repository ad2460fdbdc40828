/**
 * Re-centring with several underlyings on the TestClock: SPY and QQQ both `recenter.enabled`, each
 * following its own price from the one /stocks connection. Every expectation is computed here
 * from the market: each underlying's changes are exactly those its rule gives over its own bars
 * (recorded in its own log, `recenter.ndjson` and `recenter-QQQ.ndjson`), each underlying's
 * contracts live on connections of their own (never more than the maximum each), and the lake
 * holds exactly each contract's bars for the periods it was subscribed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { holidayIndex, nextTradingDay, nyTimeMs } from "../../../src/domain/calendar.js"
import { selectContracts } from "../../../src/domain/contractSelection.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import type { RecenterEntry } from "../../../src/domain/recenter.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../fixtures/fakeRest.js"
import { FakeServer } from "../fixtures/fakeWs.js"
import { diffLake, type LakeRow, liveTestLayer, readLake, realTick, realWait } from "../fixtures/harness.js"

const DATE = "2025-10-28"
const market = makeSyntheticMarket(42)
const EXPIRATION = nextTradingDay(DATE, holidayIndex([...nyseHolidays(2025), ...nyseHolidays(2026)]))
const OPEN = nyTimeMs(DATE, 9, 30)
const CLOSE = nyTimeMs(DATE, 16)
const STRIKE_BAND = 0.004
const MAX_CONTRACTS = 12
const BAND = 0.002
const COOLDOWN_MS = 1_200_000
const PER_CONNECTION = 4
const UNDERLYINGS = ["SPY", "QQQ"] as const
type Underlying = (typeof UNDERLYINGS)[number]
const LOG: Record<Underlying, string> = { SPY: "recenter.ndjson", QQQ: "recenter-QQQ.ndjson" }

const rule = { strike_band_pct: STRIKE_BAND, max_contracts: MAX_CONTRACTS }
const recenter = { enabled: true, band_pct: BAND, cooldown_s: COOLDOWN_MS / 1000 }

const select = (u: Underlying, price: number) =>
  selectContracts(market.contracts(DATE, u), price, EXPIRATION, {
    bandPct: STRIKE_BAND,
    maxContracts: MAX_CONTRACTS
  }).map((c) => c.ticker)

interface Change {
  readonly t: number
  readonly window: number
  readonly price: number
  readonly added: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
  readonly contracts: ReadonlyArray<string>
}

/** The rule over `u`'s bars as the fake delivers them (one frame per minute step, priced by its last bar). */
const expectChanges = (u: Underlying, subscribedAt: number, emits: ReadonlyArray<number>) => {
  const bars = market.secondBars(u, DATE)
  let anchor = market.officialOpen(DATE, u)
  let changedAt = OPEN
  let current = select(u, anchor)
  const open = current
  const changes: Array<Change> = []
  let prev = subscribedAt
  for (const t of emits) {
    const frame = bars.filter((b) => b.t >= prev && b.t + 1000 <= t)
    prev = t
    if (frame.length === 0) continue
    const price = frame[frame.length - 1]!.c
    if (Math.abs(price - anchor) <= anchor * BAND || t - changedAt < COOLDOWN_MS) continue
    const next = select(u, price)
    changes.push({
      t,
      window: frame[frame.length - 1]!.t + 1000,
      price,
      contracts: next,
      added: next.filter((x) => !current.includes(x)),
      dropped: current.filter((x) => !next.includes(x))
    })
    ;[anchor, changedAt, current] = [price, t, next]
  }
  return { open, changes }
}

/** Per ticker, the window-start periods [from, until) it was subscribed. */
const periodsOf = (openSet: ReadonlyArray<string>, changes: ReadonlyArray<Change>, end: number) => {
  const periods = new Map<string, Array<[number, number]>>()
  const open = new Map<string, number>(openSet.map((t) => [t, OPEN]))
  for (const c of changes) {
    for (const t of c.dropped) {
      periods.set(t, [...(periods.get(t) ?? []), [open.get(t)!, c.t]])
      open.delete(t)
    }
    for (const t of c.added) open.set(t, c.window)
  }
  for (const [t, from] of open) periods.set(t, [...(periods.get(t) ?? []), [from, end]])
  return periods
}

const readEntries = (root: string, u: Underlying): ReadonlyArray<RecenterEntry> => {
  const file = path.join(root, `raw/contracts/date=${DATE}`, LOG[u])
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as RecenterEntry)
}

describe("live: re-centring several underlyings", () => {
  it.scoped(
    "SPY and QQQ each follow their own price, on their own connections: exact changes, logs and lake",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-many-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            live: {
              shutdown_before_close_s: -1,
              idle_timeout_s: 3600,
              max_subscriptions_per_connection: PER_CONNECTION
            },
            flush: { interval_s: 300 },
            feeds: { news: { enabled: false } },
            underlyings: UNDERLYINGS.map((ticker) => ({ ticker, ...rule, recenter }))
          })
        )
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, rest.service, server.connect)
        const start = nyTimeMs(DATE, 9, 29)
        const emits: Array<number> = []
        for (let t = start + 60_000; t <= CLOSE; t += 60_000) emits.push(t)
        const want = Object.fromEntries(UNDERLYINGS.map((u) => [u, expectChanges(u, start, emits)])) as Record<
          Underlying,
          ReturnType<typeof expectChanges>
        >
        for (const u of UNDERLYINGS) assert.isAtLeast(want[u].changes.length, 2, u) // anti-vacuity

        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        yield* realWait(
          () => server.open().filter((s) => s.subs.size > 0).length >= 2,
          20_000,
          () => "spy, vix"
        )
        const optionSockets = () => server.sockets.filter((s) => s.url.endsWith("/options"))
        for (const t of emits) {
          yield* TestClock.adjust("60 seconds")
          if (t === OPEN + 60_000)
            yield* realWait(
              () =>
                optionSockets().filter((s) => s.subs.size > 0).length ===
                  UNDERLYINGS.reduce((n, u) => n + Math.ceil(want[u].open.length / PER_CONNECTION), 0) &&
                fs.existsSync(path.join(root, `raw/contracts/date=${DATE}/chain-QQQ.json`)) &&
                fs.existsSync(path.join(root, `raw/contracts/date=${DATE}/chain.json`)),
              20_000,
              () => "options"
            )
          server.emitUntil(t)
          for (const u of UNDERLYINGS) {
            const k = want[u].changes.findIndex((c) => c.t === t)
            if (k >= 0)
              yield* realWait(
                () => readEntries(root, u).length === k + 1,
                20_000,
                () => `${u} change ${k}`
              )
          }
          yield* realTick
        }
        yield* TestClock.adjust("60 seconds")
        assert.deepStrictEqual(yield* Fiber.join(fiber), { _tag: "Streamed", date: DATE, endOfDay: true })

        // Each log: exactly its underlying's changes.
        for (const u of UNDERLYINGS)
          assert.deepStrictEqual(
            readEntries(root, u).map((e) => [e.at_ms, e.window_ms, e.new_anchor, e.added, e.dropped, e.contracts]),
            want[u].changes.map((c) => [c.t, c.window, c.price, c.added, c.dropped, c.contracts]),
            u
          )
        // Each connection only ever carried one underlying's contracts, at most PER_CONNECTION at once.
        for (const s of optionSockets()) {
          const held = new Set<string>()
          const owners = new Set<string>()
          for (const c of s.controls)
            for (const p of c.params) {
              owners.add(p.slice("A.O:".length, "A.O:".length + 3))
              if (c.action === "subscribe") held.add(p)
              else held.delete(p)
              assert.isAtMost(held.size, PER_CONNECTION)
            }
          assert.strictEqual(owners.size, 1, [...owners].join(","))
        }

        // The lake: each contract's bars for exactly the periods it was subscribed.
        const periods = new Map(
          UNDERLYINGS.flatMap((u) => [...periodsOf(want[u].open, want[u].changes, CLOSE)])
        ) as ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>
        const rows = yield* readLake(root, "options", DATE)
        const byTicker = new Map<string, Array<LakeRow>>()
        for (const r of rows) byTicker.set(r.ticker, [...(byTicker.get(r.ticker) ?? []), r])
        const total = { expected: 0, rows: 0, missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
        for (const t of new Set([...periods.keys(), ...byTicker.keys()])) {
          const ps = periods.get(t) ?? []
          const d = diffLake(byTicker.get(t) ?? [], market, [t], DATE, (s) => ps.some(([a, b]) => s >= a && s < b))
          for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += d[k]
        }
        assert.deepStrictEqual(
          { ...total, expected: 0, rows: 0 },
          { expected: 0, rows: 0, missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
        )
        assert.strictEqual(total.rows, total.expected)
        assert.isTrue(rows.some((r) => r.ticker.startsWith("O:QQQ")) && rows.some((r) => r.ticker.startsWith("O:SPY")))
        const s = diffLake(yield* readLake(root, "spy", DATE), market, UNDERLYINGS, DATE)
        assert.deepStrictEqual([s.missing, s.duplicates, s.wrong, s.spurious], [0, 0, 0, 0])
        // QQQ's added contracts go to its own contract list.
        const qqq = JSON.parse(
          fs.readFileSync(path.join(root, `raw/contracts/date=${DATE}/contracts-QQQ.json`), "utf8")
        ) as { added?: Array<{ ticker: string }> }
        const firstAdded = [...new Set(want.QQQ.changes.flatMap((c) => c.added))].filter(
          (t) => !want.QQQ.open.includes(t)
        )
        assert.deepStrictEqual(
          (qqq.added ?? []).map((a) => a.ticker),
          firstAdded
        )
        assert.strictEqual(rec.alerts.length, 0)
      }),
    { timeout: 240_000 }
  )
})
