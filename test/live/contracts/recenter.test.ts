/**
 * Intraday re-centring (`options.recenter`) on the TestClock, against the fake Polygon server fed
 * by the SyntheticMarket. Every expectation is computed here from the market itself: SPY's bars
 * as the fake delivers them (one frame per minute step), the rule (band from the anchor, cooldown
 * since the last change; the initial anchor is SPY's official open at the open), the day's
 * selection rule around the price (domain/contractSelection.ts, the same one the open uses).
 *
 * - a whole day: the recorded changes are exactly the expected ones (and some moves beyond the
 *   band are held back by the cooldown); each change sends exactly the expected unsubscribe /
 *   subscribe messages (new tickers fill shards with room, then new connections; emptied shards
 *   are unsubscribed and closed); no connection ever holds more than the maximum; a drop of the
 *   options connections right after a change resubscribes the CURRENT set and repairs the gap over
 *   REST, never before a ticker's subscription; the lake holds exactly each contract's bars for
 *   the periods it was subscribed; the added contracts are appended to the day's contract list.
 * - kill -9 after a change (a copy of the data directory taken while streaming) and `live` again
 *   on it: it resubscribes the recorded set, not the open's, keeps the anchor and cooldown, and
 *   the lake is again exactly the periods.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { holidayIndex, nextTradingDay, nyTimeMs } from "../../../src/domain/calendar.js"
import { selectContracts } from "../../../src/domain/contractSelection.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import type { RecenterEntry } from "../../../src/domain/recenter.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import { liveProgram } from "../../../src/programs/live.js"
import { makeSyntheticMarket } from "../../../src/simulator/market/SyntheticMarket.js"
import { loadTestSettings, tempRoot } from "../../helpers/settings.js"
import { fakeRest } from "../fixtures/fakeRest.js"
import { type FakeSocket, FakeServer } from "../fixtures/fakeWs.js"
import { diffLake, type LakeRow, liveTestLayer, readLake, realTick, realWait } from "../fixtures/harness.js"
import * as DuckDb from "../../../src/services/DuckDb.js"

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

const settingsFor = (root: string) =>
  loadTestSettings({
    storage: { root },
    live: { shutdown_before_close_s: -1, idle_timeout_s: 3600, max_subscriptions_per_connection: PER_CONNECTION },
    flush: { interval_s: 300 },
    feeds: { news: { enabled: false } },
    options: {
      strike_band_pct: STRIKE_BAND,
      max_contracts: MAX_CONTRACTS,
      recenter: { enabled: true, band_pct: BAND, cooldown_s: COOLDOWN_MS / 1000 }
    }
  })

const select = (price: number) =>
  selectContracts(market.contracts(DATE), price, EXPIRATION, { bandPct: STRIKE_BAND, maxContracts: MAX_CONTRACTS }).map(
    (c) => c.ticker
  )
const spyBars = market.secondBars("SPY", DATE)

interface Expected {
  /** When the rule fires (the step's Clock time), which is also when the fake server applies the change. */
  readonly t: number
  /** The end of the SPY bar that decided: the first window the new set applies to. */
  readonly window: number
  readonly price: number
  readonly oldAnchor: number
  readonly added: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
  readonly contracts: ReadonlyArray<string>
}

interface RuleState {
  anchor: number
  changedAt: number
  current: ReadonlyArray<string>
}

/**
 * The rule run over SPY as the fake delivers it: SPY is subscribed at `subscribedAt`, and the
 * frame of the step ending at `t` holds the bars of windows [previous step, t − 1 s]; the price
 * is the close of the frame's last bar, decided at `t` (the Clock time the frame is received).
 */
