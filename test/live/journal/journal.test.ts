/**
 * The journal: frames appended as bytes (CR/LF blanked) in the documented line format, many in one
 * writev; the writer's reads come from memory while the window holds the entries and from the
 * file otherwise (the same entries either way, never an entry the OS has not accepted); a line
 * torn by a crash is terminated at the next open and reads back as one corrupt entry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as Journal from "../../../src/live/journal/Journal.js"
import { type Positioned, readEntries } from "../../../src/live/journal/journalLines.js"
import { tempRoot } from "../../helpers/settings.js"

const DATE = "2025-10-28"
const frameText = (i: number) => JSON.stringify([{ ev: "A", sym: "SPY", v: i, s: 1_761_658_200_000 + i * 1000 }])

/** Entries in a comparable form. */
const plain = (es: ReadonlyArray<Positioned>) =>
  es.map((e) =>
    e._tag === "Frame"
      ? `F ${e.receivedMs} ${Buffer.from(e.raw).toString("utf8")} @${e.end}`
      : e._tag === "Marker"
        ? `M ${e.ms} ${JSON.stringify(e.data)} @${e.end}`
        : `C ${e.line} @${e.end}`
  )

/** Everything from `offset` on, through `read`, in comparable form (each read's frames are views valid until the next read or append). */
const readAll = (j: Journal.JournalHandle, offset = 0, maxBytes?: number) => {
  const out: Array<string> = []
  for (;;) {
    const { entries, next } = j.read(offset, maxBytes)
    if (next === offset) return out
    out.push(...plain(entries))
    offset = next
  }
}

const fromFile = (file: string) => {
  const size = fs.statSync(file).size
  return readEntries(file, 0, size, 1 << 30).entries
}

const tick = Effect.promise(() => new Promise<void>((r) => setImmediate(r)))

describe("Journal", () => {
  it.scoped("line format, CR/LF blanked, strings and bytes, markers; reads from memory = the file", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-"))
      const j = yield* Journal.open(root, "spy", DATE)
      j.append(Buffer.from('[{"ev":"status",\r\n"status":"connected"}]'), 1)
      j.marker({ conn: "spy-0", epoch: 1, tickers: ["SPY"] }, 2)
      j.append(frameText(1), 3)
      j.append(Buffer.from(frameText(2)).subarray(0), 4)
      assert.strictEqual(j.read(0).entries.length, 0, "nothing before the OS has it")
      yield* tick
      assert.strictEqual(
        fs.readFileSync(j.file, "utf8"),
        `[1,[{"ev":"status",  "status":"connected"}]]\n["M",2,{"conn":"spy-0","epoch":1,"tickers":["SPY"]}]\n[3,${frameText(1)}]\n[4,${frameText(2)}]\n`
      )
      const memory = readAll(j)
      assert.deepStrictEqual(memory, plain(fromFile(j.file)))
      assert.isTrue(memory[memory.length - 1]!.endsWith(`@${j.size()}`))
    })
  )

  it.scoped("thousands of frames in one tick: one writev, every line intact", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-"))
      const j = yield* Journal.open(root, "options", DATE)
      for (let i = 0; i < 5000; i++) j.append(Buffer.from(frameText(i)), 1000 + i)
      yield* tick
      const lines = fs.readFileSync(j.file, "utf8").trimEnd().split("\n")
      assert.deepStrictEqual(
        lines,
        Array.from({ length: 5000 }, (_, i) => `[${1000 + i},${frameText(i)}]`)
      )
      assert.deepStrictEqual(readAll(j, 0, 4096), plain(fromFile(j.file)))
    })
  )

  it.scoped("a small memory window: older entries come from the file, the rest from memory, the same sequence", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-"))
      const j = yield* Journal.open(root, "vix", DATE, { memoryBytes: 2000 })
      for (let i = 0; i < 300; i++) {
        j.append(Buffer.from(frameText(i)), i)
        if (i % 50 === 0) j.marker({ conn: "vix-0", epoch: i }, i)
        if (i % 7 === 0) yield* tick
      }
      yield* tick
      const all = fromFile(j.file)
      // from the start (mostly the file), from the middle, and again from the start (a writer restarted from its checkpoint)
      assert.deepStrictEqual(readAll(j, 0, 1000), plain(all))
      const mid = all[200]!.end
      assert.deepStrictEqual(readAll(j, mid), plain(all.filter((e) => e.end > mid)))
      assert.deepStrictEqual(readAll(j, 0), plain(all))
    })
  )

  it.scoped(
    "ring window: frames of varied sizes (some larger than the ring), consumed while appending, always the file's bytes",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.promise(() => tempRoot("journal-"))
        const j = yield* Journal.open(root, "options", DATE, { memoryBytes: 700 })
        let seed = 7
        const rand = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n
        const frame = (i: number) =>
          JSON.stringify([{ ev: "A", sym: "O:X".padEnd(3 + rand(i % 50 === 0 ? 900 : 220), "Y"), v: i }])
        let offset = 0
        const got: Array<string> = []
        for (let i = 0; i < 2000; i++) {
          j.append(frame(i), i)
          if (i % 97 === 0) j.marker({ conn: "options-0", epoch: i }, i)
          if (rand(3) === 0) yield* tick
          // a writer consuming (sometimes lagging): each read used before the next append, as LiveWriter does
          if (rand(4) === 0) {
            const { entries, next } = j.read(offset, 1 + rand(1500))
            got.push(...plain(entries))
            offset = next
          }
        }
        yield* tick
        got.push(...readAll(j, offset))
        assert.deepStrictEqual(got, plain(fromFile(j.file)))
        assert.strictEqual(got.length, 2000 + Math.ceil(2000 / 97))
      })
  )

  it.scoped("a line torn by a crash is terminated at the next open and reads back as one corrupt entry", () =>
    Effect.gen(function* () {
      const root = yield* Effect.promise(() => tempRoot("journal-"))
      const file = Journal.journalFile(root, "spy", DATE)
      fs.mkdirSync(`${root}/journal/spy`, { recursive: true })
      fs.writeFileSync(file, `[1,${frameText(1)}]\n[2,${frameText(2).slice(0, 20)}`)
      assert.deepStrictEqual(
        plain(readEntries(file, 0, fs.statSync(file).size).entries),
        [`F 1 ${frameText(1)} @${frameText(1).length + 5}`],
        "a torn last line is left unread"
      )
      const j = yield* Journal.open(root, "spy", DATE)
      j.append(frameText(3), 3)
      yield* tick
      const got = readAll(j)
      assert.strictEqual(got.length, 3)
      assert.match(got[1]!, /^C \[2,\[\{"ev":"A"/)
      assert.match(got[2]!, /^F 3 /)
    })
  )
})
