/** Everything `backfill` needs, built from Settings. */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer } from "effect"
import * as ContractRegistry from "../live/contracts/ContractRegistry.js"
import * as Alerts from "../services/observability/Alerts.js"
import { AppSettings } from "../services/AppSettings.js"
import * as Checkpoints from "../services/Checkpoints.js"
import * as DuckDb from "../services/DuckDb.js"
import * as MarketClock from "../services/MarketClock.js"
import * as ParquetWriter from "../services/ParquetWriter.js"
import * as Quarantine from "../services/Quarantine.js"
import * as SchemaDrift from "../services/SchemaDrift.js"
import { PolygonRestFromSettings } from "./Polygon.js"

/**
 * The lake writer's DuckDB: one thread per statement. Its parallelism is its concurrent statements
 * (days, feeds); on 2 cores a second thread per statement made `backfill` slower (README "Benchmarks").
 */
export const lakeWriterDuckDb = DuckDb.layer(undefined, undefined, { threads: 1 })

/** Lake services rooted at `storage.root`; schema drift raises a `schema_drift` alert event once per feed and day. */
export const LakeLayer = Layer.unwrapEffect(
  Effect.gen(function* () {
    const s = yield* AppSettings
    const alerts = yield* Alerts.Alerts
    return Layer.mergeAll(
      ParquetWriter.layer.pipe(Layer.provideMerge(lakeWriterDuckDb)),
      Checkpoints.layer(s.storage.root),
      Quarantine.layer(s.storage.root),
      SchemaDrift.layer(s.storage.root, (message, details) => alerts.notify("schema_drift", message, details))
    )
  })
)

/** Alerts outside `live` (backfill): the same file and webhook. */
export const AlertsLayer = Alerts.layer.pipe(Layer.provide(FetchHttpClient.layer))

const LakeAndRest = Layer.mergeAll(LakeLayer, PolygonRestFromSettings).pipe(Layer.provideMerge(AlertsLayer))

/** `base` (which has PolygonRest and the lake) plus the ContractRegistry and the MarketClock it asks for holidays. */
export const withContractRegistry = <ROut, E, RIn>(base: Layer.Layer<ROut, E, RIn>) =>
  ContractRegistry.layer.pipe(Layer.provide(MarketClock.layer), Layer.provideMerge(base))

/** The lake services, PolygonRest and the ContractRegistry. */
export const BackfillLayer = withContractRegistry(LakeAndRest)
