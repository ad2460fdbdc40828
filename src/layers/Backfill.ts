/** Everything `backfill` needs, built from Settings. */
import { Effect, Layer } from "effect"
import { AppSettings } from "../services/AppSettings.js"
import * as Checkpoints from "../services/Checkpoints.js"
import * as DuckDb from "../services/DuckDb.js"
import * as ParquetWriter from "../services/ParquetWriter.js"
import * as Quarantine from "../services/Quarantine.js"
import * as SchemaDrift from "../services/SchemaDrift.js"
import { PolygonRestFromSettings } from "./Polygon.js"

/** Lake services rooted at `storage.root`. */
export const LakeLayer = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) =>
    Layer.mergeAll(
      ParquetWriter.layer.pipe(Layer.provideMerge(DuckDb.layer())),
      Checkpoints.layer(s.storage.root),
      Quarantine.layer(s.storage.root),
      SchemaDrift.layer(s.storage.root)
    )
  )
)

export const BackfillLayer = Layer.mergeAll(LakeLayer, PolygonRestFromSettings)
