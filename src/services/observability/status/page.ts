/** The live status page (refreshes itself every 5 s). Pure. */
import { DateTime } from "luxon"
import { NY } from "../../../domain/calendar.js"
import type { LiveHealth } from "./health.js"
import type { LastBar } from "./LastBars.js"

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)
const ms = (n: number | null | undefined) => (typeof n === "number" ? `${Math.round(n)} ms` : "-")
const at = (n: number | null) => (n === null ? "-" : new Date(n).toISOString())

export interface ContractLine {
  readonly ticker: string
  readonly strike: number | null
  /** The newest bar committed by this process (undefined: none yet). */
  readonly last: LastBar | undefined
}

const contractRow = (c: ContractLine, nowMs: number) => {
  const last = c.last
  return (
    `<tr data-ticker="${escape(c.ticker)}"><th>${escape(c.ticker)}</th><td data-field="strike">${c.strike ?? "-"}</td>` +
    (last === undefined
      ? `<td data-field="last_window">-</td><td data-field="close">-</td><td data-field="age_s">-</td>`
      : `<td data-field="last_window" data-ms="${last.windowStartMs}">${DateTime.fromMillis(last.windowStartMs, { zone: NY }).toFormat("HH:mm:ss")}</td>` +
        `<td data-field="close">${last.close}</td><td data-field="age_s">${Math.round((nowMs - last.windowStartMs) / 1000)}</td>`) +
    `</tr>`
  )
}

export const statusPage = (h: LiveHealth, contracts: ReadonlyArray<ContractLine>, date: string | undefined): string => {
  const rows = h.sources.map(
    (s) =>
      `<tr data-source="${escape(s.source)}"><th>${escape(s.source)}</th><td data-field="connection">${escape(s.connectionStatus)}</td><td data-field="last_message">${at(s.lastMessageAtMs)}</td>` +
      `<td data-field="events_per_second_15min">${s.eventsPerSecond15Min.toFixed(1)}</td><td data-field="messages_today">${s.totalMessagesToday}</td><td data-field="events_today">${s.totalEventsToday}</td>` +
      `<td>${ms(s.commitLatency?.p50)} / ${ms(s.commitLatency?.p95)} / ${ms(s.commitLatency?.p99)}</td><td data-field="last_commit">${at(s.lastCommitAtMs)}</td>` +
      `<td data-field="errors">${s.errorsInWindow}</td><td data-field="connection_failures">${s.consecutiveConnectionFailures}</td></tr>`
  )
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>SPY live status</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}th{background:#f4f4f4}.ok{color:#2a7}.bad{color:#c22}</style></head><body>
<h1>SPY live status${date ? ` — ${escape(date)}` : ""}</h1>
<p>As of ${new Date(h.nowMs).toISOString()} (the platform's clock). Health: <b id="health" class="${h.problems.length === 0 ? "ok" : "bad"}">${h.problems.length === 0 ? "OK" : "UNHEALTHY"}</b></p>
${h.problems.length === 0 ? "" : `<ul id="problems">${h.problems.map((p) => `<li>${escape(p)}</li>`).join("")}</ul>`}
<table><thead><tr><th>source</th><th>connection</th><th>last message</th><th>events/s (15 min)</th><th>messages today</th><th>events today</th><th>commit latency p50 / p95 / p99 (5 min)</th><th>last commit</th><th>bad rows (15 min)</th><th>failures in a row</th></tr></thead>
<tbody>${rows.join("")}</tbody></table>
<h2>Open alerts</h2>${h.openAlerts.length === 0 ? "<p>none</p>" : `<ul>${h.openAlerts.map((a) => `<li>${escape(`${a.at} ${a.kind}${a.source ? ` (${a.source})` : ""}: ${a.message}`)}</li>`).join("")}</ul>`}
<h2>Contract set (${contracts.length})</h2>
<table id="contracts"><thead><tr><th>contract</th><th>strike</th><th>last bar (window start, New York)</th><th>close</th><th>age (s)</th></tr></thead>
<tbody>${contracts.map((c) => contractRow(c, h.nowMs)).join("")}</tbody></table>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/status.json">/status.json</a></p>
</body></html>`
}
