/**
 * The frame decoder: a clean event's row equals, column for column, the row the normalizer builds
 * (wsRows.eventToRow) for the same event; every other event comes back parsed, in frame order;
 * a frame that is not a well-formed JSON array is refused as a whole.
 */
import { assert, describe, it } from "@effect/vitest"
import { batchRows } from "../../../src/domain/columnBatch.js"
import { SCHEMAS } from "../../../src/domain/feeds.js"
import { nyTimeMs } from "../../../src/domain/calendar.js"
import { SymbolTable } from "../../../src/lib/symbolTable.js"
import { FrameDecoder } from "../../../src/live/writer/frameDecoder.js"
import { dayBounds } from "../../../src/live/writer/LateData.js"
import { eventToRow, type LiveFeed } from "../../../src/live/writer/wsRows.js"

const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30)
const RECEIVED = 1_761_660_000_123

const decoder = (feed: LiveFeed, ev: "A" | "AM" = "A") => {
  const day = dayBounds(DATE)
  return new FrameDecoder(SCHEMAS[feed], new SymbolTable(), ev, day.startMs, day.endMs)
}

/** Deterministic pseudo-random numbers (LCG). */
const rng = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648

/** A decimal as a feed writes it: an integer (at least `min`) over 10^k, k up to `maxK` (no exponent, at most 16 digits). */
const dec = (r: () => number, min: number, max: number, maxK = 4) =>
  Math.floor(min + r() * (max - min)) / 10 ** Math.floor(r() * (maxK + 1))

const aggEvent = (r: () => number, i: number, sym: string): Record<string, unknown> => {
  const k = 10 ** Math.floor(r() * 5)
  const li = Math.floor(r() * 60_000)
  const l = li / k,
    h = (li + Math.floor(r() * 300)) / k
  const s = OPEN + i * 1000
  return {
    ev: "A",
    sym,
    v: r() < 0.2 ? Math.floor(r() * 1e6) / 8 : Math.floor(r() * 1e6),
    av: Math.floor(r() * 2 ** 53),
    op: dec(r, 0, 58_000),
    vw: dec(r, 1e14, 1e15, 15),
    o: dec(r, 0, 60_000),
    c: -dec(r, 0, 60_000),
    h,
    l,
    a: dec(r, 0, 1e9, 6),
    z: Math.floor(r() * 500),
    s,
    e: s + 1000,
    ...(r() < 0.1 ? { otc: r() < 0.5 } : {})
  }
}
const indexEvent = (r: () => number, i: number): Record<string, unknown> => {
  const li = Math.floor(r() * 3000)
  const s = OPEN + i * 1000
  return {
    ev: "A",
    sym: "I:VIX",
    op: 20.58,
    o: dec(r, 0, 3000, 2),
    c: 0,
    h: (li + 200) / 100,
    l: li / 100,
    s,
    e: s + 1000
  }
}

/** Rows of a decoded frame as objects, in decode order. */
const decodedRows = (d: FrameDecoder, feed: LiveFeed) => batchRows(SCHEMAS[feed], d.frame.rows.toColumnBatch())

const bytes = (text: string) => Buffer.from(text, "utf8")

