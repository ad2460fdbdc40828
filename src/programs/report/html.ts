/**
 * The self-contained report page: styles and the Vega runtime inlined (no network), the charts
 * rendered in the browser from the compiled specs, and the figures as tables whose cells carry
 * `data-feed`/`data-field` (what the browser tests compare with the lake).
 */
import { DateTime } from "luxon"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import type * as vega from "vega"
import { NY } from "../../domain/calendar.js"
import type { VerifyReport } from "../verify.js"
import type { DayData } from "./dayData.js"
import { type LiveDay, liveDayHtml } from "./liveDay.js"

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)
/** JSON safe inside a <script>: no `</script>`, no `<!--`. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c")
const et = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toFormat("HH:mm:ss")
const pct = (n: number) => `${n.toFixed(1)}%`

let vegaSource: string | undefined
/** vega's browser bundle (its `exports` hide build/, but the entry point lives beside it). */
const vegaRuntime = () =>
  (vegaSource ??= fs.readFileSync(
    path.join(path.dirname(createRequire(import.meta.url).resolve("vega")), "vega.min.js"),
    "utf8"
  ))

const cell = (feed: string, field: string, value: string | number) =>
  `<td data-feed="${escape(feed)}" data-field="${field}">${escape(typeof value === "number" ? value.toLocaleString("en-US") : value)}</td>`

const feedTable = (r: VerifyReport) => {
  const rows = r.feeds.map((f) => {
    const cov = f.tickers.map((t) => t.coveragePct)
    const coverage =
      cov.length === 0 ? "-" : cov.length === 1 ? pct(cov[0]!) : `${pct(Math.min(...cov))} .. ${pct(Math.max(...cov))}`
    const gap = f.longestGaps[0]
    return `<tr><th>${f.feed}</th>${cell(f.feed, "rows", f.rows)}${cell(f.feed, "keys", f.distinctKeys)}${cell(f.feed, "duplicates", f.duplicateKeys)}${cell(f.feed, "outside", f.outsideSession)}${cell(f.feed, "quarantined", f.quarantined)}${cell(f.feed, "coverage", coverage)}${cell(f.feed, "gap", gap ? `${gap.seconds} s (${gap.ticker})` : "-")}</tr>`
  })
  return `<table><thead><tr><th>feed</th><th>rows</th><th>distinct keys</th><th>duplicate keys</th><th>outside session</th><th>quarantined</th><th>coverage</th><th>longest gap</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
}

const list = (title: string, items: ReadonlyArray<string>, empty: string) =>
  `<h2>${escape(title)}</h2>${items.length === 0 ? `<p class="none">${escape(empty)}</p>` : `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`}`

export const reportHtml = (
  r: VerifyReport,
  d: DayData,
  live: LiveDay,
  charts: Readonly<Record<string, vega.Spec>>
): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPY options day ${r.date}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}.verdict-ok{color:#2a7}.verdict-bad{color:#c22}
.none{color:#888}.chart{margin:16px 0}
</style></head><body>
<h1>SPY options day ${r.date}</h1>
<p>Session ${et(new Date(r.session.openMs).toISOString())}–${et(new Date(r.session.closeMs).toISOString())} ET${r.session.earlyClose ? " (early close)" : ""}.
Verdict: <b id="verdict" class="${r.problems.length === 0 ? "verdict-ok" : "verdict-bad"}">${r.problems.length === 0 ? "OK" : "FAILED"}</b></p>
${r.problems.length === 0 ? "" : `<ul id="problems">${r.problems.map((p) => `<li>${escape(p)}</li>`).join("")}</ul>`}
${Object.keys(charts)
  .filter((id) => id !== "latency")
  .map((id) => `<div class="chart" id="chart-${id}"></div>`)
  .join("\n")}
<h2>Feeds</h2>${feedTable(r)}
${list(
  "Sinks against the lake",
  r.sinks.map(
    (s) =>
      `<span data-sink="${escape(s.sink)}" data-table="${escape(s.table)}">${escape(`${s.sink} ${s.table}: ${s.rows.toLocaleString("en-US")} rows, lake ${s.lake.toLocaleString("en-US")} keys ${s.rows === s.lake ? "(ok)" : "(MISMATCH)"}`)}</span>`
  ),
  "no sink enabled"
)}
${list(
  "Gaps (SPY, VIX)",
  d.gaps.map((g) => `${g.series} ${et(g.from)}–${et(g.to)} ET: ${g.seconds} s`),
  "none"
)}
${list(
  "SPY news",
  d.news.map((n) => `${et(n.at)} ET: ${escape(n.title)}`),
  "none in the session"
)}
${list(
  "Schema drift",
  r.drift.map((x) => escape(`${x.feed} ${x.kind} ${x.field}`)),
  "none"
)}
${list(
  "Alerts of the day",
  d.alerts.map((a) =>
    escape(
      `${a.at} ${a.open ? "raised" : a.event === true ? "event" : "resolved"} ${a.kind}${a.source ? ` (${a.source})` : ""}: ${a.message}`
    )
  ),
  "none"
)}
${"latency" in charts ? `<div class="chart" id="chart-latency"></div>` : ""}
${liveDayHtml(live)}
<script>${vegaRuntime()}</script>
<script>
const specs = ${scriptJson(charts)};
for (const [id, spec] of Object.entries(specs)) {
  new vega.View(vega.parse(spec), { renderer: "svg", container: "#chart-" + id, hover: true }).runAsync()
    .then(() => document.getElementById("chart-" + id).setAttribute("data-rendered", "true"));
}
</script>
</body></html>
`
