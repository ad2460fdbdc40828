/**
 * A live day's lake against the simulator's truth (real-process live tests): one feed's rows over
 * [open, end(ticker)] compared as sets of (ticker, window start) with values, where end is the
 * feed's last window start in the lake, cut at a ticker's open gap (the checkpoint's `pending`:
 * a reconnected ticker with no bar since, carried over to the next run).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import type { Feed } from "../../src/domain/feeds.js"
import { checkpointFile, type LiveCheckpoint } from "../../src/live/writer/liveFiles.js"
import type { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import { lakeLayout } from "./lakeLayout.js"

type Market = ReturnType<typeof makeSyntheticMarket>

type LakeRow = {
  ticker: string
  t: number
  o: number
  h: number
  l: number
  c: number
  v: number | null
  vw: number | null
  source: string
}

const readLake = async (root: string, feed: Feed, date: string): Promise<Array<LakeRow>> => {
  const dir = path.join(root, "raw", feed, `date=${date}`)
  const vol = feed === "vix" ? "NULL::DOUBLE AS v, NULL::DOUBLE AS vw" : "volume::DOUBLE AS v, vwap AS vw"
  const db = await DuckDBInstance.create(":memory:")
  const c = await db.connect()
  try {
    const r = await c.runAndReadAll(
      `SELECT ticker, window_start_ms::DOUBLE AS t, open AS o, high AS h, low AS l, close AS c, ${vol}, source
       FROM read_parquet('${dir}/*.parquet', union_by_name = true)`
    )
    return r.getRowObjectsJS() as unknown as Array<LakeRow>
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

export const fmt = (x: { o: number; h: number; l: number; c: number; v?: number | null; vw?: number | null }) =>
  `${x.o}|${x.h}|${x.l}|${x.c}|${x.v ?? ""}|${x.vw ?? ""}`

/**
 * Compare one feed's lake with the market from `openMs`. Returns the window and samples of every
 * difference. `connections`: the tickers of each connection, when there are several; a stop ends
 * each connection after its last frame, so a connection's window ends at its own newest bar (one
 * frame holds a connection's bars of a second).
 */
export const compareFeed = async (
  o: { readonly root: string; readonly date: string; readonly openMs: number; readonly market: Market },
  feed: "spy" | "vix" | "options",
  tickers: ReadonlyArray<string>,
  connections: ReadonlyArray<ReadonlyArray<string>> = [tickers]
) => {
  const rows = await readLake(o.root, feed, o.date)
  const cp = JSON.parse(fs.readFileSync(checkpointFile(o.root, feed, o.date), "utf8")) as LiveCheckpoint
  const end = Math.max(...rows.map((r) => r.t))
  const connectionEnd = new Map<string, number>()
  for (const group of connections) {
    const members = new Set(group)
    const last = Math.max(...rows.filter((r) => members.has(r.ticker)).map((r) => r.t))
    for (const t of group) connectionEnd.set(t, last)
  }
  const endOf = (t: string) => Math.min(end, connectionEnd.get(t) ?? end, cp.pending[t] ?? Infinity)
  const expected = new Map<string, string>()
  for (const t of tickers)
    for (const b of o.market.secondBars(t, o.date))
      if (b.t >= o.openMs && b.t <= endOf(t))
        expected.set(`${t}|${b.t}`, fmt({ ...b, v: "v" in b ? b.v : null, vw: "vw" in b ? b.vw : null }))
  const seen = new Map<string, number>()
  const wrong: Array<string> = []
  const spurious: Array<string> = []
  for (const r of rows) {
    const k = `${r.ticker}|${r.t}`
    seen.set(k, (seen.get(k) ?? 0) + 1)
    const e = expected.get(k)
    if (e === undefined) spurious.push(k)
    else if (e !== fmt(r)) wrong.push(`${k}: ${fmt(r)} != ${e}`)
  }
  const missing = [...expected.keys()].filter((k) => !seen.has(k))
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k)
  const layout = await lakeLayout(o.root, feed, o.date)
  return {
    feed,
    start: Math.min(...rows.map((r) => r.t)),
    end,
    rows: rows.length,
    expected: expected.size,
    repaired: rows.filter((r) => r.source === "repair").length,
    /** Rows repaired over REST with a window start in [from, to]. */
    repairedIn: (from: number, to: number) =>
      rows.filter((r) => r.source === "repair" && r.t >= from && r.t <= to).length,
    pending: Object.keys(cp.pending),
    due: cp.due.length,
    layout,
    diff: {
      missing: missing.slice(0, 5),
      missingN: missing.length,
      wrong: wrong.slice(0, 5),
      spurious: spurious.slice(0, 5),
      duplicates: duplicates.slice(0, 5)
    }
  }
}
