/**
 * The live part of a day report, from what `live` persisted: the day's history
 * (`data/state/history/<date>.ndjson`, one line per source and heartbeat period: commit latency
 * p50/p95/p99/max, reconnects) and the alerts raised and resolved that day (`alerts.ndjson`).
 * Every figure on the page is a value of those files, unchanged (the browser test compares them).
 */
import { DateTime } from "luxon"
import * as fs from "node:fs/promises"
import { NY } from "../../domain/calendar.js"
import { lakePaths } from "../../domain/paths.js"
import type { AlertRecord } from "../../services/observability/alertLog.js"
import { type HistoryLine, parseHistory } from "../../services/observability/historyLog.js"

export interface AlertCount {
  readonly kind: string
  readonly source: string
  readonly raised: number
  readonly resolved: number
  readonly events: number
}

export interface LiveDay {
  readonly history: ReadonlyArray<HistoryLine>
  /** Per source, the sum of its periods' reconnects. */
  readonly reconnects: ReadonlyArray<{ readonly source: string; readonly reconnects: number }>
  readonly alerts: ReadonlyArray<AlertCount>
}

export const readHistory = (root: string, date: string): Promise<ReadonlyArray<HistoryLine>> =>
  fs.readFile(lakePaths(root).historyFile(date), "utf8").then(parseHistory, () => [])

export const liveDayOf = (history: ReadonlyArray<HistoryLine>, alerts: ReadonlyArray<AlertRecord>): LiveDay => {
  const reconnects = new Map<string, number>()
  for (const h of history) reconnects.set(h.source, (reconnects.get(h.source) ?? 0) + h.reconnects)
  const counts = new Map<string, { kind: string; source: string; raised: number; resolved: number; events: number }>()
  for (const a of alerts) {
    const key = `${a.kind}\u0000${a.source ?? ""}`
    const c = counts.get(key) ?? { kind: a.kind, source: a.source ?? "", raised: 0, resolved: 0, events: 0 }
    if (a.event === true) c.events++
    else if (a.open) c.raised++
    else c.resolved++
    counts.set(key, c)
  }
  return {
    history,
    reconnects: Array.from(reconnects, ([source, n]) => ({ source, reconnects: n })),
    alerts: Array.from(counts.values())
  }
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)
/** New York HH:mm of an ISO instant. */
export const etMinute = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toFormat("HH:mm")
const num = (n: number | null) => (n === null ? "-" : String(n))
const td = (field: string, value: string) => `<td data-field="${field}">${escape(value)}</td>`

export const liveDayHtml = (l: LiveDay): string => {
  if (l.history.length === 0 && l.alerts.length === 0)
    return `<h2>Live</h2><p class="none" id="live-none">no live history for this day</p>`
  const periods = l.history.map(
    (h) =>
      `<tr data-at="${h.at}" data-source="${escape(h.source)}"><td>${etMinute(h.at)}</td><th>${escape(h.source)}</th>${td("commits", String(h.commits))}` +
      `${td("p50", num(h.latency_p50_ms))}${td("p95", num(h.latency_p95_ms))}${td("p99", num(h.latency_p99_ms))}${td("max", num(h.latency_max_ms))}${td("reconnects", String(h.reconnects))}</tr>`
  )
  const reconnects = l.reconnects.map(
    (r) =>
      `<tr data-source="${escape(r.source)}"><th>${escape(r.source)}</th>${td("reconnects_total", String(r.reconnects))}</tr>`
  )
  const alerts = l.alerts.map(
    (a) =>
      `<tr data-kind="${escape(a.kind)}" data-source="${escape(a.source)}"><th>${escape(a.kind)}</th><td>${escape(a.source)}</td>${td("raised", String(a.raised))}${td("resolved", String(a.resolved))}${td("events", String(a.events))}</tr>`
  )
  return `<h2>Live</h2>
<h3>Reconnects</h3><table id="reconnects"><thead><tr><th>source</th><th>reconnects</th></tr></thead><tbody>${reconnects.join("")}</tbody></table>
<h3>Alerts raised and resolved</h3>${alerts.length === 0 ? `<p class="none">none</p>` : `<table id="alert-counts"><thead><tr><th>alert</th><th>source</th><th>raised</th><th>resolved</th><th>one-off</th></tr></thead><tbody>${alerts.join("")}</tbody></table>`}
<details open><summary>Commit latency per heartbeat period (ms, ending at the time shown, New York)</summary>
<table id="latency"><thead><tr><th>until</th><th>source</th><th>commits</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>reconnects</th></tr></thead><tbody>${periods.join("")}</tbody></table></details>`
}
