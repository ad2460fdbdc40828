/**
 * `status --cluster` (issue 17): the runners in the cluster's storage (healthy: marked so and a heartbeat within the shard lock expiry; and
 * how many of the shards each owns, computed with the hash ring the runners use), then the backfill
 * units by key (`<feed>/<date>/<ticker>`): done (a stored success, with the runner that did it), failed (a
 * stored failure), running (a healthy runner's `started` line with no `completed`/`failed` after
 * it, in units.ndjson) and pending (stored, not taken, or taken by a runner that is gone); then
 * the live socket shards (`live --cluster`) of every session the same way: streaming, pending
 * (waiting for a runner, e.g. after its runner died), ended, failed.
 */
import { Runner } from "@effect/cluster/Runner"
import { RunnerAddress } from "@effect/cluster/RunnerAddress"
import * as SqlClient from "@effect/sql/SqlClient"
import { Console, Duration, Effect, HashRing, Schema } from "effect"
import { timings } from "../../layers/Cluster.js"
import { AppSettings } from "../../services/AppSettings.js"
import { formatTable } from "../status.js"
import { readUnitEvents } from "./units.js"

export const clusterStatusProgram = Effect.gen(function* () {
  const settings = yield* AppSettings
  const sql = yield* SqlClient.SqlClient
  // As the runners see it (SqlRunnerStorage.getRunners): a runner without a heartbeat for the lock expiry is gone.
  const expiry = Math.ceil(Duration.toSeconds(timings(settings.cluster).shardLockExpiration!))
  const runners = yield* sql<{ address: string; runner: string; healthy: boolean; age_s: number }>`
    SELECT address, runner, healthy AND last_heartbeat > NOW() - make_interval(secs => ${expiry}) AS healthy,
      EXTRACT(EPOCH FROM NOW() - last_heartbeat)::float8 AS age_s
    FROM cluster_runners ORDER BY address`
  const ring = HashRing.make<RunnerAddress>()
  for (const r of runners.filter((r) => r.healthy)) {
    const runner = Schema.decodeSync(Runner)(JSON.parse(r.runner))
    HashRing.add(ring, runner.address, { weight: runner.weight })
  }
  const shards = new Map<string, number>()
  for (const a of HashRing.getShards(ring, settings.cluster.shards) ?? [])
    shards.set(`${a.host}:${a.port}`, (shards.get(`${a.host}:${a.port}`) ?? 0) + 1)
  const events = yield* Effect.promise(() => readUnitEvents(settings.storage.root))
  const messages = (entityType: string) => sql<{
    entity_id: string
    message_id: string
    processed: boolean
    exit: string | null
    by: string | null
  }>`
    SELECT m.entity_id, m.message_id, m.processed, r.payload::json->>'_tag' AS exit,
      r.payload::json->'value'->>'runner' AS by
    FROM cluster_messages m LEFT JOIN cluster_replies r ON r.request_id = m.request_id AND r.kind = 0
    WHERE m.entity_type = ${entityType} AND m.kind = 0 ORDER BY m.entity_id, m.message_id`
  /** Each message's state: done (a stored success), failed, running (a healthy runner's `started` with nothing after it), pending. */
  const states = (
    ms: Effect.Effect.Success<ReturnType<typeof messages>>,
    tag: string,
    unitOf: (entityId: string, key: string) => string
  ) =>
    ms.map((u) => {
      // the message id ends with the primary key: `<run or session>/<the unit's own key>`
      const pk = u.message_id.split(`/${tag}/`)[1] ?? ""
      const runId = pk.split("/")[0] ?? ""
      const unit = unitOf(u.entity_id, pk.slice(runId.length + 1))
      const last = events.filter((e) => e.runId === runId && e.unit === unit).at(-1)
      const on = last?.event === "started" ? last.runner : undefined
      // a unit started by a runner that is gone waits for its shard's new owner
      const live = on !== undefined && runners.some((r) => r.healthy && r.address === on)
      const state = u.exit === "Success" ? "done" : u.exit !== null ? "failed" : live ? "running" : "pending"
      const runner = state === "done" ? (u.by ?? "") : on === undefined ? "" : live ? on : `(was ${on}, gone)`
      return { runId, unit, state, on: runner }
    })
  const rows = states(yield* messages("BackfillUnit"), "Run", (_, key) => key)
  const shardRows = states(yield* messages("LiveShard"), "Stream", (id) => `live/${id}`)
  const shardCount = (s: string) => shardRows.filter((r) => r.state === s).length
  const count = (s: string) => rows.filter((r) => r.state === s).length
  const text = [
    formatTable(
      ["runner", "healthy", "heartbeat age", "shards"],
      runners.map((r) => [
        r.address,
        r.healthy ? "yes" : "no",
        `${Math.round(Number(r.age_s))} s`,
        String(shards.get(r.address) ?? 0)
      ]),
      new Set([3])
    ),
    "",
    `backfill units: ${count("done")} done, ${count("running")} running, ${count("pending")} pending, ${count("failed")} failed`,
    ...(rows.length > 0
      ? [
          formatTable(
            ["run", "unit", "state", "runner"],
            rows.map((r) => [r.runId, r.unit, r.state, r.on])
          )
        ]
      : []),
    ...(shardRows.length > 0
      ? [
          "",
          `live shards: ${shardCount("running")} streaming, ${shardCount("pending")} pending, ${shardCount("done")} ended, ${shardCount("failed")} failed`,
          formatTable(
            ["session", "shard", "state", "runner"],
            shardRows.map((r) => [
              r.runId,
              r.unit,
              r.state === "running" ? "streaming" : r.state === "done" ? "ended" : r.state,
              r.on
            ])
          )
        ]
      : [])
  ].join("\n")
  yield* Console.log(text)
  return { units: rows, shards: shardRows }
})
