/**
 * Start-time checks of a command's configuration that no single key can express:
 * - `connectionPlan`: the WebSocket connections `live` needs per cluster, against the plan's
 *   `live.max_connections_per_cluster` (the real plans allow one per cluster and key);
 * - `ingestsUniverse`: `live` and the sinks ingest one underlying and one index; more are refused
 *   at start with the list (`backfill` into the lake alone takes any number), never half-ingested.
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
  const need = (cluster: ClusterNeed["cluster"], subscriptions: number, what: string): ClusterNeed => ({
    cluster,
    subscriptions,
    connections: Math.ceil(subscriptions / per),
    what
  })
  const contracts = s.underlyings.reduce((n, u) => n + u.maxContracts, 0)
  return [
    ...(s.feeds.spy.enabled ? [need("stocks", s.underlyings.length, `${s.underlyings.length} underlying(s)`)] : []),
    ...(s.feeds.options.enabled
      ? [
          need(
            "options",
            contracts,
            `${contracts} option contracts (${s.underlyings.map((u) => `${u.ticker} ${u.maxContracts}`).join(", ")})`
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

/**
 * Fails when the config lists more than one underlying or index where this build cannot ingest
 * them: `live` always, `backfill` unless its sinks are among those whose consolidated view joins
 * each option with its own underlying (DuckDB so far; none = the lake alone).
 */
/** The sinks whose consolidated view joins each option with its own underlying. */
const MANY_UNDERLYING_SINKS: ReadonlySet<string> = new Set(["duckdb"])

export const checkIngestsUniverse = (
  s: Pick<Settings, "underlyings" | "indices"> & { readonly sinks: { readonly enabled: ReadonlyArray<string> } },
  command: "backfill" | "live"
): ConfigCheckError | undefined => {
  if (s.underlyings.length <= 1 && s.indices.length <= 1) return undefined
  const unready = s.sinks.enabled.filter((sink) => !MANY_UNDERLYING_SINKS.has(sink))
  if (command === "backfill" && unready.length === 0) return undefined
  const listed = `the config lists ${s.underlyings.map((u) => u.ticker).join(", ")} and ${s.indices.join(", ")}`
  return new ConfigCheckError({
    message:
      command === "live"
        ? `live ingests one underlying and one index; ${listed}. Several at once are not supported by live yet (the issue "Many underlyings"): list one of each, or backfill them into the lake with sinks.enabled: []`
        : `backfill ingests several underlyings or indices into the lake and the DuckDB sink only; ${listed} with sinks ${s.sinks.enabled.join(", ")}. The consolidated view of ${unready.join(", ")} still joins the first underlying only (the issue "Many underlyings"): enable only duckdb (or no sink), or list one of each`
  })
}
