/**
 * The cluster entity of a distributed backfill (issue 17): a unit is one ticker's part of a lake
 * partition, underlying (or index) × feed × date, key `<feed>/<date>/<ticker>` (e.g.
 * `options/2025-10-28/QQQ`: QQQ's contracts and their bars), and its message `Run` asks a runner to
 * fetch it into the shared lake. The ENTITY is the partition (`<feed>/<date>`): a partition's files
 * are shared by its tickers (SPY and QQQ bars of an hour in one `bars-HHMM.parquet`, every
 * underlying's contracts in one `day.parquet`), so its units go to one entity, which processes one
 * message at a time on its shard's one owner: never two writers of one partition. The message is persisted
 * (`ClusterSchema.Persisted`): written to the cluster's message storage (PostgreSQL) before it is
 * delivered, marked processed only when its reply (the exit) is stored, and delivered again from
 * storage to whichever runner owns the unit's shard after a runner dies. The primary key
 * (`runId/<unit key>`) makes a second send of the same unit a duplicate, answered with the stored reply.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import type { Settings } from "../../config/Settings.js"

export const UnitFeed = Schema.Literal("spy", "options", "vix", "news")
export type UnitFeed = typeof UnitFeed.Type

/** A unit's key: `<feed>/<date>/<ticker>`. */
export const unitKey = (feed: UnitFeed, date: string, ticker: string) => `${feed}/${date}/${ticker}`

/** The entity of a unit: its partition, `<feed>/<date>`. */
export const partitionKey = (feed: UnitFeed, date: string) => `${feed}/${date}`

/** The tickers a feed's units are split by: underlyings (spy, options; news: those with `news: true`), indices (vix). */
export const unitTickers = (settings: Settings, feed: UnitFeed): ReadonlyArray<string> =>
  feed === "vix" ? settings.indices : settings.underlyings.filter((u) => feed !== "news" || u.news).map((u) => u.ticker)

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
    /** The underlying or index whose part of the partition this unit is. */
    ticker: Schema.String,
    overwrite: Schema.Boolean
  },
  success: UnitResult,
  error: UnitFailed,
  primaryKey: ({ runId, date, feed, ticker }) => `${runId}/${unitKey(feed, date, ticker)}`
})

export const BackfillUnit = Entity.make("BackfillUnit", [Run]).annotateRpcs(ClusterSchema.Persisted, true)
