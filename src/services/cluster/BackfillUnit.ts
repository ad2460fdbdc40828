/**
 * The cluster entity of a distributed backfill (issue 17): one entity per trading date, whose one
 * message `Run` asks a runner to fetch that date into the shared lake. The message is persisted
 * (`ClusterSchema.Persisted`): it is written to the cluster's message storage (PostgreSQL) before
 * it is delivered, marked processed only when its reply (the exit) is stored, and re-delivered from
 * storage to whichever runner owns the date's shard after a runner dies. The primary key (run id +
 * date) makes a second send of the same unit a duplicate, answered with the stored reply.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

export const UnitFeeds = Schema.Array(Schema.Literal("spy", "options", "vix", "news"))

/** What a runner did with a date: the rows per feed, and whether it fetched anything (false: every unit was already done). */
export class UnitResult extends Schema.Class<UnitResult>("UnitResult")({
  date: Schema.String,
  rows: Schema.Record({ key: Schema.String, value: Schema.Number }),
  quarantined: Schema.Number,
  outsideSession: Schema.Number,
  fetched: Schema.Boolean,
  /** The runner that completed it (host:port) and its pid. */
  runner: Schema.String,
  pid: Schema.Number,
  elapsedMs: Schema.Number
}) {}

export class UnitFailed extends Schema.TaggedError<UnitFailed>()("UnitFailed", {
  date: Schema.String,
  runner: Schema.String,
  message: Schema.String
}) {}

export const Run = Rpc.make("Run", {
  payload: {
    /** One `backfill --cluster` invocation: units of another run are other messages. */
    runId: Schema.String,
    date: Schema.String,
    feeds: UnitFeeds,
    overwrite: Schema.Boolean
  },
  success: UnitResult,
  error: UnitFailed,
  primaryKey: ({ runId, date }) => `${runId}/${date}`
})

export const BackfillDay = Entity.make("BackfillDay", [Run]).annotateRpcs(ClusterSchema.Persisted, true)
