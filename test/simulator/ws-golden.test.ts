/**
 * The replay sends byte for byte what it sent before it was rewritten for speed: the fixture
 * (fixtures/record-ws-golden.mjs, recorded with the build of commit 18dea04) holds the exact
 * event texts of three windows of the 2025-10-28 session (seed 42) per cluster, with their send
 * second, and a SHA-256 per 10 minutes over the whole session. Compared here in send order, for
 * the batched path at max and, over the first window, for the per-second path.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterEach, describe, expect, it } from "vitest"
import { nyTimeMs } from "../../src/domain/calendar.js"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"
import type { WsFaults } from "../../src/simulator/ws/index.js"
import { fixedClock, Recorder, startWsServer, type TestServer } from "./ws-helpers.js"

interface Golden {
  readonly subs: Record<string, string>
  readonly windows: Record<string, ReadonlyArray<readonly [number, string]>>
  readonly digests: Record<string, { readonly count: number; readonly per10min: ReadonlyArray<string> }>
}
const golden = JSON.parse(
  zlib
    .gunzipSync(fs.readFileSync(path.join(import.meta.dirname, "fixtures", "ws-replay-golden.json.gz")))
    .toString("utf8")
) as Golden
const DATE = "2025-10-28"
const OPEN = nyTimeMs(DATE, 9, 30),
  CLOSE = nyTimeMs(DATE, 16)
const WINDOWS = [
  [OPEN, OPEN + 150_000],
  [OPEN + 12_540_000, OPEN + 12_660_000],
  [CLOSE - 120_000, CLOSE]
] as const
const market = makeSyntheticMarket(42)

let servers: Array<TestServer> = []
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

/** Every event each cluster receives through `until` as [send second, raw text], in order. */
const record = async (faults: Partial<WsFaults>, until: number) => {
  // the replay holds (replayUntilMs) until all three clients have subscribed
  const s = await startWsServer(market, fixedClock(OPEN - 1000, "max"), {
    faults: { ...faults, replayUntilMs: OPEN - 1000 }
  })
  servers.push(s)
  const clients = Object.entries(golden.subs).map(([cluster, params]) => {
    const r = new Recorder(`ws://127.0.0.1:${s.port}/${cluster}`)
    return { cluster, params, r }
  })
  await Promise.all(clients.map(({ r }) => r.opened))
  for (const { r, params } of clients) {
    r.send({ action: "auth", params: "k" })
    r.send({ action: "subscribe", params })
  }
  const acks = (r: Recorder) =>
    r.messages.filter((m) => m["ev"] === "status" && String(m["message"]).startsWith("subscribed")).length
  await Promise.all(clients.map(({ r, params }) => r.until(() => acks(r) === params.split(",").length)))
  s.ws.setFaults({ replayUntilMs: until })
  const sendSecond = (m: Record<string, unknown>) => (m["ev"] === "V" ? (m["t"] as number) + 1000 : (m["e"] as number))
  const out: Record<string, Array<readonly [number, string]>> = {}
  for (const { cluster, r } of clients) {
    await r.until(() => r.messages.some((m) => m["ev"] !== "status" && sendSecond(m) >= until), 120_000)
    r.ws.terminate()
    const seq: Array<readonly [number, string]> = []
    for (const raw of r.raw) {
      const parsed = JSON.parse(raw) as Array<Record<string, unknown>>
      if (parsed[0]?.["ev"] === "status") continue
      const texts = raw.slice(1, -1).split(/(?<=\}),(?=\{)/)
      expect(texts.length).toBe(parsed.length)
      texts.forEach((t, i) => seq.push([sendSecond(parsed[i]!), t]))
    }
    out[cluster] = seq.filter(([k]) => k <= until)
  }
  return out
}

const inWindows = (seq: ReadonlyArray<readonly [number, string]>, to = CLOSE) =>
  seq.filter(([k]) => WINDOWS.some(([a, b]) => k > a && k <= Math.min(b, to)))

describe("WebSocket replay output equals the recorded output of the previous implementation", () => {
  it("batched at max: the whole session, event for event", async () => {
    const got = await record({}, CLOSE)
    for (const cluster of Object.keys(golden.subs)) {
      expect(inWindows(got[cluster]!)).toEqual(golden.windows[cluster])
      const digests: Array<ReturnType<typeof createHash>> = []
      for (const [k, raw] of got[cluster]!)
        (digests[Math.floor((k - OPEN - 1) / 600_000)] ??= createHash("sha256")).update(`${k}|${raw}\n`)
      expect({ count: got[cluster]!.length, per10min: digests.map((h) => h.digest("hex").slice(0, 32)) }).toEqual(
        golden.digests[cluster]
      )
    }
  }, 180_000)

  it("per second (half-open knob armed far away): the first window, event for event", async () => {
    const until = OPEN + 120_000 // a minute boundary: every cluster has an event sent then
    const got = await record({ halfOpenAfterSimSeconds: 1_000_000 }, until)
    for (const cluster of Object.keys(golden.subs))
      expect(got[cluster]).toEqual(golden.windows[cluster]!.filter(([k]) => k <= until))
  }, 60_000)
})