const expectChanges = (state: RuleState, subscribedAt: number, emits: ReadonlyArray<number>) => {
  const changes: Array<Expected> = []
  let held = 0
  let prev = subscribedAt
  for (const t of emits) {
    const frame = spyBars.filter((b) => b.t >= prev && b.t + 1000 <= t)
    prev = t
    if (frame.length === 0) continue
    const price = frame[frame.length - 1]!.c
    const window = frame[frame.length - 1]!.t + 1000
    const beyond = Math.abs(price - state.anchor) > state.anchor * BAND
    if (beyond && t - state.changedAt < COOLDOWN_MS) held++
    if (!beyond || t - state.changedAt < COOLDOWN_MS) continue
    const next = select(price)
    changes.push({
      t,
      window,
      price,
      oldAnchor: state.anchor,
      contracts: next,
      added: next.filter((x) => !state.current.includes(x)),
      dropped: state.current.filter((x) => !next.includes(x))
    })
    Object.assign(state, { anchor: price, changedAt: t, current: next })
  }
  return { changes, held }
}

const steps = (from: number, to: number) => {
  const out: Array<number> = []
  for (let t = from; t <= to; t += 60_000) out.push(t)
  return out
}

const readEntries = (root: string): ReadonlyArray<RecenterEntry> => {
  const file = path.join(root, `raw/contracts/date=${DATE}/recenter.ndjson`)
  if (!fs.existsSync(file)) return []
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as RecenterEntry)
}

const asEntry = (e: Expected): RecenterEntry => ({
  at_ms: e.t,
  at: new Date(e.t).toISOString(),
  window_ms: e.window,
  spy_price: e.price,
  old_anchor: e.oldAnchor,
  new_anchor: e.price,
  added: e.added,
  dropped: e.dropped,
  contracts: e.contracts
})

/** The shards as they should be: drops leave, adds fill shards with room in order, then new shards; emptied shards are unsubscribed and closed. */
class ShardModel {
  shards: Array<Array<string>>
  opened = 0
  closed = 0
  constructor(set: ReadonlyArray<string>) {
    this.shards = []
    for (let i = 0; i < set.length; i += PER_CONNECTION) this.shards.push(set.slice(i, i + PER_CONNECTION))
  }
  /** Per shard touched: its messages as the server sees them, `action:params` (a new shard: its first subscribe). */
  apply(added: ReadonlyArray<string>, dropped: ReadonlyArray<string>): Array<Array<string>> {
    const msgs = this.shards.map((s) => {
      const gone = s.filter((t) => dropped.includes(t))
      return { kept: s.filter((t) => !dropped.includes(t)), gone, sub: [] as Array<string> }
    })
    const queue = [...added]
    for (const m of msgs)
      while (m.kept.length < PER_CONNECTION && queue.length > 0) {
        const t = queue.shift()!
        m.kept.push(t)
        m.sub.push(t)
      }
    const out: Array<Array<string>> = []
    for (const m of msgs) {
      const seq: Array<string> = []
      if (m.gone.length > 0) seq.push(`unsubscribe:${m.gone.map((t) => `A.${t}`).join(",")}`)
      if (m.sub.length > 0) seq.push(`subscribe:${m.sub.map((t) => `A.${t}`).join(",")}`)
      if (seq.length > 0) out.push(seq)
    }
    this.closed += msgs.filter((m) => m.kept.length === 0).length
    this.shards = msgs.map((m) => m.kept).filter((s) => s.length > 0)
    while (queue.length > 0) {
      this.opened++
      const s = queue.splice(0, PER_CONNECTION)
      this.shards.push(s)
      out.push([`subscribe:${s.map((t) => `A.${t}`).join(",")}`])
    }
    return out
  }
}

/** After the open (+2 s): the options connections subscribed, the chain loaded and the rule listening. */
const optionsReady = (server: FakeServer, root: string, set: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* realWait(
      () => optionSockets(server).filter((s) => s.subs.size > 0).length === Math.ceil(set.length / PER_CONNECTION),
      20_000,
      () => "options"
    )
    yield* realWait(
      () => fs.existsSync(path.join(root, `raw/contracts/date=${DATE}/chain.json`)),
      20_000,
      () => "chain"
    )
    for (let i = 0; i < 5; i++) yield* realTick
  })

