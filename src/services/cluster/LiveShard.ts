/**
 * The cluster entity of distributed live (issue 17): one entity per socket shard of a trading day
 * (entity id `<date>/<connection id>`, e.g. `2025-10-28/options-0`: at most
 * `live.max_subscriptions_per_connection` tickers on one WebSocket connection). Its one message,
 * `Stream`, asks a runner to keep that connection open and journal every frame into a file of its
 * own in the shared lake (`journal/shards/<date>/<connection>/<incarnation>.ndjson`), until the
 * session's stop file appears or the stop time passes. `live --cluster` (the coordinator) relays
 * those files into the feed journals its writers read (src/live/socket/RemoteFeedSocket.ts).
 *
 * The message is persisted: when the runner streaming a shard dies, the shard's entity restarts on
 * another runner, which reads the unprocessed message from storage and opens the connection again,
 * in a new file (so two runners never write one file); its subscription marker opens the gap that
 * gap repair fills over REST. The primary key names the coordinator's session, so a restarted
 * coordinator sends new messages (and stops the earlier session's shards first).
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import * as path from "node:path"
import { Schema } from "effect"

export const ShardClock = Schema.Struct({
  /** The simulated time (ms) at wall time `wallMs`, advancing `speed` times as fast. */
  simMs: Schema.Number,
  wallMs: Schema.Number,
  speed: Schema.Number
})
export type ShardClock = typeof ShardClock.Type

export class ShardResult extends Schema.Class<ShardResult>("ShardResult")({
  connection: Schema.String,
  /** The runner that streamed it last (host:port) and its pid. */
  runner: Schema.String,
  pid: Schema.Number,
  /** Frames this incarnation journaled. */
  frames: Schema.Number,
  file: Schema.String
}) {}

export class ShardFailed extends Schema.TaggedError<ShardFailed>()("ShardFailed", {
  connection: Schema.String,
  runner: Schema.String,
  message: Schema.String
}) {}

export const Stream = Rpc.make("Stream", {
  payload: {
    /** The coordinator's session: a restarted `live --cluster` is another session. */
    session: Schema.String,
    date: Schema.String,
    connection: Schema.String,
    cluster: Schema.Literal("stocks", "options", "indices"),
    feed: Schema.Literal("spy", "vix", "options"),
    params: Schema.Array(Schema.String),
    tickers: Schema.Array(Schema.String),
    /** Stop at this time of the shard's clock even if no stop file appears (the coordinator may be gone). */
    untilMs: Schema.Number,
    /** A simulated clock (`live --clock-start`), else the wall clock. */
    clock: Schema.optional(ShardClock)
  },
  success: ShardResult,
  error: ShardFailed,
  primaryKey: ({ session, connection }) => `${session}/${connection}`
})

export const LiveShard = Entity.make("LiveShard", [Stream]).annotateRpcs(ClusterSchema.Persisted, true)

export const shardEntityId = (date: string, connection: string) => `${date}/${connection}`

/** Where the incarnations of a connection's shard journal (one file each, sorted by start). */
export const shardJournalDir = (root: string, date: string, connection: string) =>
  path.join(root, "journal", "shards", date, connection)

/** The coordinator's session files of a date: its stop files and the relay positions. */
export const sessionDir = (root: string, date: string) => path.join(root, "state", "cluster", "live", date)
export const stopFile = (root: string, date: string, session: string) =>
  path.join(sessionDir(root, date), `${session}.stop`)
