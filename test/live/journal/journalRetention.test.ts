/**
 * Journal retention: journals of dates more than `retain_days` trading days before today are
 * deleted when their checkpoint covers their end; an uncovered one (no checkpoint, or an offset
 * short of the file's end) is kept, today's is never touched, and other files are left alone.
 * Trading days, not calendar days: weekends and holidays do not count.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { holidayIndex } from "../../../src/domain/calendar.js"
import { nyseHolidays } from "../../../src/domain/nyseHolidays.js"
import { pruneJournals, retentionCutoff } from "../../../src/live/journal/journalRetention.js"
import { checkpointFile, type LiveCheckpoint } from "../../../src/live/writer/liveFiles.js"
import { tempRoot } from "../../helpers/settings.js"

const HOLIDAYS = holidayIndex(nyseHolidays(2025))
const LINE = '[1,[{"ev":"A","sym":"SPY","s":1}]]\n'

/** A journal of `lines` lines and, when `cpLines` is given, a checkpoint at that many lines plus `cpExtraBytes`. */
const journal = (
  root: string,
  feed: "spy" | "vix" | "options",
  date: string,
  lines: number,
  cpLines?: number,
  cpExtraBytes = 0
) => {
  const file = path.join(root, "journal", feed, `${date}.ndjson`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, LINE.repeat(lines))
  if (cpLines !== undefined) {
    const cp: LiveCheckpoint = {
      version: 1,
      feed,
      date,
      journal: file,
      offset: cpLines * LINE.length + cpExtraBytes,
      seq: 1,
      rowsCommitted: cpLines,
      lastStart: {},
      pending: {},
      due: [],
      updatedAtMs: 0
    }
    fs.mkdirSync(path.dirname(checkpointFile(root, feed, date)), { recursive: true })
    fs.writeFileSync(checkpointFile(root, feed, date), JSON.stringify(cp))
  }
}

const remaining = (root: string) =>
  fs
    .readdirSync(path.join(root, "journal"))
    .sort()
    .flatMap((feed) =>
      fs
        .readdirSync(path.join(root, "journal", feed))
        .sort()
        .map((n) => `${feed}/${n}`)
    )