const optionSockets = (server: FakeServer) => server.sockets.filter((s) => s.url.endsWith("/options"))
const controlsAt = (server: FakeServer, atMs: number) =>
  optionSockets(server)
    .map((s) => s.controls.filter((c) => c.atMs === atMs).map((c) => `${c.action}:${c.params.join(",")}`))
    .filter((seq) => seq.length > 0)
const sortSeqs = (seqs: Array<Array<string>>) => seqs.map((s) => JSON.stringify(s)).sort()
/** What the open options sockets are subscribed to, as a sorted list. */
const subscribedNow = (server: FakeServer) =>
  optionSockets(server)
    .filter((s) => !s.closed)
    .flatMap((s) => [...s.subs.keys()])
    .sort()
/** The largest number of subscriptions any options socket held at any time. */
const maxHeld = (sockets: ReadonlyArray<FakeSocket>) =>
  Math.max(
    ...sockets.map((s) => {
      const held = new Set<string>()
      let max = 0
      for (const c of s.controls) {
        for (const p of c.params) c.action === "subscribe" ? held.add(p) : held.delete(p)
        max = Math.max(max, held.size)
      }
      return max
    })
  )

type Period = readonly [number, number]
/**
 * Per ticker, the window-start periods [from, until) it was subscribed: an added ticker from the
 * window after the deciding SPY bar (what the stream did not carry from there, REST did); a
 * dropped one until the server applied the unsubscribe (here the step's time: what it had sent
 * until then is in the lake, genuine bars).
 */
const periodsOf = (openSet: ReadonlyArray<string>, changes: ReadonlyArray<Expected>, end: number) => {
  const periods = new Map<string, Array<[number, number]>>()
  const open = new Map<string, number>(openSet.map((t) => [t, OPEN]))
  for (const c of changes) {
    for (const t of c.dropped) {
      const p = periods.get(t) ?? []
      p.push([open.get(t)!, c.t])
      periods.set(t, p)
      open.delete(t)
    }
    for (const t of c.added) open.set(t, c.window)
  }
  for (const [t, from] of open) periods.set(t, [...(periods.get(t) ?? []), [from, end]])
  return periods as Map<string, ReadonlyArray<Period>>
}

/** Lake vs the market over each ticker's periods: exact set, values, no duplicates. */
const diffPeriods = (
  rows: ReadonlyArray<LakeRow>,
  periods: ReadonlyMap<string, ReadonlyArray<Period>>,
  until = (_t: string) => Infinity
) => {
  const byTicker = new Map<string, Array<LakeRow>>()
  for (const r of rows) byTicker.set(r.ticker, [...(byTicker.get(r.ticker) ?? []), r])
  const total = { expected: 0, rows: 0, missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
  for (const t of new Set([...periods.keys(), ...byTicker.keys()])) {
    const ps = periods.get(t) ?? []
    const d = diffLake(
      byTicker.get(t) ?? [],
      market,
      [t],
      DATE,
      (s) => s <= until(t) && ps.some(([a, b]) => s >= a && s < b)
    )
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += d[k]
  }
  return total
}

const readContractsParquet = (file: string) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    db.query<{ ticker: string; open_price: number; moneyness_rank: bigint; as_of: string; source: string }>(
      `SELECT ticker, open_price, moneyness_rank, as_of, source FROM read_parquet('${file}') ORDER BY ticker`
    )
  ).pipe(Effect.provide(DuckDb.layer()))

