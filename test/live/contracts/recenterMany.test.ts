/**
 * Re-centring with several underlyings on the TestClock: SPY and QQQ both `recenter.enabled`, each
 * following its own price from the one /stocks connection. Every expectation is computed here
 * from the market: each underlying's changes are exactly those its rule gives over its own bars
 * (recorded in its own log, `recenter.ndjson` and `recenter-QQQ.ndjson`), each underlying's
 * contracts live on connections of their own (never more than the maximum each), and the lake
 * holds exactly each contract's bars for the periods it was subscribed. Then kill -9 (a copy of
 * the data directory taken while streaming) after both have changed, and `live` again on it: each
 * underlying resubscribes its recorded set, keeps its anchor and cooldown, and logs and lake are
 * again exact to the close.
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

interface RuleState {
  anchor: number
  changedAt: number
  current: ReadonlyArray<string>
}

const openState = (u: Underlying): RuleState => {
  const anchor = market.officialOpen(DATE, u)
  return { anchor, changedAt: OPEN, current: select(u, anchor) }
}

/**
 * The rule over `u`'s bars as the fake delivers them (subscribed at `subscribedAt`, one frame per
 * minute step priced by its last bar), from `state` on (updated).
 */
const expectChanges = (u: Underlying, state: RuleState, subscribedAt: number, emits: ReadonlyArray<number>) => {
  const bars = market.secondBars(u, DATE)
  const changes: Array<Change> = []
  let prev = subscribedAt
  for (const t of emits) {
    const frame = bars.filter((b) => b.t >= prev && b.t + 1000 <= t)
    prev = t
    if (frame.length === 0) continue
    const price = frame[frame.length - 1]!.c
    if (Math.abs(price - state.anchor) <= state.anchor * BAND || t - state.changedAt < COOLDOWN_MS) continue
    const next = select(u, price)
    changes.push({
      t,
      window: frame[frame.length - 1]!.t + 1000,
      price,
      contracts: next,
      added: next.filter((x) => !state.current.includes(x)),
      dropped: state.current.filter((x) => !next.includes(x))
    })
    Object.assign(state, { anchor: price, changedAt: t, current: next })
  }
  return changes
}

const steps = (from: number, to: number) => {
  const out: Array<number> = []
  for (let t = from; t <= to; t += 60_000) out.push(t)
  return out
}

type PerUnderlying<A> = Record<Underlying, A>
const perUnderlying = <A>(f: (u: Underlying) => A) =>
  Object.fromEntries(UNDERLYINGS.map((u) => [u, f(u)])) as PerUnderlying<A>

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

const settingsFor = (root: string) =>
  loadTestSettings({
    storage: { root },
    live: { shutdown_before_close_s: -1, idle_timeout_s: 3600, max_subscriptions_per_connection: PER_CONNECTION },
    flush: { interval_s: 300 },
    feeds: { news: { enabled: false } },
    underlyings: UNDERLYINGS.map((ticker) => ({ ticker, ...rule, recenter }))
  })

const optionSockets = (server: FakeServer) => server.sockets.filter((s) => s.url.endsWith("/options"))
const subscribedNow = (server: FakeServer) =>
  optionSockets(server)
    .filter((s) => !s.closed)
    .flatMap((s) => [...s.subs.keys()])
    .sort()

/**
 * Moves the TestClock over `emits` (one-minute steps), the fake server sending each step's bars;
 * at a step with an expected change, waits until the underlying's log has it (`before`: entries
 * recorded before this run).
 */