describe("journal retention", () => {
  it("the cutoff counts trading days back (weekends and holidays skipped)", () => {
    assert.strictEqual(retentionCutoff("2025-10-29", 2, HOLIDAYS), "2025-10-27")
    assert.strictEqual(retentionCutoff("2025-10-29", 0, HOLIDAYS), "2025-10-29")
    assert.strictEqual(retentionCutoff("2025-10-29", 7, HOLIDAYS), "2025-10-20")
    // Thanksgiving (Thu 2025-11-27) is not a trading day
    assert.strictEqual(retentionCutoff("2025-11-28", 2, HOLIDAYS), "2025-11-25")
  })

  it.effect("deletes exactly the old, fully checkpointed journals", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-retention-"))
      const today = "2025-10-29"
      journal(root, "spy", today, 5) // today, no checkpoint: kept
      journal(root, "spy", "2025-10-28", 4, 4) // 1 trading day back: kept
      journal(root, "spy", "2025-10-27", 4, 4) // 2 back (= cutoff): kept
      journal(root, "spy", "2025-10-24", 4, 4) // 3 back, covered: deleted
      journal(root, "spy", "2025-10-25", 2, 2) // a Saturday before the cutoff, covered: deleted
      journal(root, "options", "2025-10-23", 6, 5) // checkpoint one line short: kept
      journal(root, "options", "2025-10-22", 3) // no checkpoint: kept
      journal(root, "options", "2025-10-21", 3, 3, 10) // checkpoint past the end (file shorter): covered, deleted
      journal(root, "vix", "2025-10-21", 0) // empty, no checkpoint: nothing to lose, deleted
      journal(root, "vix", "2025-10-20", 7, 7) // covered: deleted
      fs.writeFileSync(path.join(root, "journal", "vix", "notes.txt"), "not a journal")
      fs.writeFileSync(path.join(root, "journal", "vix", "2025-10-17.ndjson.tmp"), "not a journal")
      const out = yield* pruneJournals(root, today, 2, HOLIDAYS)
      assert.deepStrictEqual(remaining(root), [
        "options/2025-10-22.ndjson",
        "options/2025-10-23.ndjson",
        "spy/2025-10-27.ndjson",
        "spy/2025-10-28.ndjson",
        "spy/2025-10-29.ndjson",
        "vix/2025-10-17.ndjson.tmp",
        "vix/notes.txt"
      ])
      assert.deepStrictEqual(out.deleted.map((f) => path.relative(path.join(root, "journal"), f)).sort(), [
        "options/2025-10-21.ndjson",
        "spy/2025-10-24.ndjson",
        "spy/2025-10-25.ndjson",
        "vix/2025-10-20.ndjson",
        "vix/2025-10-21.ndjson"
      ])
      assert.deepStrictEqual(out.uncovered.map((f) => path.relative(path.join(root, "journal"), f)).sort(), [
        "options/2025-10-22.ndjson",
        "options/2025-10-23.ndjson"
      ])
      // the checkpoints themselves stay (they are the lake's record, not the journal's)
      assert.isTrue(fs.existsSync(checkpointFile(root, "spy", "2025-10-24")))
    })
  )

  it.effect(
    "retain_days 0 keeps only today's; an uncovered journal of today is never deleted; no journal dir is fine",
    () =>
      Effect.gen(function* () {
        const empty = yield* Effect.promise(() => tempRoot("journal-retention-"))
        assert.deepStrictEqual(yield* pruneJournals(empty, "2025-10-29", 7, HOLIDAYS), { deleted: [], uncovered: [] })
        const root = yield* Effect.promise(() => tempRoot("journal-retention-"))
        journal(root, "spy", "2025-10-29", 3, 3)
        journal(root, "spy", "2025-10-28", 3, 3)
        journal(root, "vix", "2025-11-26", 3, 3) // a date after today (clock set back): never deleted
        yield* pruneJournals(root, "2025-10-29", 0, HOLIDAYS)
        assert.deepStrictEqual(remaining(root), ["spy/2025-10-29.ndjson", "vix/2025-11-26.ndjson"])
      })
  )

  it.effect("around a holiday: 2 trading days back from the Friday after Thanksgiving keep Tuesday and Wednesday", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-retention-"))
      for (const d of ["2025-11-21", "2025-11-24", "2025-11-25", "2025-11-26", "2025-11-28"])
        journal(root, "spy", d, 2, 2)
      yield* pruneJournals(root, "2025-11-28", 2, HOLIDAYS)
      assert.deepStrictEqual(remaining(root), [
        "spy/2025-11-25.ndjson",
        "spy/2025-11-26.ndjson",
        "spy/2025-11-28.ndjson"
      ])
    })
  )

  it.effect(
    "the runners' shard journals (live --cluster): an old date is deleted once every file was relayed to its end",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("journal-retention-"))
        const shard = (date: string, connection: string, file: string, bytes: number, relayed?: number) => {
          const dir = path.join(root, "journal", "shards", date, connection)
          fs.mkdirSync(dir, { recursive: true })
          fs.writeFileSync(path.join(dir, file), LINE.repeat(bytes / LINE.length))
          if (relayed !== undefined) {
            const pos = path.join(root, "state", "cluster", "live", date, "relay", `${connection}.json`)
            const prev = fs.existsSync(pos) ? (JSON.parse(fs.readFileSync(pos, "utf8")) as Record<string, number>) : {}
            fs.mkdirSync(path.dirname(pos), { recursive: true })
            fs.writeFileSync(pos, JSON.stringify({ ...prev, [file]: relayed }))
          }
        }
        const n = LINE.length
        shard("2025-10-22", "spy-0", "1-1.ndjson", 3 * n, 3 * n) // relayed: deleted
        shard("2025-10-22", "spy-0", "2-2.ndjson", 2 * n, 2 * n)
        shard("2025-10-23", "options-0", "1-1.ndjson", 3 * n, 3 * n)
        shard("2025-10-23", "options-1", "1-1.ndjson", 3 * n, 2 * n) // one line not relayed: the date is kept
        shard("2025-10-24", "vix-0", "1-1.ndjson", 3 * n) // no positions at all: kept
        shard("2025-10-27", "spy-0", "1-1.ndjson", 3 * n, 3 * n) // the cutoff: kept
        const out = yield* pruneJournals(root, "2025-10-29", 2, HOLIDAYS)
        assert.deepStrictEqual(fs.readdirSync(path.join(root, "journal", "shards")).sort(), [
          "2025-10-23",
          "2025-10-24",
          "2025-10-27"
        ])
        assert.deepStrictEqual(
          out.deleted.map((f) => path.relative(root, f)),
          ["journal/shards/2025-10-22"]
        )
        assert.deepStrictEqual(
          out.uncovered.map((f) => path.relative(root, f)),
          ["journal/shards/2025-10-23", "journal/shards/2025-10-24"]
        )
      })
  )
})
