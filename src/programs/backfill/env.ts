/** Everything a backfill unit needs, resolved once per run. */
import type { Settings } from "../../config/Settings.js"
import type { LakePaths } from "../../domain/paths.js"
import type { CheckpointsService } from "../../services/Checkpoints.js"
import type { ParquetWriterService } from "../../services/ParquetWriter.js"
import type { PolygonRestService } from "../../services/polygon/PolygonRest.js"
import type { QuarantineService } from "../../services/Quarantine.js"
import type { SchemaDriftService } from "../../services/SchemaDrift.js"

export interface BackfillEnv {
  readonly settings: Settings
  readonly paths: LakePaths
  readonly rest: PolygonRestService
  readonly writer: ParquetWriterService
  readonly checkpoints: CheckpointsService
  readonly quarantine: QuarantineService
  readonly drift: SchemaDriftService
  readonly overwrite: boolean
  /** `session.hours: regular`: whether a bar starting at this ms is inside its date's session; undefined keeps all. */
  readonly inSession?: ((startMs: number) => boolean) | undefined
}
