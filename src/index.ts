/**
 * The library entry: services, layers and programs for other Effect apps. No runMain here.
 *
 *   import { Programs, Layers, AppSettings } from "spy-options-platform"
 *   Programs.backfillProgram({ startDate, endDate }).pipe(
 *     Effect.provide(Layer.mergeAll(Layers.Backfill.BackfillLayer, Layers.Sinks.layer)),
 *     Effect.provide(AppSettings.layer({ configPath: "config/settings.yaml" })),
 *     Effect.provide(NodeContext.layer))
 */
export * as Settings from "./config/Settings.js"
export * as ConfigLoader from "./config/load.js"

export * as Calendar from "./domain/calendar.js"
export * as ContractSelection from "./domain/contractSelection.js"
export * as Feeds from "./domain/feeds.js"
export * as Normalize from "./domain/normalize.js"
export * as NyseHolidays from "./domain/nyseHolidays.js"
export * as Paths from "./domain/paths.js"
export * as Tickers from "./domain/tickers.js"

export * as Alerts from "./services/observability/Alerts.js"
export * as AppSettings from "./services/AppSettings.js"
export * as Checkpoints from "./services/Checkpoints.js"
export * as ContractRegistry from "./live/contracts/ContractRegistry.js"
export * as DuckDb from "./services/DuckDb.js"
export * as FeedSocket from "./live/socket/FeedSocket.js"
export * as HeartbeatMonitor from "./services/observability/HeartbeatMonitor.js"
export * as MarketClock from "./services/MarketClock.js"
export * as Metrics from "./services/observability/Metrics.js"
export * as ParquetWriter from "./services/ParquetWriter.js"
export * as LakeSnapshot from "./services/parquet/lakeSnapshot.js"
export * as PolygonRest from "./services/polygon/PolygonRest.js"
export * as PolygonRestLive from "./services/polygon/PolygonRestLive.js"
export * as Quarantine from "./services/Quarantine.js"
export * as SchemaDrift from "./services/SchemaDrift.js"
export * as SinkRouter from "./services/sinks/SinkRouter.js"

export * as Layers from "./layers/index.js"
export * as Programs from "./programs/index.js"

export * as Simulator from "./simulator/server.js"
export * as SyntheticMarket from "./simulator/market/SyntheticMarket.js"
export * as LakeMarket from "./simulator/lake/LakeMarket.js"
export * as SimClock from "./simulator/SimClock.js"
