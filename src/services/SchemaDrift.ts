/**
 * Schema drift: reported once per (trading date, feed, kind, field), as a log line and a line in
 * `data/state/schema_drift.ndjson`; the alert hook is called once per (trading date, feed), with
 * every field found in that report (also across restarts: the file says what was already seen).
 * Processing always continues.
 */
import { Clock, Context, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { DriftFinding } from "../domain/normalize.js"
import { lakePaths } from "../domain/paths.js"

export interface SchemaDriftService {
  readonly report: (date: string, findings: ReadonlyArray<DriftFinding>) => Effect.Effect<void>
  /** Keys `date|feed|kind|field` reported so far (this process and earlier ones). */
  readonly seen: () => ReadonlySet<string>
}

export class SchemaDrift extends Context.Tag("spy/SchemaDrift")<SchemaDrift, SchemaDriftService>() {}

export type DriftAlertHook = (message: string, details: Record<string, unknown>) => Effect.Effect<void>

export const make = (root: string, onDrift?: DriftAlertHook) =>
  Effect.gen(function* () {
    const file = lakePaths(root).driftFile
    const seen = new Set<string>()
    const previous = yield* Effect.promise(() => fs.readFile(file, "utf8").catch(() => ""))
    for (const line of previous.split("\n")) {
      if (!line) continue
      const d = JSON.parse(line) as { date: string; feed: string; kind: string; field: string }
      seen.add(`${d.date}|${d.feed}|${d.kind}|${d.field}`)
    }
    const lock = yield* Effect.makeSemaphore(1)
    const alerted = new Set(Array.from(seen, (k) => k.split("|").slice(0, 2).join("|")))
    const report = (date: string, findings: ReadonlyArray<DriftFinding>) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const fresh = findings.filter((f) => !seen.has(`${date}|${f.feed}|${f.kind}|${f.field}`))
          if (fresh.length === 0) return
          const now = new Date(yield* Clock.currentTimeMillis).toISOString()
          const lines: Array<string> = []
          for (const f of fresh) {
            const key = `${date}|${f.feed}|${f.kind}|${f.field}`
            if (seen.has(key)) continue
            seen.add(key)
            lines.push(JSON.stringify({ at: now, date, feed: f.feed, kind: f.kind, field: f.field }))
            const message = `Schema drift in ${f.feed} for ${date}: ${f.kind.replace("_", " ")} "${f.field}" (processing continues)`
            yield* Effect.logWarning(message)
          }
          if (onDrift) yield* alertOncePerFeed(date, fresh, alerted, onDrift)
          yield* Effect.promise(async () => {
            await fs.mkdir(path.dirname(file), { recursive: true })
            await fs.appendFile(file, lines.join("\n") + "\n")
          })
        })
      )
    return { report, seen: () => seen } satisfies SchemaDriftService
  })

const alertOncePerFeed = (
  date: string,
  fresh: ReadonlyArray<DriftFinding>,
  alerted: Set<string>,
  onDrift: DriftAlertHook
) =>
  Effect.forEach(
    new Set(fresh.map((f) => f.feed)),
    (feed) => {
      if (alerted.has(`${date}|${feed}`)) return Effect.void
      alerted.add(`${date}|${feed}`)
      const fields = fresh.filter((f) => f.feed === feed).map((f) => `${f.kind.replace("_", " ")} "${f.field}"`)
      return onDrift(`Schema drift in ${feed} for ${date}: ${fields.join(", ")} (processing continues)`, {
        source: feed,
        date,
        fields
      })
    },
    { discard: true }
  )

export const layer = (root: string, onDrift?: DriftAlertHook): Layer.Layer<SchemaDrift> =>
  Layer.effect(SchemaDrift, make(root, onDrift))
