/**
 * bench:live's ground truth: the session's tickers and bars, computed from the simulator's own
 * market in a child process (so generating them does not count towards the measured process's
 * RSS) and written as CSV; and the check of the lake against it, value by value, in DuckDB.
 */
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as DuckDb from "../services/DuckDb.js"
import type { LiveFeed } from "../live/writer/wsRows.js"

export interface SessionPlan {
  /** The underlyings streamed on /stocks (their bars are the `spy` feed). */
  readonly underlyings: Array<string>
  readonly options: Array<string>
  readonly counts: Record<LiveFeed, number>
  /** CSV of every bar: feed,ticker,t,o,h,l,c,v,vw (v and vw empty for I:VIX). */
  readonly truthCsv: string
}

/**
 * Per underlying, the `nOptions` contracts nearest its money of the next expiration after `date` (the live rule
 * with max_contracts = nOptions); beyond that expiration's chain, the other expirations' contracts
 * follow in date order, so a large count takes the whole day's chain.
 */
export const sessionPlan = (
  seed: number,
  date: string,
  nOptions: number,
  dir: string,
  underlyings: ReadonlyArray<string> = ["SPY"]
): SessionPlan => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const truthCsv = path.join(dir, "truth.csv")
  const script = `
    const fs = await import("node:fs")
    const { makeSyntheticMarket } = await import(${JSON.stringify(path.join(here, "..", "simulator/market/SyntheticMarket.js"))})
    const m = makeSyntheticMarket(${seed}); const d = ${JSON.stringify(date)}
    const underlyings = ${JSON.stringify(underlyings)}
    const options = underlyings.flatMap((u) => {
      const open = m.officialOpen(d, u); const cs = m.contracts(d, u)
      const next = cs.map((c) => c.expiration_date).filter((e) => e > d).sort()[0]
      const rank = (e) => (e === next ? "0" : "1" + e)
      return cs
        .sort((a, b) => (rank(a.expiration_date) < rank(b.expiration_date) ? -1 : rank(a.expiration_date) > rank(b.expiration_date) ? 1 : 0) ||
          Math.abs(a.strike_price - open) - Math.abs(b.strike_price - open) || (a.ticker < b.ticker ? -1 : 1))
        .slice(0, ${nOptions}).map((c) => c.ticker)
    })
    const fd = fs.openSync(${JSON.stringify(truthCsv)}, "w")
    const counts = { spy: 0, vix: 0, options: 0 }
    const emit = (feed, t) => {
      const lines = m.secondBars(t, d).map((b) => [feed, t, b.t, b.o, b.h, b.l, b.c, b.v ?? "", b.vw ?? ""].join(","))
      counts[feed] += lines.length
      if (lines.length > 0) fs.writeSync(fd, lines.join("\\n") + "\\n")
    }
    for (const u of underlyings) emit("spy", u)
    emit("vix", "I:VIX"); for (const t of options) emit("options", t)
    fs.closeSync(fd)
    console.log(JSON.stringify({ underlyings, options, counts }))`
  const out = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 << 20 })
  ) as Omit<SessionPlan, "truthCsv">
  return { ...out, truthCsv }
}

export interface LakeCheck {
  readonly feed: LiveFeed
  readonly rows: number
  readonly distinct: number
  /** Ground-truth bars absent from the lake, or present with another value. */
  readonly missingOrWrong: number
  /** Lake rows that are not a ground-truth bar (extra, or with a wrong value). */
  readonly spurious: number
}

/** Every lake file of each feed against the ground truth: (ticker, t, o, h, l, c, v, vw) as multisets, both ways. */
export const checkLake = (root: string, date: string, plan: SessionPlan) =>
  Effect.flatMap(DuckDb.DuckDb, (db) =>
    Effect.forEach(["spy", "vix", "options"] as const, (feed) => {
      const vol = feed === "vix" ? "NULL::DOUBLE AS v, NULL::DOUBLE AS vw" : "volume AS v, vwap AS vw"
      const lake = `SELECT ticker, window_start_ms AS t, open AS o, high AS h, low AS l, close AS c, ${vol} FROM read_parquet('${root}/raw/${feed}/date=${date}/*.parquet')`
      const truth = `SELECT ticker, t, o, h, l, c, v, vw FROM read_csv('${plan.truthCsv}', header = false,
        columns = {'feed': 'VARCHAR', 'ticker': 'VARCHAR', 't': 'BIGINT', 'o': 'DOUBLE', 'h': 'DOUBLE', 'l': 'DOUBLE', 'c': 'DOUBLE', 'v': 'DOUBLE', 'vw': 'DOUBLE'})
        WHERE feed = '${feed}'`
      return db
        .query<{ n: number; k: number; missing: number; spurious: number }>(
          `SELECT (SELECT count(*) FROM (${lake}))::DOUBLE AS n,
                  (SELECT count(DISTINCT (ticker, t)) FROM (${lake}))::DOUBLE AS k,
                  (SELECT count(*) FROM ((${truth}) EXCEPT ALL (${lake})))::DOUBLE AS missing,
                  (SELECT count(*) FROM ((${lake}) EXCEPT ALL (${truth})))::DOUBLE AS spurious`
        )
        .pipe(
          Effect.map(([r]): LakeCheck => ({
            feed,
            rows: r!.n,
            distinct: r!.k,
            missingOrWrong: r!.missing,
            spurious: r!.spurious
          }))
        )
    })
  ).pipe(Effect.provide(DuckDb.layer()))

export const isExact = (checks: ReadonlyArray<LakeCheck>, plan: SessionPlan): boolean =>
  checks.every(
    (c) => c.rows === c.distinct && c.rows === plan.counts[c.feed] && c.missingOrWrong === 0 && c.spurious === 0
  )
