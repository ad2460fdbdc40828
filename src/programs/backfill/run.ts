/**
 * What a backfill run decides for every unit; the services (PolygonRest, ParquetWriter,
 * Checkpoints, Quarantine, SchemaDrift, ContractRegistry, AppSettings) come from the context.
 */
export interface BackfillRun {
  /** `--overwrite`: units fetched again and partitions replaced, checkpoints ignored. */
  readonly overwrite: boolean
  /** `session.hours: regular`: whether a bar starting at this ms is inside its date's session; undefined keeps all. */
  readonly inSession?: ((startMs: number) => boolean) | undefined
}
