/**
 * One backfill unit: fetch, normalize, store, quarantine the rejects, report drift, then
 * checkpoint. The checkpoint comes last, so a crash anywhere before it only means the unit is
 * fetched again and what it stored replaced.
 */
import { Clock, Effect } from "effect"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import { type Feed, type Row, SCHEMAS } from "../../domain/feeds.js"
import type { DriftFinding, Normalized, Provenance } from "../../domain/normalize.js"
import { keepBatch, keepRows } from "../../domain/sessionFilter.js"
import { AppSettings } from "../../services/AppSettings.js"
import { Checkpoints } from "../../services/Checkpoints.js"
import { type LakeWriteError, ParquetWriter, type UpsertInput } from "../../services/ParquetWriter.js"
import type { RawItem } from "../../services/polygon/PolygonRest.js"
import { Quarantine, type Rejected } from "../../services/Quarantine.js"
import { SchemaDrift } from "../../services/SchemaDrift.js"
import type { BackfillRun } from "./run.js"

/** What a unit fetched: raw items, or items the client already decoded as clean (no drift, no rejects). */
export type Fetched =
  | { readonly _tag: "Items"; readonly items: ReadonlyArray<RawItem> }
  | { readonly _tag: "Clean"; readonly rows: (p: Provenance) => ColumnBatch | Array<Row> }

/** Where a unit's rows go (a Parquet file, or a staging file); each returns the rows stored. */
export interface UnitStore<E> {
  readonly rows: (rows: ReadonlyArray<Row>) => Effect.Effect<number, E>
  readonly batch: (batch: ColumnBatch) => Effect.Effect<number, E>
}

export interface UnitSpec<E, S, R = never> {
  readonly feed: Feed
  readonly date: string
  /** Contract ticker for option units; undefined for day units. */
  readonly unit?: string | undefined
  /** Human label for the log line, e.g. "SPY bars". */
  readonly label: string
  readonly fetch: Effect.Effect<Fetched, E, R>
  readonly normalize: (raw: RawItem, p: Provenance) => Normalized
  /** Optional filter on rows normalized from items (e.g. news outside the trading date). */
  readonly keep?: (row: Row) => boolean
  /** Bars: keep only those inside the regular session when `run.inSession` is set (news: false). */
  readonly bars: boolean
  readonly store: UnitStore<S>
}

export interface UnitResult {
  readonly rows: number
  readonly quarantined: number
  /** Bars fetched and not stored for falling outside the regular session. */
  readonly outsideSession: number
  readonly skipped: boolean
}

export const runUnit = <E, S, R>(run: BackfillRun, spec: UnitSpec<E, S, R>) =>
  Effect.gen(function* () {
    const checkpoints = yield* Checkpoints
    if (!run.overwrite) {
      const done = yield* checkpoints.get(spec.feed, spec.date, spec.unit)
      if (done)
        return {
          rows: done.rows,
          quarantined: done.quarantined,
          outsideSession: done.outsideSession ?? 0,
          skipped: true
        } satisfies UnitResult
    }
    const startedAt = yield* Clock.currentTimeMillis
    const fetched = yield* spec.fetch
    const receivedAtMs = yield* Clock.currentTimeMillis
    const provenance: Provenance = { source: "rest", receivedAtMs }
    const rejected: Array<Rejected> = []
    const inSession = spec.bars ? run.inSession : undefined
    let written: number
    let outsideSession = 0
    if (fetched._tag === "Clean") {
      const clean = fetched.rows(provenance)
      if (Array.isArray(clean)) {
        const { kept, outside } = inSession === undefined ? { kept: clean, outside: 0 } : keepRows(clean, inSession)
        outsideSession = outside
        written = yield* spec.store.rows(kept)
      } else {
        const { kept, outside } = inSession === undefined ? { kept: clean, outside: 0 } : keepBatch(clean, inSession)
        outsideSession = outside
        written = yield* spec.store.batch(kept)
      }
    } else {
      const rows: Array<Row> = []
      const drift = new Map<string, DriftFinding>()
      for (const item of fetched.items) {
        const n = spec.normalize(item, provenance)
        for (const d of n.drift) drift.set(`${d.kind}|${d.field}`, d)
        if (!n.ok) rejected.push({ reason: n.reason, raw: item })
        else if (spec.keep === undefined || spec.keep(n.row)) rows.push(n.row)
      }
      if (drift.size > 0) yield* (yield* SchemaDrift).report(spec.date, [...drift.values()])
      const { kept, outside } = inSession === undefined ? { kept: rows, outside: 0 } : keepRows(rows, inSession)
      outsideSession = outside
      written = yield* spec.store.rows(kept)
    }
    yield* (yield* Quarantine).put(spec.feed, spec.date, spec.unit ?? "_day", rejected)
    const finishedAt = yield* Clock.currentTimeMillis
    yield* checkpoints.put({
      feed: spec.feed,
      date: spec.date,
      unit: spec.unit,
      rows: written,
      quarantined: rejected.length,
      outsideSession,
      completedAtMs: finishedAt
    })
    if (spec.feed !== "options") {
      const q =
        (rejected.length > 0 ? ` (${rejected.length.toLocaleString("en-US")} quarantined)` : "") +
        (outsideSession > 0
          ? ` (${outsideSession.toLocaleString("en-US")} outside the regular session, not stored)`
          : "")
      yield* Effect.logInfo(
        `Fetched ${written.toLocaleString("en-US")} ${spec.label} for ${spec.date} in ${((finishedAt - startedAt) / 1000).toFixed(2)} s${q}`
      )
    }
    return { rows: written, quarantined: rejected.length, outsideSession, skipped: false } satisfies UnitResult
  })

/** Units of a feed's day, one per ticker, as one result (rows and rejects summed; skipped when all were). */
export const sumResults = (results: ReadonlyArray<UnitResult>): UnitResult => ({
  rows: results.reduce((n, r) => n + r.rows, 0),
  quarantined: results.reduce((n, r) => n + r.quarantined, 0),
  outsideSession: results.reduce((n, r) => n + r.outsideSession, 0),
  skipped: results.every((r) => r.skipped)
})

/**
 * A day unit's store: the (feed, date) partition, merged into; with `--overwrite` replaced, or only
 * its rows matching `scope` (a SQL predicate: one ticker of a feed that holds several) replaced.
 */
export const dayFileStore = (run: BackfillRun, feed: Feed, date: string, scope?: string) =>
  Effect.gen(function* () {
    const writer = yield* ParquetWriter
    const root = (yield* AppSettings).storage.root
    const store = (input: UpsertInput) =>
      writer
        .upsert(
          SCHEMAS[feed],
          root,
          date,
          input,
          !run.overwrite ? "merge" : scope === undefined ? "replace" : { replaceWhere: scope }
        )
        .pipe(Effect.map((r) => r.rows))
    return {
      rows: (rows) => store({ rows }),
      batch: (batch) => store({ batches: [batch] })
    } satisfies UnitStore<LakeWriteError>
  })
