/**
 * `status`: per source the last heartbeat and its age, messages in the last 5 min and today,
 * connection state, last commit and its latency, bars outside the regular session (not stored);
 * the feed (`polygon.feed`, its delay); then the open alerts and whether `live` runs.
 * Reads only files (`data/state/heartbeat/*.json`, `alerts.ndjson`, `live.pid`), so it works
 * from another process. `formatStatus` is pure.
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { lakePaths } from "../domain/paths.js"
import { AppSettings } from "../services/AppSettings.js"
import { type AlertRecord, openAlertsOf, parseAlertLines } from "../services/observability/alertLog.js"
import type { HeartbeatFile } from "../services/observability/heartbeatFile.js"
import { isAlive } from "../lib/processAlive.js"
import { readPidFile } from "./stop.js"

export interface StatusInput {
  readonly nowMs: number
  readonly staleAfterS: number
  /** The live process's pid when it is running. */
  readonly livePid: number | null
  readonly heartbeats: ReadonlyArray<Partial<HeartbeatFile> & { readonly source: string }>
  readonly openAlerts: ReadonlyArray<AlertRecord>
}

/** "45s", "4m 05s", "2h 03m". */
export const formatAge = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`
}

/** A plain aligned text table: columns separated by two spaces, `right` columns right-aligned. */
export const formatTable = (
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  right: ReadonlySet<number> = new Set()
): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [line(headers), ...rows.map(line)].join("\n")
}

const dash = "-"
const num = (n: number | null | undefined) => (typeof n === "number" ? String(n) : dash)

/** The feed the newest heartbeat that says it ran on (`polygon.feed`; files written before it have none). */
const feedLine = (heartbeats: StatusInput["heartbeats"]): ReadonlyArray<string> => {
  const h = [...heartbeats]
    .filter((b) => typeof b.feed === "string" && b.last_heartbeat !== undefined)
    .sort((a, b) => (a.last_heartbeat! < b.last_heartbeat! ? 1 : -1))[0]
  if (h === undefined) return []
  const delay = h.feed_delay_s ?? 0
  return [
    h.feed === "delayed"
      ? `feed: delayed by ${delay} s (bars arrive ${formatAge(delay * 1000)} after they end; the session is judged on the feed clock, wall clock - ${delay} s)`
      : "feed: realtime"
  ]
}

export const formatStatus = (input: StatusInput): string => {
  const out: Array<string> = [
    input.livePid === null ? "live: not running" : `live: running (pid ${input.livePid})`,
    ...feedLine(input.heartbeats),
    ""
  ]
  if (input.heartbeats.length === 0) out.push("no heartbeats yet")
  else {
    // Bars outside the regular session (session.hours: regular), when the heartbeats count them.
    const outside = input.heartbeats.some((h) => typeof h.outside_session_today === "number")
    const rows = [...input.heartbeats]
      .sort((a, b) => a.source.localeCompare(b.source))
      .map((h) => {
        const beatMs = h.last_heartbeat === undefined ? Number.NaN : Date.parse(h.last_heartbeat)
        const age = Number.isNaN(beatMs)
          ? dash
          : formatAge(input.nowMs - beatMs) + (input.nowMs - beatMs >= input.staleAfterS * 1000 ? " STALE" : "")
        const latency =
          typeof h.last_commit_latency_ms === "number" ? `${Math.round(h.last_commit_latency_ms)} ms` : dash
        return [
          h.source,
          h.last_heartbeat ?? dash,
          age,
          num(h.messages_received_last_5min),
          num(h.total_messages_today),
          ...(outside ? [num(h.outside_session_today)] : []),
          h.connection_status ?? dash,
          h.last_commit_at ?? dash,
          latency
        ]
      })
    out.push(
      outside
        ? formatTable(
            [
              "SOURCE",
              "LAST HEARTBEAT",
              "AGE",
              "MSGS 5M",
              "MSGS TODAY",
              "OUTSIDE SESSION",
              "CONNECTION",
              "LAST COMMIT",
              "COMMIT LATENCY"
            ],
            rows,
            new Set([2, 3, 4, 5, 8])
          )
        : formatTable(
            ["SOURCE", "LAST HEARTBEAT", "AGE", "MSGS 5M", "MSGS TODAY", "CONNECTION", "LAST COMMIT", "COMMIT LATENCY"],
            rows,
            new Set([2, 3, 4, 7])
          )
    )
    // Process-wide: the newest heartbeat that measured it.
    const lag = [...input.heartbeats]
      .filter((h) => typeof h.event_loop_lag_p99_ms === "number" && h.last_heartbeat !== undefined)
      .sort((a, b) => (a.last_heartbeat! < b.last_heartbeat! ? 1 : -1))[0]
    if (lag)
      out.push(
        `event loop lag (last heartbeat period, ${lag.last_heartbeat}): p99 ${lag.event_loop_lag_p99_ms} ms, max ${num(lag.event_loop_lag_max_ms)} ms`
      )
  }
  out.push("")
  if (input.openAlerts.length === 0) out.push("open alerts: none")
  else {
    out.push(`open alerts (${input.openAlerts.length}):`)
    out.push(
      formatTable(
        ["SINCE", "KIND", "SOURCE", "MESSAGE"],
        input.openAlerts.map((a) => [a.at, a.kind, a.source ?? dash, a.message])
      )
    )
  }
  return out.join("\n")
}

const readHeartbeats = (dir: string): StatusInput["heartbeats"] => {
  let names: Array<string>
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"))
  } catch {
    return []
  }
  return names.flatMap((name) => {
    try {
      const value = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as Partial<HeartbeatFile>
      return [{ ...value, source: typeof value.source === "string" ? value.source : name.slice(0, -".json".length) }]
    } catch {
      return []
    }
  })
}

const readOpenAlerts = (file: string): ReadonlyArray<AlertRecord> => {
  try {
    return openAlertsOf(parseAlertLines(fs.readFileSync(file, "utf8")))
  } catch {
    return []
  }
}

/** Gather the status from the state directory. Requires AppSettings (storage root, stale_after_s). */
export const readStatus: Effect.Effect<StatusInput, never, AppSettings> = Effect.gen(function* () {
  const settings = yield* AppSettings
  const paths = lakePaths(settings.storage.root)
  const nowMs = yield* Clock.currentTimeMillis
  const pid = readPidFile(paths.pidFile)
  return {
    nowMs,
    staleAfterS: settings.heartbeat.staleAfterS,
    livePid: pid !== undefined && isAlive(pid) ? pid : null,
    heartbeats: readHeartbeats(path.dirname(paths.heartbeatFile("x"))),
    openAlerts: readOpenAlerts(paths.alertsFile)
  }
})

export class StatusCheckFailed extends Data.TaggedError("StatusCheckFailed")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    return `${this.problems.length} problem(s): ${this.problems.join("; ")}`
  }
}

/**
 * What `status --check` fails on: a heartbeat older than `heartbeat.stale_after_s` whose source
 * did not close cleanly (a session that ended says `closed`; one that died keeps its last state),
 * and every open alert. Pure.
 */
export const checkProblems = (input: StatusInput): ReadonlyArray<string> => [
  ...input.heartbeats.flatMap((h) => {
    const beatMs = h.last_heartbeat === undefined ? Number.NaN : Date.parse(h.last_heartbeat)
    if (h.connection_status === "closed" || Number.isNaN(beatMs) || input.nowMs - beatMs < input.staleAfterS * 1000)
      return []
    return [
      `heartbeat of ${h.source} is ${formatAge(input.nowMs - beatMs)} old (${h.connection_status ?? "unknown state"})`
    ]
  }),
  ...input.openAlerts.map((a) => `open alert ${a.kind}${a.source ? ` (${a.source})` : ""} since ${a.at}: ${a.message}`)
]

/** The `status` command: prints the table and returns its text; with `check`, fails (exit 1) on any `checkProblems`. Requires AppSettings. */
export const statusProgram = (
  options: { readonly check?: boolean } = {}
): Effect.Effect<string, StatusCheckFailed, AppSettings> =>
  Effect.gen(function* () {
    const input = yield* readStatus
    const text = formatStatus(input)
    yield* Console.log(text)
    if (options.check !== true) return text
    const problems = checkProblems(input)
    if (problems.length > 0) return yield* new StatusCheckFailed({ problems })
    yield* Console.log("\ncheck: OK")
    return text
  })
