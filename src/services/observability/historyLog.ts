/**
 * The live day's history, `data/state/history/<date>.ndjson`: one line per source per heartbeat
 * period (what the heartbeat files, overwritten every period, do not keep): commits and their
 * latency p50/p95/p99/max over the period, reconnects, messages, events and rows. Append-only and
 * crash-safe: each line is written whole and fsynced; a line torn by a crash is completed with a
 * newline before the next append and skipped when read. The `report` of the day reads it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { PeriodStats } from "./period.js"

export interface HistoryLine {
  /** End of the period, ISO UTC. */
  readonly at: string
  /** Start of the period, ISO UTC (null: the process's first period). */
  readonly from: string | null
  readonly source: string
  readonly connection: string
  readonly commits: number
  readonly latency_p50_ms: number | null
  readonly latency_p95_ms: number | null
  readonly latency_p99_ms: number | null
  readonly latency_max_ms: number | null
  readonly reconnects: number
  readonly messages: number
  readonly events: number
  readonly rows: number
}

export const historyLineOf = (source: string, connection: string, p: PeriodStats): HistoryLine => ({
  at: new Date(p.toMs).toISOString(),
  from: p.fromMs === null ? null : new Date(p.fromMs).toISOString(),
  source,
  connection,
  commits: p.commits,
  latency_p50_ms: p.latency?.p50 ?? null,
  latency_p95_ms: p.latency?.p95 ?? null,
  latency_p99_ms: p.latency?.p99 ?? null,
  latency_max_ms: p.latency?.max ?? null,
  reconnects: p.reconnects,
  messages: p.messages,
  events: p.events,
  rows: p.rows
})

/** Append lines (one write, then fsync); a torn last line left by a crash is closed first. */
export const appendHistory = (file: string, lines: ReadonlyArray<HistoryLine>): void => {
  if (lines.length === 0) return
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const fd = fs.openSync(file, "a+")
  try {
    const size = fs.fstatSync(fd).size
    let torn = false
    if (size > 0) {
      const last = Buffer.alloc(1)
      fs.readSync(fd, last, 0, 1, size - 1)
      torn = last[0] !== 0x0a
    }
    fs.writeSync(fd, (torn ? "\n" : "") + lines.map((l) => JSON.stringify(l)).join("\n") + "\n")
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

const isLine = (u: unknown): u is HistoryLine =>
  typeof u === "object" &&
  u !== null &&
  typeof (u as HistoryLine).at === "string" &&
  typeof (u as HistoryLine).source === "string" &&
  typeof (u as HistoryLine).commits === "number" &&
  typeof (u as HistoryLine).reconnects === "number"

/** Parse the file's text; torn or foreign lines are skipped. */
export const parseHistory = (text: string): ReadonlyArray<HistoryLine> =>
  text.split("\n").flatMap((line) => {
    if (line.trim() === "") return []
    try {
      const v: unknown = JSON.parse(line)
      return isLine(v) ? [v] : []
    } catch {
      return []
    }
  })