describe("live: intraday re-centring", () => {
  it.scoped(
    "a day: exactly the expected changes, messages, shards, gap repair and lake",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-"))
        const settings = yield* Effect.promise(() => settingsFor(root))
        const rest = fakeRest(market)
        const server = new FakeServer(market, DATE)
        const { layer, rec } = liveTestLayer(settings, rest.service, server.connect)
        const start = nyTimeMs(DATE, 9, 29)
        const openSet = select(market.officialOpen(DATE))
        const emits = steps(start + 60_000, CLOSE)
        const { changes, held } = expectChanges(
          { anchor: market.officialOpen(DATE), changedAt: OPEN, current: openSet },
          start,
          emits
        )
        // Anti-vacuity: several changes, with adds, drops, a new connection and a closed one; moves held back by the cooldown.
        assert.isAtLeast(changes.length, 5)
        assert.isAbove(held, 0)
        for (let i = 1; i < changes.length; i++) assert.isAtLeast(changes[i]!.t - changes[i - 1]!.t, COOLDOWN_MS)
        // The options connections drop right after the first change: its added tickers have no bar yet.
        const dropAt = changes[0]!.t

        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(liveProgram().pipe(Effect.provide(layer)))
        yield* realWait(
          () => server.open().filter((s) => s.subs.size > 0).length >= 2,
          20_000,
          () => "spy, vix"
        )

        const model = new ShardModel(openSet)
        const expectedMessages: Array<Array<Array<string>>> = []
        let resubscribed: Array<Array<string>> | undefined
        for (const t of emits) {
          yield* TestClock.adjust("60 seconds")
          if (t === OPEN + 60_000) yield* optionsReady(server, root, openSet)
          if (t === dropAt + 60_000) {
            // The dropped connections are back (backoff < 1 s), subscribed from the server's time after the outage.
            yield* realWait(
              () =>
                optionSockets(server).filter((s) => !s.closed && s.authed && s.subs.size > 0).length ===
                model.shards.length
            )
          }
          server.emitUntil(t)
          const k = changes.findIndex((c) => c.t === t)
          if (k >= 0) {
            const c = changes[k]!
            expectedMessages.push(model.apply(c.added, c.dropped))
            yield* realWait(
              () =>
                readEntries(root).length === k + 1 &&
                JSON.stringify(subscribedNow(server)) === JSON.stringify([...c.contracts].sort()) &&
                optionSockets(server)
                  .filter((s) => !s.closed)
                  .every((s) => s.authed && s.subs.size > 0),
              20_000,
              () => `change ${k} at ${new Date(t).toISOString()}`
            )
          }
          if (t === dropAt) {
            // The options connections drop; their 90 s away are lost on the socket and come back over REST.
            for (const s of optionSockets(server).filter((x) => !x.closed)) s.close(1006)
            server.nowMs = t + 90_000
            resubscribed = model.shards.map((s) => [`subscribe:${s.map((x) => `A.${x}`).join(",")}`])
          }
          yield* realTick
        }
        yield* TestClock.adjust("60 seconds") // past the stop (the close + 1 s)
        const outcome = yield* Fiber.join(fiber)
        assert.deepStrictEqual(outcome, { _tag: "Streamed", date: DATE, endOfDay: true })

        // The log: exactly the expected changes.
        assert.deepStrictEqual(readEntries(root), changes.map(asEntry))
        // The messages of each change, per connection; new connections subscribe their shard.
        changes.forEach((c, k) =>
          assert.deepStrictEqual(sortSeqs(controlsAt(server, c.t)), sortSeqs(expectedMessages[k]!), `change ${k}`)
        )
        assert.isTrue(
          expectedMessages.some((m) => m.some((seq) => seq[0]!.startsWith("unsubscribe") && seq.length === 2))
        ) // unsubscribe + subscribe on one connection
        assert.deepStrictEqual([model.opened > 0, model.closed > 0], [true, true]) // new connections were opened, emptied ones closed
        // The reconnects after the drop subscribed the CURRENT set (not the open's), one shard each.
        assert.deepStrictEqual(sortSeqs(controlsAt(server, dropAt + 90_000)), sortSeqs(resubscribed!))
        assert.notDeepEqual([...changes[0]!.contracts].sort(), [...openSet].sort())
        assert.isAtMost(maxHeld(optionSockets(server)), PER_CONNECTION)
        // Every unsubscribe/subscribe after the open came from a change, a reconnect or the open itself.
        const times = new Set(optionSockets(server).flatMap((s) => s.controls.map((c) => c.atMs)))
        assert.deepStrictEqual([...times].sort(), [OPEN, ...changes.map((c) => c.t), dropAt + 90_000].sort())

        // The lake: each contract's bars for exactly the periods it was subscribed.
        const periods = periodsOf(openSet, changes, CLOSE)
        const d = diffPeriods(yield* readLake(root, "options", DATE), periods)
        assert.deepStrictEqual(
          { ...d, expected: undefined, rows: undefined },
          { expected: undefined, rows: undefined, missing: 0, duplicates: 0, wrong: 0, spurious: 0 }
        )
        assert.strictEqual(d.rows, d.expected)
        assert.isAbove(d.expected, 1000)
        for (const [feed, ticker] of [
          ["spy", "SPY"],
          ["vix", "I:VIX"]
        ] as const) {
          const s = diffLake(yield* readLake(root, feed, DATE), market, [ticker], DATE)
          assert.deepStrictEqual([s.missing, s.duplicates, s.wrong, s.spurious], [0, 0, 0, 0])
        }

        // Gap repair: every REST range of an option lies inside one of its periods (nothing fetched
        // before a subscription or after an unsubscription); the added tickers without a bar before
        // the drop were repaired from their subscription, not from the open.
        const optionCalls = rest.calls.aggs.filter((c) => c.ticker.startsWith("O:") && typeof c.from === "number")
        for (const c of optionCalls) {
          const inside = (periods.get(c.ticker) ?? []).some(([a, b]) => (c.from as number) >= a && (c.to as number) < b)
          assert.isTrue(
            inside,
            `${c.ticker} ${new Date(c.from as number).toISOString()}–${new Date(c.to as number).toISOString()}`
          )
        }
        const first = changes[0]!
        const silent = first.added.filter(
          (t) => !market.secondBars(t, DATE).some((b) => b.t >= first.t && b.t + 1000 <= dropAt)
        )
        assert.isAbove(silent.length, 0)
        for (const t of silent)
          assert.isTrue(
            optionCalls.some((c) => c.ticker === t && c.from === first.window),
            t
          )

        // The day's contract list grows by the contracts first added during the day.
        const listedLater: Array<{ ticker: string; entry: Expected }> = []
        const known = new Set(openSet)
        for (const c of changes)
          for (const t of c.added) if (!known.has(t)) (known.add(t), listedLater.push({ ticker: t, entry: c }))
        assert.isAbove(listedLater.length, 0)
        const contractsJson = JSON.parse(
          fs.readFileSync(path.join(root, `raw/contracts/date=${DATE}/contracts.json`), "utf8")
        ) as {
          contracts: Array<{ ticker: string }>
          added: Array<{ ticker: string; added_at_ms: number; anchor: number; moneyness_rank: number }>
        }
        assert.deepStrictEqual(
          contractsJson.contracts.map((c) => c.ticker),
          openSet
        )
        assert.deepStrictEqual(
          contractsJson.added.map((a) => [a.ticker, a.added_at_ms, a.anchor, a.moneyness_rank]),
          listedLater.map((l) => [l.ticker, l.entry.t, l.entry.price, l.entry.contracts.indexOf(l.ticker)])
        )
        // The day's contract file holds the open set and, merged in, the contracts re-centring added.
        const contractRows = yield* readContractsParquet(path.join(root, `raw/contracts/date=${DATE}/day.parquet`))
        assert.deepStrictEqual(
          contractRows
            .filter((r) => openSet.includes(r.ticker))
            .map((r) => r.ticker)
            .sort(),
          [...openSet].sort()
        )
        const parquet = contractRows.filter((r) => !openSet.includes(r.ticker))
        assert.deepStrictEqual(
          parquet.map((r) => [r.ticker, r.open_price, Number(r.moneyness_rank), r.as_of, r.source]),
          [...listedLater]
            .sort((a, b) => a.ticker.localeCompare(b.ticker))
            .map((l) => [l.ticker, l.entry.price, l.entry.contracts.indexOf(l.ticker), DATE, "rest"])
        )
        assert.strictEqual(rec.alerts.length, 0)
      }),
    { timeout: 180_000 }
  )

  it.scoped(
    "kill -9 after a change, `live` again: the recorded set is resubscribed (not the open's), anchor and cooldown kept, lake exact",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-crash-"))
        const crashed = `${root}-crashed`
        const start = nyTimeMs(DATE, 9, 29)
        const openSet = select(market.officialOpen(DATE))
        const state: RuleState = { anchor: market.officialOpen(DATE), changedAt: OPEN, current: openSet }
        const full = expectChanges({ ...state }, start, steps(start + 60_000, CLOSE)).changes
        const crashAt = full[1]!.t + 60_000 // a minute after the second change
        const restartAt = crashAt + 60_000
        const end = full[2]!.t + 5 * 60_000 // five minutes after the third
        const run1 = expectChanges(state, start, steps(start + 60_000, crashAt)).changes
        const run2 = expectChanges(state, restartAt, steps(restartAt + 60_000, end)).changes
        assert.strictEqual(run1.length, 2)
        assert.strictEqual(run2.length, 1)

        // First run: streams, the copy taken a minute after the second change is what kill -9 leaves.
        {
          const settings = yield* Effect.promise(() => settingsFor(root))
          const server = new FakeServer(market, DATE)
          yield* TestClock.setTime(start)
          server.nowMs = start
          const fiber = yield* Effect.fork(
            liveProgram().pipe(Effect.provide(liveTestLayer(settings, fakeRest(market).service, server.connect).layer))
          )
          yield* realWait(() => server.open().filter((s) => s.subs.size > 0).length >= 2)
          for (const t of steps(start + 60_000, crashAt)) {
            yield* TestClock.adjust("60 seconds")
            if (t === OPEN + 60_000) yield* optionsReady(server, root, openSet)
            server.emitUntil(t)
            const k = run1.findIndex((c) => c.t === t)
            if (k >= 0)
              yield* realWait(
                () =>
                  readEntries(root).length === k + 1 &&
                  JSON.stringify(subscribedNow(server)) === JSON.stringify([...run1[k]!.contracts].sort())
              )
            yield* realTick
          }
          fs.cpSync(root, crashed, { recursive: true })
          yield* Fiber.interrupt(fiber)
        }
        const cp = JSON.parse(fs.readFileSync(checkpointFile(crashed, "options", DATE), "utf8")) as LiveCheckpoint
        assert.isBelow(cp.offset, fs.statSync(path.join(crashed, "journal/options", `${DATE}.ndjson`)).size) // a journal tail to replay
        assert.deepStrictEqual(readEntries(crashed), run1.map(asEntry))

        // Second run on the crashed copy.
        const settings = yield* Effect.promise(() => settingsFor(crashed))
        const server = new FakeServer(market, DATE)
        const rest = fakeRest(market)
        yield* TestClock.setTime(restartAt)
        server.nowMs = restartAt
        const fiber = yield* Effect.fork(
          liveProgram().pipe(Effect.provide(liveTestLayer(settings, rest.service, server.connect).layer))
        )
        const current = run1[1]!.contracts
        yield* realWait(
          () => server.open().filter((s) => s.subs.size > 0).length >= 2 + Math.ceil(current.length / PER_CONNECTION)
        )
        // Resubscribed: the recorded set, sharded, not the open's.
        const model = new ShardModel(current)
        assert.deepStrictEqual(
          sortSeqs(controlsAt(server, restartAt)),
          sortSeqs(model.shards.map((s) => [`subscribe:${s.map((x) => `A.${x}`).join(",")}`]))
        )
        assert.notDeepEqual([...current].sort(), [...openSet].sort())
        yield* realWait(() => fs.existsSync(path.join(crashed, `raw/contracts/date=${DATE}/chain.json`)))
        for (let i = 0; i < 5; i++) yield* realTick
        for (const t of steps(restartAt + 60_000, end)) {
          yield* TestClock.adjust("60 seconds")
          server.emitUntil(t)
          const k = run2.findIndex((c) => c.t === t)
          if (k >= 0) {
            const expected = model.apply(run2[k]!.added, run2[k]!.dropped)
            yield* realWait(
              () =>
                readEntries(crashed).length === run1.length + k + 1 &&
                JSON.stringify(subscribedNow(server)) === JSON.stringify([...run2[k]!.contracts].sort())
            )
            assert.deepStrictEqual(sortSeqs(controlsAt(server, t)), sortSeqs(expected))
          }
          yield* realTick
        }
        yield* Fiber.interrupt(fiber)
        // The restart told gap repair since when each re-centred ticker is covered (before its connections' markers).
        const journal = fs.readFileSync(path.join(crashed, "journal/options", `${DATE}.ndjson`), "utf8").split("\n")
        const resume = journal.findIndex((l) => l.startsWith(`["M",${restartAt},{"conn":"recenter"`))
        assert.isAbove(resume, 0)
        const marker = JSON.parse(journal[resume]!)[2] as {
          subscriptions: { added: Record<string, number>; dropped: Record<string, number> }
        }
        const addedAt = new Map<string, number>()
        const droppedAt = new Map<string, number>()
        for (const c of run1) {
          for (const t of c.dropped) (addedAt.delete(t), droppedAt.set(t, c.window))
          for (const t of c.added) (droppedAt.delete(t), addedAt.set(t, c.window))
        }
        assert.deepStrictEqual(marker.subscriptions, {
          added: Object.fromEntries(addedAt),
          dropped: Object.fromEntries(droppedAt)
        })
        assert.isTrue(journal.slice(resume + 1).some((l) => l.startsWith(`["M",${restartAt},{"conn":"options-0"`)))
        // The resumed anchor and cooldown: the next change is the one the uninterrupted rule makes.
        assert.deepStrictEqual(readEntries(crashed), [...run1, ...run2].map(asEntry))
        assert.deepStrictEqual(run2[0], full[2])

        // The lake: the periods up to the stop; a ticker whose gap after the restart is still open
        // (no bar since: the checkpoint's `pending`, repaired by the next run or at the close) up to it.
        const final = JSON.parse(fs.readFileSync(checkpointFile(crashed, "options", DATE), "utf8")) as LiveCheckpoint
        const d = diffPeriods(
          yield* readLake(crashed, "options", DATE),
          periodsOf(openSet, [...run1, ...run2], end),
          (t) => (final.pending[t] !== undefined ? final.pending[t]! : end - 1000)
        )
        assert.deepStrictEqual([d.missing, d.duplicates, d.wrong, d.spurious], [0, 0, 0, 0])
        assert.isAbove(d.expected, 300)
        // The downtime came back over REST, never from before a ticker's subscription.
        const periods = periodsOf(openSet, [...run1, ...run2], end)
        const calls = rest.calls.aggs.filter((c) => c.ticker.startsWith("O:") && typeof c.from === "number")
        assert.isAbove(calls.length, 0)
        for (const c of calls)
          assert.isTrue(
            (periods.get(c.ticker) ?? []).some(([a, b]) => (c.from as number) >= a && (c.to as number) < b),
            c.ticker
          )
      }),
    { timeout: 180_000 }
  )
})

