/**
 * The coordinator's relay of socket-shard journals (distributed live): every complete line of every
 * incarnation file is relayed once, in file order, frames with their receipt time and markers as
 * written; a torn last line waits for its end; positions saved and read back resume without a
 * repeat; a stop time passes over what was received after it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { JournalHandle } from "../../../src/live/journal/Journal.js"
import { frameLine, markerLine } from "../../../src/live/journal/journalLines.js"
import { readPositions, relayOnce, savePositions } from "../../../src/live/journal/shardRelay.js"

const recorder = () => {
  const got: Array<string> = []
  const journal = {
    append: (raw: Uint8Array | string, ms: number) => got.push(`F ${ms} ${Buffer.from(raw).toString("utf8")}`),
    marker: (data: Record<string, unknown>, ms: number) => got.push(`M ${ms} ${JSON.stringify(data)}`)
  } as unknown as JournalHandle
  return { got, journal }
}
const frame = (raw: string, ms: number) => Buffer.concat(frameLine(Buffer.from(raw), ms))

describe("shardRelay", () => {
  it("relays every file's complete lines once, resumes from saved positions, cuts at a stop time", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relay-"))
    const a = path.join(dir, "000000000001000-11.ndjson")
    const b = path.join(dir, "000000000005000-22.ndjson")
    fs.writeFileSync(
      a,
      Buffer.concat([markerLine({ conn: "options-0", epoch: 1 }, 1000), frame('[{"ev":"A","t":1}]', 1001)])
    )
    // a torn line: its writer has not finished it
    fs.appendFileSync(a, '[1002,[{"ev":"A"')
    const { got, journal } = recorder()
    const positions = {}
    expect(relayOnce(dir, positions, journal)).toEqual({ frames: 1, markers: 1, corrupt: 0, more: false })
    fs.appendFileSync(a, ',"t":2}]]\n')
    fs.writeFileSync(b, Buffer.concat([markerLine({ conn: "options-0", epoch: 1 }, 5000), frame("[3]", 5001)]))
    expect(relayOnce(dir, positions, journal)).toEqual({ frames: 2, markers: 1, corrupt: 0, more: false })
    expect(got).toEqual([
      'M 1000 {"conn":"options-0","epoch":1}',
      'F 1001 [{"ev":"A","t":1}]',
      'F 1002 [{"ev":"A","t":2}]',
      'M 5000 {"conn":"options-0","epoch":1}',
      "F 5001 [3]"
    ])
    expect(relayOnce(dir, positions, journal)).toEqual({ frames: 0, markers: 0, corrupt: 0, more: false })

    const saved = path.join(dir, "state", "relay", "options-0.json")
    savePositions(saved, positions)
    fs.appendFileSync(b, Buffer.concat([frame("[4]", 6000), frame("[5]", 7000), markerLine({ conn: "x" }, 7001)]))
    const resumed = recorder()
    expect(relayOnce(dir, readPositions(saved), resumed.journal, 6500)).toEqual({
      frames: 1,
      markers: 0,
      corrupt: 0,
      more: false
    })
    expect(resumed.got).toEqual(["F 6000 [4]"])

    // a pass stops at its byte budget (whole lines), the next one goes on from there
    const sliced = recorder()
    const at: Record<string, number> = {}
    const first = relayOnce(dir, at, sliced.journal, Infinity, 1)
    expect(first).toEqual({ frames: 0, markers: 1, corrupt: 0, more: true })
    let passes = 1
    while (relayOnce(dir, at, sliced.journal, Infinity, 1).more) passes++
    expect(sliced.got).toEqual([...got, "F 6000 [4]", "F 7000 [5]", 'M 7001 {"conn":"x"}'])
    expect(passes).toBeGreaterThan(2)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("a missing folder relays nothing; unreadable positions start from the beginning", () => {
    const { got, journal } = recorder()
    expect(relayOnce("/nonexistent/relay", {}, journal)).toEqual({ frames: 0, markers: 0, corrupt: 0, more: false })
    expect(got).toEqual([])
    expect(readPositions("/nonexistent/positions.json")).toEqual({})
  })
})
