/**
 * One backfill unit: fetch raw items, normalize them, write the Parquet file atomically,
 * quarantine the rejects, report drift, then checkpoint. The checkpoint comes last, so a crash
 * anywhere before it only means the unit is fetched again and its file replaced.
 */
import { Clock, Effect } from "effect"
import { type Feed, type Row, SCHEMAS } from "../../domain/feeds.js"
import type { DriftFinding, Normalized, Provenance } from "../../domain/normalize.js"
import type { RawItem } from "../../services/PolygonRest.js"
import type { Rejected } from "../../services/Quarantine.js"
import type { BackfillEnv } from "./env.js"

export interface UnitSpec<E> {
  readonly feed: Feed
  readonly date: string
  /** Contract ticker for option units; undefined for day units. */
  readonly unit?: string | undefined
  /** Human label for the log line, e.g. "SPY bars". */
  readonly label: string
  readonly fetch: Effect.Effect<ReadonlyArray<RawItem>, E>
  readonly normalize: (raw: RawItem, p: Provenance) => Normalized
  /** Optional filter on normalized rows (e.g. news outside the trading date). */
  readonly keep?: (row: Row) => boolean
  readonly target: string
}

export interface UnitResult {
  readonly rows: number
  readonly quarantined: number
  readonly skipped: boolean
}

export const runUnit = <E>(env: BackfillEnv, spec: UnitSpec<E>) =>
  Effect.gen(function* () {
    if (!env.overwrite) {
      const done = yield* env.checkpoints.get(spec.feed, spec.date, spec.unit)
      if (done) return { rows: done.rows, quarantined: done.quarantined, skipped: true } satisfies UnitResult
    }
    const startedAt = yield* Clock.currentTimeMillis
    const raw = yield* spec.fetch
    const receivedAtMs = yield* Clock.currentTimeMillis
    const provenance: Provenance = { source: "rest", receivedAtMs }
    const rows: Array<Row> = []
    const rejected: Array<Rejected> = []
    const drift = new Map<string, DriftFinding>()
    for (const item of raw) {
      const n = spec.normalize(item, provenance)
      for (const d of n.drift) drift.set(`${d.kind}|${d.field}`, d)
      if (!n.ok) rejected.push({ reason: n.reason, raw: item })
      else if (spec.keep === undefined || spec.keep(n.row)) rows.push(n.row)
    }
    if (drift.size > 0) yield* env.drift.report(spec.date, [...drift.values()])
    const written = yield* env.writer.write(SCHEMAS[spec.feed], rows, spec.target)
    yield* env.quarantine.put(spec.feed, spec.date, spec.unit ?? "_day", rejected)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* env.checkpoints.put({
      feed: spec.feed,
      date: spec.date,
      unit: spec.unit,
      rows: written,
      quarantined: rejected.length,
      completedAtMs: finishedAt
    })
    if (spec.unit === undefined) {
      const q = rejected.length > 0 ? ` (${rejected.length.toLocaleString("en-US")} quarantined)` : ""
      yield* Effect.logInfo(
        `Fetched ${written.toLocaleString("en-US")} ${spec.label} for ${spec.date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s${q}`
      )
    }
    return { rows: written, quarantined: rejected.length, skipped: false } satisfies UnitResult
  })
