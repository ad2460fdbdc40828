/**
 * WebSocket aggregate events (`A` / `AM`, polygon-wire.md §10.3) and REST repair bars → lake
 * rows, through the shared normalizer (src/domain/normalize.ts) plus the semantic checks a
 * live bar must pass (h ≥ l, e ≥ s).
 */
import { type Normalized, restAggRow, restIndexRow, wsAggRow, wsIndexRow } from "../../domain/normalize.js"

export type LiveFeed = "spy" | "options" | "vix"

const semantic = (n: Normalized): Normalized => {
  if (!n.ok) return n
  const r = n.row
  if ((r["high"] as number) < (r["low"] as number)) return { ok: false, reason: "high < low", drift: n.drift }
  const e = r["window_end_ms"]
  if (typeof e === "number" && e < (r["window_start_ms"] as number))
    return { ok: false, reason: "window end before start", drift: n.drift }
  return n
}

/** One aggregate event of a feed's cluster → its lake row (source `ws`). */
export const eventToRow = (ev: Readonly<Record<string, unknown>>, feed: LiveFeed, receivedAtMs: number): Normalized =>
  semantic(
    feed === "vix" ? wsIndexRow(ev, { source: "ws", receivedAtMs }) : wsAggRow(feed, ev, { source: "ws", receivedAtMs })
  )

/** A REST aggregate fetched by gap repair → its lake row (source `repair`). */
export const repairRow = (
  item: Readonly<Record<string, unknown>>,
  ticker: string,
  feed: LiveFeed,
  receivedAtMs: number
): Normalized =>
  semantic(
    feed === "vix"
      ? restIndexRow(ticker, item, { source: "repair", receivedAtMs })
      : restAggRow(feed, ticker, item, { source: "repair", receivedAtMs })
  )
