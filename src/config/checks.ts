/**
 * Start-time checks of a command's configuration that no single key can express:
 * - `connectionPlan`: the WebSocket connections `live` needs per cluster, against the plan's
 *   `live.max_connections_per_cluster` (the real plans allow one per cluster and key);
 *   A re-centring underlying's contracts are sharded on connections of their own, the others'
 *   together.
 */
import { Data } from "effect"
import type { Settings } from "./Settings.js"

export class ConfigCheckError extends Data.TaggedError("ConfigCheckError")<{ readonly message: string }> {}

export interface ClusterNeed {
  readonly cluster: "stocks" | "options" | "indices"
  readonly subscriptions: number
  readonly connections: number
  readonly what: string
}

type PlanSettings = Pick<Settings, "underlyings" | "indices" | "live" | "feeds">

/** Per cluster, the worst case of the config: every underlying's `max_contracts` subscribed at once. */
export const connectionNeeds = (s: PlanSettings): ReadonlyArray<ClusterNeed> => {
  const per = s.live.maxSubscriptionsPerConnection
  const need = (
    cluster: ClusterNeed["cluster"],
    subscriptions: number,
    what: string,
    connections = Math.ceil(subscriptions / per)
  ): ClusterNeed => ({ cluster, subscriptions, connections, what })
  const contracts = s.underlyings.reduce((n, u) => n + u.maxContracts, 0)
  // A re-centring underlying owns its connections; the others' contracts share theirs.
  const moving = s.underlyings.filter((u) => u.recenter.enabled)
  const fixed = s.underlyings.filter((u) => !u.recenter.enabled).reduce((n, u) => n + u.maxContracts, 0)
  const optionConnections = moving.reduce((n, u) => n + Math.ceil(u.maxContracts / per), 0) + Math.ceil(fixed / per)
  return [
    ...(s.feeds.spy.enabled ? [need("stocks", s.underlyings.length, `${s.underlyings.length} underlying(s)`)] : []),
    ...(s.feeds.options.enabled
      ? [
          need(
            "options",
            contracts,
            `${contracts} option contracts (${s.underlyings.map((u) => `${u.ticker} ${u.maxContracts}`).join(", ")}${moving.length > 0 && s.underlyings.length > 1 ? `; re-centring on their own connections: ${moving.map((u) => u.ticker).join(", ")}` : ""})`,
            optionConnections
          )
        ]
      : []),
    ...(s.feeds.vix.enabled ? [need("indices", s.indices.length, `${s.indices.length} index(es)`)] : [])
  ]
}

/** Fails when a cluster needs more connections than `live.max_connections_per_cluster` (0 = not checked). */
export const checkConnectionPlan = (s: PlanSettings): ConfigCheckError | undefined => {
  const max = s.live.maxConnectionsPerCluster
  if (max <= 0) return undefined
  const over = connectionNeeds(s).filter((n) => n.connections > max)
  if (over.length === 0) return undefined
  return new ConfigCheckError({
    message: over
      .map(
        (n) =>
          `live needs ${n.connections} WebSocket connections on the ${n.cluster} cluster (${n.what}, at most ${s.live.maxSubscriptionsPerConnection} per connection), but live.max_connections_per_cluster is ${max}`
      )
      .join("; ")
      .concat(
        ": lower max_contracts or the number of underlyings, or raise live.max_connections_per_cluster if the plan allows more"
      )
  })
}
