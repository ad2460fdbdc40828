/**
 * SPY's price as the platform already receives it: the `A` bars of the /stocks connection. The
 * SPY journal handle is wrapped so that each frame, right after it is journaled, also updates
 * the latest price (the close of the latest window) and calls the listener, synchronously, with
 * the receipt time the journal recorded (Effect Clock). Nothing else on the hot path changes.
 */
import type { JournalHandle } from "../journal/Journal.js"

export interface SpyPrice {
  readonly price: number
  /** Window start of the bar it comes from. */
  readonly windowStartMs: number
  /** Receipt time (Effect Clock), as journaled. */
  readonly receivedMs: number
}

export interface SpyPrices {
  readonly latest: () => SpyPrice | undefined
  /** Called on every newer price; one listener (the re-centring), replaced by a later call. */
  readonly listen: (listener: (p: SpyPrice) => void) => void
  /** The SPY journal with the tap in front of it. */
  readonly tap: (journal: JournalHandle) => JournalHandle
  /** Write a marker into the tapped journal, ordered with the frames (e.g. from where on the prices are followed). */
  readonly mark: (data: Record<string, unknown>, ms: number) => void
}

/** The newest `A` bar of `ticker` in a raw frame: [window start, close], or undefined. */
export const latestBar = (raw: string, ticker: string): [number, number] | undefined => {
  if (!raw.includes('"A"')) return undefined
  let events: unknown
  try {
    events = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!Array.isArray(events)) return undefined
  let best: [number, number] | undefined
  for (const e of events) {
    if (e === null || typeof e !== "object") continue
    const r = e as Record<string, unknown>
    if (r["ev"] !== "A" || r["sym"] !== ticker) continue
    const s = r["s"]
    const c = r["c"]
    if (typeof s !== "number" || typeof c !== "number") continue
    if (best === undefined || s >= best[0]) best = [s, c]
  }
  return best
}

export const makeSpyPrices = (ticker: string): SpyPrices => {
  let latest: SpyPrice | undefined
  let listener: ((p: SpyPrice) => void) | undefined
  let tapped: JournalHandle | undefined
  const onFrame = (raw: string, receivedMs: number) => {
    const bar = latestBar(raw, ticker)
    if (bar === undefined || (latest !== undefined && bar[0] < latest.windowStartMs)) return
    latest = { price: bar[1], windowStartMs: bar[0], receivedMs }
    try {
      listener?.(latest)
    } catch {
      // never let the listener break the socket's path
    }
  }
  return {
    latest: () => latest,
    listen: (l) => void (listener = l),
    tap: (journal) => {
      tapped = journal
      return {
        ...journal,
        append: (raw, receivedMs) => {
          journal.append(raw, receivedMs)
          // SPY frames are one small event a second: decoding them to text costs nothing here
          onFrame(
            typeof raw === "string" ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("utf8"),
            receivedMs
          )
        }
      }
    },
    mark: (data, ms) => tapped?.marker(data, ms)
  }
}
