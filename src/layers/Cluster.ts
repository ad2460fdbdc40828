/**
 * @effect/cluster from Settings (issue 17): the cluster's runner and message storage in PostgreSQL
 * (`cluster.database_url`, else DATABASE_URL), runners talking over TCP sockets (msgpack).
 * `RunnerLayer` makes this process a runner at `cluster.host:cluster.port` (it listens there and
 * takes shards); `ClientLayer` only sends messages (`backfill --cluster`). The ShardingConfig is
 * built here, not read from the environment (ShardingConfig.layerFromEnv would read HOST/PORT).
 */
import {
  RunnerHealth,
  Runners,
  ShardingConfig,
  SocketRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "@effect/cluster"
import { RunnerAddress } from "@effect/cluster/RunnerAddress"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { RpcSerialization } from "@effect/rpc"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Data, Duration, Effect, Layer, Option } from "effect"
import type { Settings } from "../config/Settings.js"
import { AppSettings } from "../services/AppSettings.js"

export class ClusterConfigError extends Data.TaggedError("ClusterConfigError")<{ readonly message: string }> {}

/**
 * Failover timings. From the settings (`cluster.shard_lock_expiration_s`, `health_check_interval_s`,
 * `message_poll_interval_s`): a dead runner's shards move once its shard locks expire (sooner when
 * the health check marks it unhealthy first), and their messages are read again within one poll.
 * The lock is refreshed three times per expiry (at most every 3 s), so a live owner never loses it.
 */
export const timings = (c: Settings["cluster"]): Partial<ShardingConfig.ShardingConfig["Type"]> => ({
  runnerHealthCheckInterval: Duration.seconds(c.healthCheckIntervalS),
  refreshAssignmentsInterval: Duration.seconds(1),
  entityMessagePollInterval: Duration.seconds(c.messagePollIntervalS),
  entityReplyPollInterval: Duration.millis(500),
  shardLockRefreshInterval: Duration.seconds(Math.min(3, c.shardLockExpirationS / 3)),
  shardLockExpiration: Duration.seconds(c.shardLockExpirationS),
  // a unit (a feed of a trading day, e.g. every underlying's options) can run for minutes between messages
  entityMaxIdleTime: Duration.minutes(10),
  // on SIGINT/SIGTERM, running units get this long, then are interrupted (left for another runner):
  // within the CLI's 12 s stop bound
  entityTerminationTimeout: Duration.seconds(5)
})

export const runnerName = (s: Settings) => `${s.cluster.host}:${s.cluster.port}`

const shardingConfig = (s: Settings, runner: boolean) =>
  ShardingConfig.layer({
    ...timings(s.cluster),
    shardsPerGroup: s.cluster.shards,
    runnerAddress: runner
      ? Option.some(RunnerAddress.make({ host: s.cluster.host, port: s.cluster.port }))
      : Option.none(),
    runnerListenAddress: Option.none()
  })

/** PostgreSQL for the cluster's tables (cluster_runners, cluster_messages, cluster_replies, …). */
export const storageSql = (s: Settings): Layer.Layer<SqlClient.SqlClient, ClusterConfigError | SqlError> =>
  Option.match(
    Option.orElse(s.cluster.databaseUrl, () => s.databaseUrl),
    {
      onNone: () =>
        Layer.fail<ClusterConfigError | SqlError>(
          new ClusterConfigError({
            message: "the cluster needs PostgreSQL: set DATABASE_URL (or cluster.database_url / CLUSTER_DATABASE_URL)"
          })
        ),
      onSome: (url) => PgClient.layer({ url, applicationName: "spy-options-cluster" })
    }
  )

/** Any number 17 owns: the advisory lock under which one process at a time creates the cluster's tables. */
const MIGRATION_LOCK = 1_717_017

/**
 * The cluster's tables created by one process at a time: two runners starting on an empty database
 * would both run `CREATE TABLE IF NOT EXISTS` and one fails (a duplicate key in pg_type).
 */
const migrated = Layer.effectDiscard(
  Effect.scoped(
    Effect.gen(function* () {
      const conn = yield* (yield* SqlClient.SqlClient).reserve
      yield* conn.executeRaw("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK])
      yield* Effect.scoped(Layer.build(Layer.merge(SqlMessageStorage.layer, SqlRunnerStorage.layer)))
      yield* conn.executeRaw("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK])
    })
  )
)

const storage = <A, E, R>(s: Settings, runner: boolean, sharding: Layer.Layer<A, E, R>) => {
  const config = shardingConfig(s, runner)
  const sql = migrated.pipe(Layer.provideMerge(storageSql(s)), Layer.provide(config))
  return sharding.pipe(
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(config),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provide(sql)
  )
}

/** The cluster's PostgreSQL alone (`status --cluster` reads its tables). */
export const ClusterSqlLayer = Layer.unwrapEffect(Effect.map(AppSettings, storageSql))

/** This process as a runner: it listens at cluster.host:cluster.port, registers, and takes its share of the shards. */
export const RunnerLayer = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) =>
    storage(
      s,
      true,
      SocketRunner.layer.pipe(
        Layer.provide(
          RunnerHealth.layerPing.pipe(
            Layer.provide(Runners.layerRpc),
            Layer.provide(NodeClusterSocket.layerClientProtocol)
          )
        ),
        Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol])
      )
    )
  )
)

/** A client of the cluster: it sends messages to the runners and reads their replies, and owns no shard. */
export const ClientLayer = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) =>
    storage(s, false, SocketRunner.layerClientOnly.pipe(Layer.provide(NodeClusterSocket.layerClientProtocol)))
  )
)
