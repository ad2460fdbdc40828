/**
 * The cluster entity of a distributed backfill (issue 17): one entity per unit, a lake partition
 * (feed × date, key `<feed>/<date>`, e.g. `options/2025-10-28`), whose one message `Run` asks a
 * runner to fetch every ticker of that feed on that date into the shared lake. A unit is a whole
 * partition because the partition's files are shared by its tickers (SPY and QQQ bars of an hour
 * in one `bars-HHMM.parquet`, every underlying's contracts in one `day.parquet`): two units of one
 * partition on two runners would merge into the same files. The message is persisted
 * (`ClusterSchema.Persisted`): written to the cluster's message storage (PostgreSQL) before it is
 * delivered, marked processed only when its reply (the exit) is stored, and delivered again from
 * storage to whichever runner owns the unit's shard after a runner dies. The primary key
 * (`runId/unitKey`) makes a second send of the same unit a duplicate, answered with the stored reply.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

export const UnitFeed = Schema.Literal("spy", "options", "vix", "news")
export type UnitFeed = typeof UnitFeed.Type

/** A unit's key, its entity id: `<feed>/<date>`. */
export const unitKey = (feed: UnitFeed, date: string) => `${feed}/${date}`

/** What a runner did with a unit: the rows per feed (options: and `contracts`), and whether it fetched anything (false: already done). */
export class UnitResult extends Schema.Class<UnitResult>("UnitResult")({
  unit: Schema.String,
  date: Schema.String,
  feed: UnitFeed,
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
  unit: Schema.String,
  date: Schema.String,
  runner: Schema.String,
  message: Schema.String
}) {}

export const Run = Rpc.make("Run", {
  payload: {
    /** One `backfill --cluster` invocation: units of another run are other messages. */
    runId: Schema.String,
    date: Schema.String,
    feed: UnitFeed,
    overwrite: Schema.Boolean
  },
  success: UnitResult,
  error: UnitFailed,
  primaryKey: ({ runId, date, feed }) => `${runId}/${unitKey(feed, date)}`
})

export const BackfillUnit = Entity.make("BackfillUnit", [Run]).annotateRpcs(ClusterSchema.Persisted, true)
