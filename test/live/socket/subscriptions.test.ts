/**
 * The pieces of re-centring below the live program: the shard planner, a LiveShard's messages,
 * the gap-repair subscription markers, the log's torn-tail handling and the SPY price tap.
 */
import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import * as GapRepair from "../../../src/live/writer/GapRepair.js"
import { SCHEMAS } from "../../../src/domain/feeds.js"
import { ingestEntries, makeContext, newBatch, type IngestContext } from "../../../src/live/writer/ingest.js"
import type { JournalEntry } from "../../../src/live/journal/journalLines.js"
import { appendEntry, parseLog, readLog, recenterFiles } from "../../../src/live/contracts/recenterLog.js"
import { onSubscriptionMarker, subscriptionMarker } from "../../../src/live/contracts/recenterRepair.js"
import { latestBar, makeSpyPrices } from "../../../src/live/contracts/spyPrice.js"
import { LiveShard, planShards } from "../../../src/live/socket/liveShards.js"
import type { JournalHandle } from "../../../src/live/journal/Journal.js"
import type { RecenterEntry } from "../../../src/domain/recenter.js"
import { tempRoot } from "../../helpers/settings.js"

const ids = (start: number) => {
  let n = start
  return () => `options-${n++}`
}

describe("planShards", () => {
  it("drops leave their shard, adds fill shards with room in order, the rest open new shards of at most max", () => {
    const shards = [
      { id: "options-0", tickers: ["a", "b", "c"] },
      { id: "options-1", tickers: ["d", "e", "f"] },
      { id: "options-2", tickers: ["g"] }
    ]
    const plan = planShards(shards, ["h", "i", "j", "k", "l", "m", "n", "o"], ["b", "e", "f"], 3, ids(3))
    expect(plan).toEqual({
      shards: [
        { id: "options-0", tickers: ["a", "c", "h"] },
        { id: "options-1", tickers: ["d", "i", "j"] },
        { id: "options-2", tickers: ["g", "k", "l"] },
        { id: "options-3", tickers: ["m", "n", "o"] }
      ],
      changes: [
        { id: "options-0", subscribe: ["h"], unsubscribe: ["b"] },
        { id: "options-1", subscribe: ["i", "j"], unsubscribe: ["e", "f"] },
        { id: "options-2", subscribe: ["k", "l"], unsubscribe: [] }
      ],
      opened: [{ id: "options-3", tickers: ["m", "n", "o"] }],
      closed: []
    })
    for (const s of plan.shards) expect(s.tickers.length).toBeLessThanOrEqual(3)
  })

  it("a shard left empty is closed; an unchanged shard is not touched", () => {
    const plan = planShards(
      [
        { id: "options-0", tickers: ["a", "b"] },
        { id: "options-1", tickers: ["c"] }
      ],
      [],
      ["c"],
      2,
      ids(2)
    )
    expect(plan).toEqual({
      shards: [{ id: "options-0", tickers: ["a", "b"] }],
      changes: [],
      opened: [],
      closed: ["options-1"]
    })
  })

  it("an emptied shard with room takes new tickers rather than closing", () => {
    const plan = planShards(
      [
        { id: "options-0", tickers: ["a", "b"] },
        { id: "options-1", tickers: ["c"] }
      ],
      ["x"],
      ["c"],
      2,
      ids(2)
    )
    expect(plan.closed).toEqual([])
    expect(plan.changes).toEqual([{ id: "options-1", subscribe: ["x"], unsubscribe: ["c"] }])
  })
})

describe("LiveShard", () => {
  it("sends nothing until a session attaches; then unsubscribe before subscribe; current() always the set now", () => {
    const shard = new LiveShard("options-0", "A", ["O:X1", "O:X2"])
    expect(shard.apply({ id: "options-0", subscribe: ["O:X3"], unsubscribe: ["O:X1"] })).toEqual([])
    expect(shard.current()).toEqual({ tickers: ["O:X2", "O:X3"], params: ["A.O:X2", "A.O:X3"] })
    const sent: Array<string> = []
    const detach = shard.attach((m) => sent.push(m))
    shard.apply({ id: "options-0", subscribe: ["O:X4", "O:X5"], unsubscribe: ["O:X2"] })
    expect(sent).toEqual([
      '{"action":"unsubscribe","params":"A.O:X2"}',
      '{"action":"subscribe","params":"A.O:X4,A.O:X5"}'
    ])
    detach()
    shard.apply({ id: "options-0", subscribe: [], unsubscribe: ["O:X3"] })
    expect(sent.length).toBe(2)
    expect(shard.current().tickers).toEqual(["O:X4", "O:X5"])
  })
})

