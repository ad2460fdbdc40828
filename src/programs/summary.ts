/** The short end-of-run summary: rows per feed and day, and where the files are. */
import { Console, Effect } from "effect"
import * as path from "node:path"
import type { BackfillSummary } from "./backfill.js"

const fmt = (n: number | undefined) => (n === undefined ? "-" : n.toLocaleString("en-US"))

export const formatBackfillSummary = (s: BackfillSummary): string => {
  const header = ["date", "spy", "options", "contracts", "vix", "news", "quarantined", "outside session"]
  const lines = s.days.map((d) => [
    d.date,
    fmt(d.rows.spy),
    fmt(d.rows.options),
    fmt(d.rows.contracts),
    fmt(d.rows.vix),
    fmt(d.rows.news),
    fmt(d.quarantined),
    fmt(d.outsideSession)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  const total = s.days.reduce(
    (n, d) => n + (d.rows.spy ?? 0) + (d.rows.options ?? 0) + (d.rows.vix ?? 0) + (d.rows.news ?? 0),
    0
  )
  const outside = s.days.reduce((n, d) => n + (d.outsideSession ?? 0), 0)
  return [
    row(header),
    ...lines.map(row),
    "",
    `${fmt(total)} rows in ${(s.elapsedMs / 1000).toFixed(1)} s${s.skippedDates.length ? `; market closed on ${s.skippedDates.join(", ")}` : ""}`,
    ...(outside > 0
      ? [`${fmt(outside)} bars outside the regular session (09:30-16:00 New York) not stored (session.hours: regular)`]
      : []),
    `Lake: ${path.join(s.root, "raw")}/<feed>/date=YYYY-MM-DD/*.parquet  (quarantine: ${path.join(s.root, "quarantine")}, state: ${path.join(s.root, "state")})`
  ].join("\n")
}

export const printBackfillSummary = (s: BackfillSummary) => Console.log(formatBackfillSummary(s)).pipe(Effect.as(s))
