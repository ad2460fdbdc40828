/** The `verify` report as text for people. Pure. */
import { DateTime } from "luxon"
import { NY } from "../../domain/calendar.js"
import { formatTable } from "../status.js"
import type { VerifyReport } from "../verify.js"

const ny = (ms: number) => DateTime.fromMillis(ms, { zone: NY }).toFormat("HH:mm:ss")
const int = (n: number) => n.toLocaleString("en-US")
const pct = (n: number) => `${n.toFixed(n === 100 || n === 0 ? 0 : 1)}%`

export const formatVerify = (r: VerifyReport): string => {
  const out = [
    `verify ${r.date}: session ${ny(r.session.openMs)}–${ny(r.session.closeMs)} ET${r.session.earlyClose ? " (early close)" : ""}`,
    ""
  ]
  const rows = r.feeds.map((f) => {
    const covered = f.tickers.map((t) => t.coveragePct)
    const coverage =
      covered.length === 0
        ? "-"
        : covered.length === 1
          ? pct(covered[0]!)
          : `${pct(Math.min(...covered))}..${pct(Math.max(...covered))}`
    const gap = f.longestGaps[0]
    return [
      f.feed,
      String(f.files.length),
      int(f.rows),
      int(f.distinctKeys),
      int(f.duplicateKeys),
      int(f.outsideSession),
      int(f.quarantined),
      f.tickers.length === 0 ? "-" : String(f.tickers.length),
      coverage,
      gap ? `${int(gap.seconds)} s (${gap.ticker} ${ny(gap.fromMs)}–${ny(gap.toMs)})` : "-"
    ]
  })
  out.push(
    formatTable(
      [
        "FEED",
        "FILES",
        "ROWS",
        "KEYS",
        "DUPLICATE KEYS",
        "OUTSIDE SESSION",
        "QUARANTINED",
        "TICKERS",
        "COVERAGE",
        "LONGEST GAP"
      ],
      rows,
      new Set([1, 2, 3, 4, 5, 6, 7])
    )
  )
  if (r.contracts.length > 1)
    out.push(
      "",
      formatTable(
        ["UNDERLYING", "CONTRACTS", "TRADED", "COVERAGE"],
        r.contracts.map((u) => [
          u.underlying,
          int(u.contracts),
          int(u.traded),
          u.minCoveragePct === null || u.maxCoveragePct === null
            ? "-"
            : `${pct(u.minCoveragePct)}..${pct(u.maxCoveragePct)}`
        ]),
        new Set([1, 2])
      )
    )
  if (r.sinks.length > 0)
    out.push(
      "",
      formatTable(
        ["SINK", "TABLE", "ROWS", "LAKE KEYS", ""],
        r.sinks.map((s) => [s.sink, s.table, int(s.rows), int(s.lake), s.rows === s.lake ? "ok" : "MISMATCH"]),
        new Set([2, 3])
      )
    )
  out.push(
    "",
    r.drift.length === 0
      ? "schema drift: none"
      : `schema drift: ${r.drift.map((d) => `${d.feed} ${d.kind} ${d.field}`).join("; ")}`
  )
  out.push(
    "",
    r.problems.length === 0 ? "verdict: OK" : ["verdict: FAILED", ...r.problems.map((p) => `- ${p}`)].join("\n")
  )
  return out.join("\n")
}