const ctx = (repair: GapRepair.RepairState): IngestContext =>
  makeContext({
    feed: "options",
    schema: SCHEMAS.options,
    ev: "A",
    sessionDate: "2025-10-28",
    sessionOpenMs: 1_000_000,
    graceSeconds: 0,
    stepMs: 1000,
    repair,
    driftSeen: new Set()
  })
const marker = (ms: number, data: Record<string, unknown>): JournalEntry => ({ _tag: "Marker", ms, data })

describe("gap repair of changing subscriptions (journal markers)", () => {
  it("an added ticker is covered from its subscription, never from the open: its first bar closes the gap from there", () => {
    const s = GapRepair.makeState()
    ingestEntries(newBatch(), ctx(s), [
      marker(2_000_000, subscriptionMarker({ "O:NEW": 2_000_000, "O:HOT": 2_000_000 }, {}))
    ])
    expect(Object.fromEntries(s.pending)).toEqual({ "O:NEW": 1_999_999, "O:HOT": 1_999_999 })
    GapRepair.onBar(s, "O:HOT", 2_000_000, 1000) // streamed from the change's window: nothing to fetch
    // A reconnect before O:NEW's first bar keeps it pending from its subscription, not from the open.
    ingestEntries(newBatch(), ctx(s), [marker(2_100_500, { conn: "options-0", epoch: 2, tickers: ["O:NEW", "O:HOT"] })])
    expect(Object.fromEntries(s.pending)).toEqual({ "O:NEW": 1_999_999, "O:HOT": 2_000_000 })
    GapRepair.onBar(s, "O:NEW", 2_150_000, 1000)
    // O:NEW from its subscription (fetched: [2 000 000, 2 149 999]); the connection delivers again
    // from 2 150 000, so O:HOT's gap since the reconnect closes there too (fetched: [2 001 000, 2 150 000]).
    expect(s.due).toEqual([
      { ticker: "O:NEW", after: 1_999_999, before: 2_150_000 },
      { ticker: "O:HOT", after: 2_000_000, before: 2_150_001 }
    ])
  })

  it("an addition never lowers what is known: a re-added ticker is covered from its re-addition", () => {
    const s = GapRepair.makeState({ "O:X": 1_500_000 })
    onSubscriptionMarker(s, subscriptionMarker({ "O:X": 3_000_000 }, {}), 1000)
    expect([s.lastStart.get("O:X"), s.pending.get("O:X")]).toEqual([2_999_999, 2_999_999])
    const t = GapRepair.makeState({ "O:Y": 3_500_000 }, { "O:Y": 3_500_000 })
    onSubscriptionMarker(t, subscriptionMarker({ "O:Y": 3_000_000 }, {}), 1000)
    expect([t.lastStart.get("O:Y"), t.pending.get("O:Y")]).toEqual([3_500_000, 3_500_000])
  })

  it("a dropped ticker's open gap is closed at its unsubscription and repaired up to there, not to the close", () => {
    const s = GapRepair.makeState({ "O:A": 1_100_000, "O:B": 1_199_000 }, { "O:A": 1_100_000, "O:B": 1_199_000 })
    onSubscriptionMarker(s, subscriptionMarker({}, { "O:A": 1_200_000, "O:B": 1_200_000, "O:C": 1_200_000 }), 1000)
    expect(s.due).toEqual([{ ticker: "O:A", after: 1_100_000, before: 1_200_000 }]) // O:B: nothing between 1 199 000 and 1 200 000
    expect(s.pending.size).toBe(0)
    GapRepair.closeAll(s, 2_000_000, 1000)
    expect(s.due.length).toBe(1)
  })

  it("other markers are left alone", () => {
    const s = GapRepair.makeState({ "O:A": 5 })
    onSubscriptionMarker(s, { conn: "x" }, 1000)
    onSubscriptionMarker(s, { subscriptions: null }, 1000)
    expect([Object.fromEntries(s.lastStart), s.pending.size, s.due.length]).toEqual([{ "O:A": 5 }, 0, 0])
  })
})