describe("FrameDecoder", () => {
  for (const feed of ["spy", "options", "vix"] as const) {
    it(`${feed}: clean events decode to exactly the normalizer's rows`, () => {
      const r = rng(feed.length)
      const d = decoder(feed)
      const events = Array.from({ length: 3000 }, (_, i) =>
        feed === "vix" ? indexEvent(r, i) : aggEvent(r, i, feed === "spy" ? "SPY" : `O:SPY251029C00${570 + (i % 7)}000`)
      )
      const frame = bytes(JSON.stringify(events))
      assert.isTrue(d.decode(frame, 0, frame.length, RECEIVED))
      assert.strictEqual(d.frame.objects.length, 0)
      assert.deepStrictEqual(
        d.frame.order,
        events.map((_, i) => i)
      )
      const expected = events.map((e) => {
        const n = eventToRow(e, feed, RECEIVED)
        assert.isTrue(n.ok && n.drift.length === 0)
        return n.ok ? n.row : {}
      })
      const got = decodedRows(d, feed)
      for (let i = 0; i < events.length; i++) {
        for (const col of SCHEMAS[feed].columns)
          assert.strictEqual(got[i]![col.name], expected[i]![col.name] ?? null, `${feed} row ${i} column ${col.name}`)
      }
    })
  }

  it("every event that is not clean comes back parsed, in frame order", () => {
    const d = decoder("spy")
    const r = rng(7)
    const clean = (i: number) => aggEvent(r, i, "SPY")
    const odd: Array<unknown> = [
      { ev: "status", status: "success", message: "subscribed to: A.SPY" },
      { ...clean(1), ev: "AM" },
      { ...clean(2), extra_field: 1 },
      (() => {
        const e = clean(3)
        delete e["vw"]
        return e
      })(),
      { ...clean(4), vw: null },
      { ...clean(5), s: OPEN + 5000.5 },
      { ...clean(6), h: 1, l: 2 },
      { ...clean(7), e: OPEN },
      { ...clean(8), s: nyTimeMs("2025-10-27", 15, 59), e: nyTimeMs("2025-10-27", 15, 59) + 1000 },
      { ...clean(9), s: nyTimeMs("2025-10-29", 9, 30), e: nyTimeMs("2025-10-29", 9, 30) + 1000 },
      { ...clean(10), sym: "SPY\u00e9" },
      { ...clean(11), otc: "yes" },
      { ...clean(12), vw: 0.1 + 0.2 },
      42,
      null,
      ["A"]
    ]
    const events = [clean(0), ...odd, clean(20)]
    const text = JSON.stringify(events)
    // also: an exponent, whitespace inside an event, an escaped symbol, a duplicated key
    const extra = [
      JSON.stringify(clean(30)).replace(/"v":(\d+)/, '"v":$1e0'),
      JSON.stringify(clean(31)).replace('"sym":', '"sym" : '),
      JSON.stringify(clean(32)).replace('"SPY"', '"\\u0053PY"'),
      JSON.stringify(clean(33)).replace('{"ev":"A"', '{"ev":"A","ev":"A"')
    ]
    const frame = bytes(`[${text.slice(1, -1)},${extra.join(",")}]`)
    assert.isTrue(d.decode(frame, 0, frame.length, RECEIVED))
    assert.deepStrictEqual(d.frame.order, [
      0,
      ...odd.map((_, k) => -(k + 1)),
      1,
      ...extra.map((_, k) => -(odd.length + k + 1))
    ])
    assert.deepStrictEqual(d.frame.objects, [...odd, ...extra.map((e) => JSON.parse(e))])
    assert.strictEqual(d.frame.rows.length, 2)
  })

  it("a frame that is not a well-formed JSON array is refused whole", () => {
    const d = decoder("options")
    const r = rng(3)
    const good = JSON.stringify(Array.from({ length: 10 }, (_, i) => aggEvent(r, i, "O:SPY251029C00580000")))
    for (const text of [
      good.slice(0, good.length / 2),
      good + "x",
      `{"ev":"A"}`,
      "",
      "[",
      "[1,]",
      `${good},`,
      good.replace("]", "}")
    ]) {
      const b = bytes(text)
      assert.isFalse(d.decode(b, 0, b.length, RECEIVED), text.slice(-20))
    }
    for (const text of ["[]", " [ ] ", good, `  ${good}  `]) {
      const b = bytes(text)
      assert.isTrue(d.decode(b, 0, b.length, RECEIVED), text.slice(0, 20))
    }
  })

  it("AM subscriptions: A events are not clean (another type), AM ones are", () => {
    const d = decoder("options", "AM")
    const e = aggEvent(rng(1), 0, "O:SPY251029C00580000")
    const frame = bytes(JSON.stringify([e, { ...e, ev: "AM", e: (e["s"] as number) + 60_000 }]))
    assert.isTrue(d.decode(frame, 0, frame.length, RECEIVED))
    assert.deepStrictEqual(d.frame.order, [-1, 0])
  })

  it("symbols are interned from bytes: one id per ticker", () => {
    const table = new SymbolTable()
    const tickers = Array.from({ length: 5000 }, (_, i) => `O:SPY2510${String(i).padStart(5, "0")}C00580000`)
    const ids = tickers.map((t) => table.internString(t))
    assert.deepStrictEqual(
      ids,
      tickers.map((_, i) => i)
    )
    const b = Buffer.from(`xx${tickers[1234]}yy`)
    assert.strictEqual(table.intern(b, 2, b.length - 2), 1234)
    assert.strictEqual(table.names[4999], tickers[4999])
    assert.strictEqual(table.internString("é"), 5000)
    assert.strictEqual(table.intern(Buffer.from("é"), 0, 2), 5000)
  })
})