const stream = (
  root: string,
  server: FakeServer,
  emits: ReadonlyArray<number>,
  changes: PerUnderlying<ReadonlyArray<Change>>,
  before: PerUnderlying<number>,
  opens: PerUnderlying<ReadonlyArray<string>>
) =>
  Effect.gen(function* () {
    for (const t of emits) {
      yield* TestClock.adjust("60 seconds")
      if (t === OPEN + 60_000)
        yield* realWait(
          () =>
            optionSockets(server).filter((s) => s.subs.size > 0).length ===
              UNDERLYINGS.reduce((n, u) => n + Math.ceil(opens[u].length / PER_CONNECTION), 0) &&
            fs.existsSync(path.join(root, `raw/contracts/date=${DATE}/chain-QQQ.json`)) &&
            fs.existsSync(path.join(root, `raw/contracts/date=${DATE}/chain.json`)),
          20_000,
          () => "options"
        )
      server.emitUntil(t)
      for (const u of UNDERLYINGS) {
        const k = changes[u].findIndex((c) => c.t === t)
        if (k >= 0)
          yield* realWait(
            () => readEntries(root, u).length === before[u] + k + 1,
            20_000,
            () => `${u} change ${k}`
          )
      }
      yield* realTick
    }
  })

/** The options partition against each contract's subscribed periods: exact, no duplicates. */
const assertLakeExact = (root: string, periods: ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>) =>
  Effect.gen(function* () {
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
  })

const allPeriods = (opens: PerUnderlying<ReadonlyArray<string>>, changes: PerUnderlying<ReadonlyArray<Change>>) =>
  new Map(UNDERLYINGS.flatMap((u) => [...periodsOf(opens[u], changes[u], CLOSE)])) as ReadonlyMap<
    string,
    ReadonlyArray<readonly [number, number]>
  >

const logLines = (entries: ReadonlyArray<RecenterEntry>) =>
  entries.map((e) => [e.at_ms, e.window_ms, e.new_anchor, e.added, e.dropped, e.contracts])
const changeLines = (changes: ReadonlyArray<Change>) =>
  changes.map((c) => [c.t, c.window, c.price, c.added, c.dropped, c.contracts])