const entry = (at: number): RecenterEntry => ({
  at_ms: at,
  at: new Date(at).toISOString(),
  window_ms: at,
  spy_price: 601,
  old_anchor: 600,
  new_anchor: 601,
  added: ["b"],
  dropped: ["a"],
  contracts: ["b"]
})

describe("gap repair: subscription changes and reconnect groups", () => {
  it("a ticker dropped and re-added is no longer in its old reconnect group: only its own first bar closes its gap", () => {
    const s = GapRepair.makeState({ "O:A": 1_500_000, "O:T": 1_500_000 })
    GapRepair.onMarker(s, ["O:A", "O:T"], 1_000_000) // a reconnect: both open from their last bar
    onSubscriptionMarker(s, subscriptionMarker({}, { "O:T": 1_600_000 }), 1000) // T dropped
    onSubscriptionMarker(s, subscriptionMarker({ "O:T": 2_000_000 }, {}), 1000) // T added again
    GapRepair.onBar(s, "O:A", 2_100_000, 1000) // A's connection delivers again: closes A only
    expect(Object.fromEntries(s.pending)).toEqual({ "O:T": 1_999_999 })
    GapRepair.onBar(s, "O:T", 2_300_000, 1000)
    expect(s.due).toEqual([
      { ticker: "O:T", after: 1_500_000, before: 1_600_000 },
      { ticker: "O:A", after: 1_500_000, before: 2_100_000 },
      { ticker: "O:T", after: 1_999_999, before: 2_300_000 }
    ])
  })
})

describe("recenter.ndjson", () => {
  it("appends whole lines; a torn last line (never applied) is cut off when read back", async () => {
    const root = await tempRoot("recenter-log-")
    await Effect.runPromise(appendEntry(root, "2025-10-28", entry(1)))
    await Effect.runPromise(appendEntry(root, "2025-10-28", entry(2)))
    const file = recenterFiles(root, "2025-10-28").log
    expect(file).toBe(path.join(root, "raw/contracts/date=2025-10-28/recenter.ndjson"))
    const whole = fs.readFileSync(file, "utf8")
    fs.appendFileSync(file, JSON.stringify(entry(3)).slice(0, 40))
    const read = await Effect.runPromise(readLog(root, "2025-10-28"))
    expect(read.entries.map((e) => e.at_ms)).toEqual([1, 2])
    expect(read.torn).toBe(true)
    expect(fs.readFileSync(file, "utf8")).toBe(whole)
    await Effect.runPromise(appendEntry(root, "2025-10-28", entry(4)))
    expect((await Effect.runPromise(readLog(root, "2025-10-28"))).entries.map((e) => e.at_ms)).toEqual([1, 2, 4])
    expect(parseLog("")).toEqual({ entries: [], validBytes: 0, torn: false })
    expect((await Effect.runPromise(readLog(root, "2025-10-29"))).entries).toEqual([])
  })
})

describe("SPY price tap", () => {
  it("the newest SPY A bar of a frame, after the frame is journaled", () => {
    const frame = JSON.stringify([
      { ev: "A", sym: "SPY", s: 2000, c: 600.5 },
      { ev: "A", sym: "SPY", s: 3000, c: 600.7 },
      { ev: "A", sym: "QQQ", s: 4000, c: 500 },
      { ev: "status", status: "success", message: "x" }
    ])
    expect(latestBar(frame, "SPY")).toEqual([3000, 600.7])
    expect(latestBar('[{"ev":"status","status":"auth_success"}]', "SPY")).toBeUndefined()
    expect(latestBar('not json "A"', "SPY")).toBeUndefined()
    const journaled: Array<string> = []
    const journal = {
      file: "f",
      append: (raw: string) => void journaled.push(raw),
      marker: () => {},
      size: () => 0,
      wake: undefined
    } as unknown as JournalHandle
    const prices = makeSpyPrices("SPY")
    const seen: Array<[number, number, boolean]> = []
    prices.listen((p) => seen.push([p.price, p.receivedMs, journaled.length > 0]))
    const tapped = prices.tap(journal)
    tapped.append(frame, 5000)
    tapped.append(JSON.stringify([{ ev: "A", sym: "SPY", s: 1000, c: 1 }]), 5001) // an older bar (a correction) does not move the price
    expect(seen).toEqual([[600.7, 5000, true]])
    expect(journaled.length).toBe(2)
    expect(prices.latest()).toEqual({ price: 600.7, windowStartMs: 3000, receivedMs: 5000 })
  })
})
