/** The newest bar of each ticker in a batch's columns: what the status page shows per contract. */
import type { LastBar } from "../../services/observability/status/LastBars.js"
import type { LiveColumns } from "./liveColumns.js"

export type { LastBar }

export const lastBarsOf = (cols: LiveColumns | undefined): ReadonlyArray<LastBar> => {
  if (cols === undefined || cols.length === 0) return []
  const starts = cols.numeric[cols.startSlot]!
  const closes = cols.numeric[cols.numericNames.indexOf("close")]!
  const newest = new Map<number, number>()
  for (let i = 0; i < cols.length; i++) {
    const j = newest.get(cols.ticker[i]!)
    if (j === undefined || starts[i]! > starts[j]!) newest.set(cols.ticker[i]!, i)
  }
  return Array.from(newest, ([id, i]) => ({
    ticker: cols.symbols.names[id]!,
    windowStartMs: starts[i]!,
    close: closes[i]!
  }))
}
