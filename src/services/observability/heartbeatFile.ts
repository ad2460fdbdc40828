/** The heartbeat file (`data/state/heartbeat/<source>.json`): its shape and its atomic write. */
import * as fs from "node:fs"
import * as path from "node:path"
import type { SourceSnapshot } from "./Metrics.js"
import type { EventLoopLag } from "./eventLoopLag.js"
import { tempPath } from "../../lib/atomicFile.js"

export interface HeartbeatFile {
  readonly source: string
  /** ISO UTC */
  readonly last_heartbeat: string
  readonly messages_received_last_5min: number
  readonly total_messages_today: number
  readonly connection_status: string
  /** Process RSS in MB, one decimal. */
  readonly memory_usage_mb: number
  // extras
  readonly last_message_at: string | null
  readonly last_commit_at: string | null
  readonly last_commit_latency_ms: number | null
  readonly commit_latency_p50_ms: number | null
  readonly commit_latency_p95_ms: number | null
  readonly commit_latency_p99_ms: number | null
  readonly events_per_second: number
  /** Event-loop lag of the process over the last heartbeat period (null: not measured). */
  readonly event_loop_lag_p99_ms: number | null
  readonly event_loop_lag_max_ms: number | null
  /** Bars outside the regular session received today by this process, not stored (`session.hours: regular`). */
  readonly outside_session_today: number
  /** `realtime` or `delayed` (`polygon.feed`), and the delay: the stream's bars are this much older than the heartbeat. */
  readonly feed: "realtime" | "delayed"
  readonly feed_delay_s: number
  readonly total_events_today: number
  readonly rows_committed_today: number
  readonly reconnects_today: number
}

export interface FeedInfo {
  readonly feed: "realtime" | "delayed"
  readonly feedDelayS: number
}

export const REALTIME: FeedInfo = { feed: "realtime", feedDelayS: 0 }

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const round1 = (x: number) => Math.round(x * 10) / 10

export const heartbeatOf = (
  snap: SourceSnapshot,
  nowMs: number,
  memoryMb: number,
  lag: EventLoopLag | null = null,
  feed: FeedInfo = REALTIME
): HeartbeatFile => ({
  source: snap.source,
  last_heartbeat: new Date(nowMs).toISOString(),
  messages_received_last_5min: snap.messagesLast5Min,
  total_messages_today: snap.totalMessagesToday,
  connection_status: snap.connectionStatus,
  memory_usage_mb: round1(memoryMb),
  last_message_at: iso(snap.lastMessageAtMs),
  last_commit_at: iso(snap.lastCommitAtMs),
  last_commit_latency_ms: snap.lastCommitLatencyMs,
  commit_latency_p50_ms: snap.commitLatency?.p50 ?? null,
  commit_latency_p95_ms: snap.commitLatency?.p95 ?? null,
  commit_latency_p99_ms: snap.commitLatency?.p99 ?? null,
  events_per_second: round1(snap.eventsPerSecond),
  event_loop_lag_p99_ms: lag?.p99Ms ?? null,
  event_loop_lag_max_ms: lag?.maxMs ?? null,
  outside_session_today: snap.outsideSessionToday,
  feed: feed.feed,
  feed_delay_s: feed.feedDelayS,
  total_events_today: snap.totalEventsToday,
  rows_committed_today: snap.rowsCommittedToday,
  reconnects_today: snap.reconnectsToday
})

/** Write JSON to a temporary sibling, then rename over the target: readers never see a torn file. */
export const writeJsonAtomic = (file: string, value: unknown): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = tempPath(file)
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n")
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}