describe("live: re-centring several underlyings", () => {
  it.scoped(
    "SPY and QQQ each follow their own price, on their own connections: exact changes, logs and lake",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-many-"))
        const settings = yield* Effect.promise(() => settingsFor(root))
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, rest.service, server.connect)
        const start = nyTimeMs(DATE, 9, 29)
        const emits = steps(start + 60_000, CLOSE)
        const states = perUnderlying(openState)
        const opens = perUnderlying((u) => states[u].current)
        const changes = perUnderlying((u) => expectChanges(u, states[u], start, emits))
        for (const u of UNDERLYINGS) assert.isAtLeast(changes[u].length, 2, u) // anti-vacuity

        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        yield* realWait(
          () => server.open().filter((s) => s.subs.size > 0).length >= 2,
          20_000,
          () => "spy, vix"
        )
        yield* stream(root, server, emits, changes, { SPY: 0, QQQ: 0 }, opens)
        yield* TestClock.adjust("60 seconds")
        assert.deepStrictEqual(yield* Fiber.join(fiber), { _tag: "Streamed", date: DATE, endOfDay: true })

        // Each log: exactly its underlying's changes.
        for (const u of UNDERLYINGS) assert.deepStrictEqual(logLines(readEntries(root, u)), changeLines(changes[u]), u)
        // Each connection only ever carried one underlying's contracts, at most PER_CONNECTION at once.
        for (const s of optionSockets(server)) {
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
        yield* assertLakeExact(root, allPeriods(opens, changes))
        const s = diffLake(yield* readLake(root, "spy", DATE), market, UNDERLYINGS, DATE)
        assert.deepStrictEqual([s.missing, s.duplicates, s.wrong, s.spurious], [0, 0, 0, 0])
        // QQQ's added contracts go to its own contract list.
        const qqq = JSON.parse(
          fs.readFileSync(path.join(root, `raw/contracts/date=${DATE}/contracts-QQQ.json`), "utf8")
        ) as { added?: Array<{ ticker: string }> }
        const firstAdded = [...new Set(changes.QQQ.flatMap((c) => c.added))].filter((t) => !opens.QQQ.includes(t))
        assert.deepStrictEqual(
          (qqq.added ?? []).map((a) => a.ticker),
          firstAdded
        )
        assert.strictEqual(rec.alerts.length, 0)
      }),
    { timeout: 240_000 }
  )

  it.scoped(
    "kill -9 after both changed, `live` again: each underlying resumes its own recorded set and rule; logs and lake exact",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-many-crash-"))
        const crashed = `${root}-crashed`
        const start = nyTimeMs(DATE, 9, 29)
        const uninterrupted = perUnderlying((u) => expectChanges(u, openState(u), start, steps(start + 60_000, CLOSE)))
        const crashAt = Math.max(uninterrupted.SPY[0]!.t, uninterrupted.QQQ[0]!.t) + 60_000
        const restartAt = crashAt + 60_000
        const states = perUnderlying(openState)
        const opens = perUnderlying((u) => states[u].current)
        const run1 = perUnderlying((u) => expectChanges(u, states[u], start, steps(start + 60_000, crashAt)))
        const recorded = perUnderlying((u) => states[u].current)
        const run2 = perUnderlying((u) => expectChanges(u, states[u], restartAt, steps(restartAt + 60_000, CLOSE)))
        for (const u of UNDERLYINGS) {
          assert.isAtLeast(run1[u].length, 1, u)
          assert.isAtLeast(run2[u].length, 1, u)
          assert.notDeepEqual(recorded[u], opens[u], u)
        }

        // First run: the copy taken a minute after the later of the two first changes is what kill -9 leaves.
        {
          const server = new FakeServer(market, DATE)
          const settings = yield* Effect.promise(() => settingsFor(root))
          yield* TestClock.setTime(start)
          server.nowMs = start
          const fiber = yield* Effect.fork(
            liveProgram().pipe(Effect.provide(liveTestLayer(settings, fakeRest(market).service, server.connect).layer))
          )
          yield* realWait(() => server.open().filter((s) => s.subs.size > 0).length >= 2)
          yield* stream(root, server, steps(start + 60_000, crashAt), run1, { SPY: 0, QQQ: 0 }, opens)
          fs.cpSync(root, crashed, { recursive: true })
          yield* Fiber.interrupt(fiber)
        }
        for (const u of UNDERLYINGS) assert.deepStrictEqual(logLines(readEntries(crashed, u)), changeLines(run1[u]), u)

        // Second run on the crashed copy, to the close.
        const server = new FakeServer(market, DATE)
        const settings = yield* Effect.promise(() => settingsFor(crashed))
        yield* TestClock.setTime(restartAt)
        server.nowMs = restartAt
        const fiber = yield* Effect.fork(
          liveProgram().pipe(Effect.provide(liveTestLayer(settings, fakeRest(market).service, server.connect).layer))
        )
        const shards = UNDERLYINGS.reduce((n, u) => n + Math.ceil(recorded[u].length / PER_CONNECTION), 0)
        yield* realWait(() => optionSockets(server).filter((s) => s.subs.size > 0).length === shards)
        // Resubscribed: each underlying's recorded set, not its open's.
        assert.deepStrictEqual(subscribedNow(server), UNDERLYINGS.flatMap((u) => recorded[u]).sort())
        yield* realWait(() =>
          ["chain.json", "chain-QQQ.json"].every((f) =>
            fs.existsSync(path.join(crashed, `raw/contracts/date=${DATE}`, f))
          )
        )
        for (let i = 0; i < 5; i++) yield* realTick
        const before = perUnderlying((u) => run1[u].length)
        yield* stream(crashed, server, steps(restartAt + 60_000, CLOSE), run2, before, opens)
        yield* TestClock.adjust("60 seconds")
        assert.deepStrictEqual(yield* Fiber.join(fiber), { _tag: "Streamed", date: DATE, endOfDay: true })

        // Each log: the first run's changes, then those its resumed anchor and cooldown give.
        for (const u of UNDERLYINGS)
          assert.deepStrictEqual(logLines(readEntries(crashed, u)), changeLines([...run1[u], ...run2[u]]), u)
        // The lake: each contract's periods, the downtime repaired over REST.
        yield* assertLakeExact(
          crashed,
          allPeriods(
            opens,
            perUnderlying((u) => [...run1[u], ...run2[u]])
          )
        )
      }),
    { timeout: 240_000 }
  )
})
