/**
 * LiveColumns: one row per (ticker, window start), the latest version in place of the earlier
 * one (in order or not, before and after the index is built), a repair row never replacing a
 * streamed one, `extra` strings carried across batches; checked against a Map of row objects.
 */
import { assert, describe, it } from "@effect/vitest"
import { batchRows } from "../../../src/domain/columnBatch.js"
import { type Row, SCHEMAS } from "../../../src/domain/feeds.js"
import { SymbolTable } from "../../../src/lib/symbolTable.js"
import { LiveColumns } from "../../../src/live/writer/liveColumns.js"

const row = (ticker: string, s: number, v: number, source = "ws", extra: string | null = null): Row => ({
  ticker,
  window_start_ms: s,
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  volume: v,
  vwap: v === 0 ? null : v / 2,
  transactions: null,
  window_end_ms: s + 1000,
  accumulated_volume: v * 2,
  official_open: 1.1,
  day_vwap: 1.2,
  avg_trade_size: 3,
  otc: v % 3 === 0 ? null : v % 3 === 1,
  source,
  received_at_ms: 1000 + v,
  extra
})

describe("LiveColumns", () => {
  it("latest version wins per key, repair rows never replace, in and out of order; same rows as a Map", () => {
    const cols = new LiveColumns(SCHEMAS.options, new SymbolTable())
    const ref = new Map<string, Row>()
    const put = (r: Row, replace = true) => {
      const key = `${r["ticker"]}|${r["window_start_ms"]}`
      const gained = cols.putRow(r, replace)
      assert.strictEqual(gained, !ref.has(key))
      if (replace || !ref.has(key)) ref.set(key, r)
    }
    const tickers = ["A", "B", "C"]
    let v = 1
    // in order: no index needed
    for (let s = 0; s < 50; s++) for (const t of tickers) put(row(t, s * 1000, v++))
    // out of order corrections (builds the index), new keys after it, repair rows (kept only when new)
    for (let s = 49; s >= 0; s -= 3) put(row(tickers[s % 3]!, s * 1000, v++, "ws", `{"n":${s}}`))
    for (let s = 50; s < 60; s++) for (const t of tickers) put(row(t, s * 1000, v++))
    for (let s = 55; s < 70; s++) put(row("A", s * 1000, v++, "repair"), false)
    put(row("A", 0, 0))
    assert.strictEqual(cols.length, ref.size)
    const got = batchRows(SCHEMAS.options, cols.toColumnBatch())
    const byKey = new Map(got.map((r) => [`${r["ticker"]}|${r["window_start_ms"]}`, r]))
    assert.strictEqual(byKey.size, got.length)
    for (const [k, r] of ref)
      for (const c of SCHEMAS.options.columns)
        assert.strictEqual(byKey.get(k)![c.name], r[c.name] ?? null, `${k} ${c.name}`)
  })

  it("reset for reuse: a second batch in the same arrays has exactly its own rows (no key, extra or index left from the first)", () => {
    const symbols = new SymbolTable()
    const used = new LiveColumns(SCHEMAS.options, symbols)
    for (let s = 0; s < 3000; s++)
      used.putRow(row("A", s * 1000, s + 1, "ws", s % 7 === 0 ? `{"old":${s}}` : null), true)
    used.putRow(row("A", 5000, 99), true) // out of order: builds the index
    const fresh = new LiveColumns(SCHEMAS.options, symbols)
    const second = [
      row("A", 5000, 7),
      row("B", 1000, 8, "ws", '{"new":1}'),
      row("A", 2000, 9),
      row("A", 5000, 10),
      row("A", 0, 11, "repair")
    ]
    const reused = used.reset()
    for (const r of second)
      assert.strictEqual(reused.putRow(r, r["source"] !== "repair"), fresh.putRow(r, r["source"] !== "repair"))
    assert.strictEqual(reused.length, 4)
    assert.deepStrictEqual(
      batchRows(SCHEMAS.options, reused.toColumnBatch()),
      batchRows(SCHEMAS.options, fresh.toColumnBatch())
    )
  })

  it("rows copied from another batch (a frame's scratch rows) keep their extra strings", () => {
    const symbols = new SymbolTable()
    const scratch = new LiveColumns(SCHEMAS.spy, symbols)
    const batch = new LiveColumns(SCHEMAS.spy, symbols)
    batch.putRow(row("SPY", 0, 1, "ws", '{"first":1}'), true)
    scratch.putRow(row("SPY", 1000, 2, "ws", '{"second":2}'), true)
    scratch.putRow(row("SPY", 0, 3, "ws", '{"third":3}'), true)
    assert.isTrue(batch.putFrom(scratch, 0, true))
    assert.isFalse(batch.putFrom(scratch, 1, true))
    const rows = batchRows(SCHEMAS.spy, batch.toColumnBatch())
    assert.deepStrictEqual(
      rows.map((r) => [r["window_start_ms"], r["extra"], r["volume"]]),
      [
        [0, '{"third":3}', 3],
        [1000, '{"second":2}', 2]
      ]
    )
  })
})