describe("live: intraday re-centring without the SPY stream", () => {
  it.scoped(
    "polls REST minute bars every min(cooldown, 30 s) and applies the same rule to them",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("live-recenter-poll-"))
        const settings = yield* Effect.promise(() =>
          loadTestSettings({
            storage: { root },
            live: {
              shutdown_before_close_s: -1,
              idle_timeout_s: 3600,
              max_subscriptions_per_connection: PER_CONNECTION
            },
            flush: { interval_s: 300 },
            feeds: { news: { enabled: false }, spy: { enabled: false }, vix: { enabled: false } },
            options: {
              strike_band_pct: STRIKE_BAND,
              max_contracts: MAX_CONTRACTS,
              recenter: { enabled: true, band_pct: BAND, cooldown_s: 600 }
            }
          })
        )
        const base = fakeRest(market)
        // Today's minute bars as a real API serves them: those that have ended by now (Clock).
        const polls: Array<number> = []
        const rest = {
          ...base.service,
          aggs: (r: Parameters<typeof base.service.aggs>[0]) =>
            r.ticker === "SPY" && r.timespan === "minute"
              ? Effect.clockWith((clock) => {
                  const now = clock.unsafeCurrentTimeMillis()
                  polls.push(now)
                  return Effect.map(base.service.aggs(r), (bars) =>
                    bars.filter((b) => (b["t"] as number) + 60_000 <= now)
                  )
                })
              : base.service.aggs(r)
        }
        const server = new FakeServer(market, DATE)
        const start = nyTimeMs(DATE, 9, 29)
        const end = nyTimeMs(DATE, 11)
        yield* TestClock.setTime(start)
        server.nowMs = start
        const fiber = yield* Effect.fork(
          liveProgram().pipe(Effect.provide(liveTestLayer(settings, rest, server.connect).layer))
        )
        const openSet = select(market.officialOpen(DATE))
        for (const t of steps(start + 60_000, end)) {
          yield* TestClock.adjust("60 seconds")
          if (t === OPEN + 60_000) yield* optionsReady(server, root, openSet)
          server.emitUntil(t)
          yield* realTick
          // Every poll due by now has run (the first one once the chain is in, just after the open).
          yield* realWait(
            () => (polls.length === 0 ? t <= OPEN + 60_000 : polls.at(-1)! + 30_000 > t),
            20_000,
            () => `poll at ${new Date(t).toISOString()}`
          )
          for (let i = 0; i < 3; i++) yield* realTick
        }
        const subscribedAtEnd = subscribedNow(server)
        yield* Fiber.interrupt(fiber)

        // Polled every 30 s from the first poll on.
        assert.isAbove(polls.length, 100)
        polls.forEach((p, i) => assert.strictEqual(p, polls[0]! + i * 30_000))
        // The rule over what each poll saw: the last ended minute bar, applying from its end.
        const minutes = Effect.runSync(
          base.service.aggs({ ticker: "SPY", timespan: "minute", from: DATE, to: DATE })
        ) as ReadonlyArray<{ t: number; c: number }>
        const state: RuleState = { anchor: market.officialOpen(DATE), changedAt: OPEN, current: openSet }
        const expected: Array<RecenterEntry> = []
        for (const p of polls) {
          const bar = minutes.filter((b) => b.t + 60_000 <= p).at(-1)
          if (bar === undefined) continue
          if (Math.abs(bar.c - state.anchor) <= state.anchor * BAND || p - state.changedAt < 600_000) continue
          const next = select(bar.c)
          expected.push({
            at_ms: p,
            at: new Date(p).toISOString(),
            window_ms: bar.t + 60_000,
            spy_price: bar.c,
            old_anchor: state.anchor,
            new_anchor: bar.c,
            added: next.filter((x) => !state.current.includes(x)),
            dropped: state.current.filter((x) => !next.includes(x)),
            contracts: next
          })
          Object.assign(state, { anchor: bar.c, changedAt: p, current: next })
        }
        assert.isAtLeast(expected.length, 2)
        assert.deepStrictEqual(readEntries(root), expected)
        assert.deepStrictEqual(subscribedAtEnd, [...expected.at(-1)!.contracts].sort())
      }),
    { timeout: 120_000 }
  )
})
