/**
 * Decoded aggregate columns → the lake's column batch, value for value the rows `restAggRow` /
 * `restIndexRow` build for the same clean items (tested item by item against them).
 */
import type { AggColumns } from "./aggColumns.js"
import type { ColumnBatch } from "./columnBatch.js"
import type { Row } from "./feeds.js"
import { type Provenance, restAggRow, restIndexRow } from "./normalize.js"

/**
 * A stock/option (`agg`) or index batch for one ticker. Undefined when `otc` is true on some rows
 * and absent or false on others: that unit goes through row objects instead.
 */
export const aggBatch = (ticker: string, cols: AggColumns, p: Provenance): ColumnBatch | undefined => {
  const shared = {
    ticker,
    window_end_ms: null,
    official_open: null,
    source: p.source,
    received_at_ms: p.receivedAtMs,
    extra: null
  }
  const prices: ColumnBatch["doubles"] = [
    ["window_start_ms", cols.t],
    ["open", cols.o],
    ["high", cols.h],
    ["low", cols.l],
    ["close", cols.c]
  ]
  if (cols.shape === "index") return { length: cols.length, doubles: prices, constants: shared }
  let otc: boolean | null = null
  if (cols.otc !== undefined && cols.length > 0) {
    const first = cols.otc[0]!
    for (let i = 1; i < cols.length; i++) if (cols.otc[i] !== first) return undefined
    otc = first === -1 ? null : first === 1
  }
  return {
    length: cols.length,
    doubles: [...prices, ["volume", cols.v], ["vwap", cols.vw], ["transactions", cols.n]],
    constants: { ...shared, accumulated_volume: null, day_vwap: null, avg_trade_size: null, otc }
  }
}

/** The same items as row objects, through the normalizer itself (for the rare mixed-`otc` unit). */
export const aggRows = (
  feed: "spy" | "options" | "vix",
  ticker: string,
  cols: AggColumns,
  p: Provenance
): Array<Row> => {
  const rows: Array<Row> = []
  for (let i = 0; i < cols.length; i++) {
    const raw: Record<string, unknown> = { o: cols.o[i], c: cols.c[i], h: cols.h[i], l: cols.l[i], t: cols.t[i] }
    if (cols.shape === "agg") Object.assign(raw, { v: cols.v[i], vw: cols.vw[i], n: cols.n[i] })
    if (cols.otc !== undefined && cols.otc[i] !== -1) raw["otc"] = cols.otc[i] === 1
    const n = feed === "vix" ? restIndexRow(ticker, raw, p) : restAggRow(feed, ticker, raw, p)
    if (n.ok) rows.push(n.row)
  }
  return rows
}
