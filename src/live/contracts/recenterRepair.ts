/**
 * Gap repair for subscriptions that change during the day (re-centring). Each change (and each
 * restart that resumes a re-centred set) writes a marker into the options journal before any
 * frame of the new subscriptions:
 *
 *   `["M", <ms>, {"conn":"recenter","subscriptions":{"added":{"O:…":<from>},"dropped":{"O:…":<until>}}}]`
 *
 * `from`/`until` are window starts (the window containing the change). The writer applies it to
 * its gap-repair state, in journal order, so a replay after a crash reaches the same state:
 * - added: the ticker is covered from `from` on, never before: its "last bar" is raised to
 *   `from − 1` and it is pending from there, exactly like a ticker of a connection that just
 *   (re)subscribed: its first streamed bar closes the gap, and what lies between the change and
 *   that bar (a window the server had already passed when the subscribe reached it) is fetched
 *   over REST (usually nothing; one small request per added ticker). A later reconnect repairs
 *   at most back to the subscription, never to the open.
 * - dropped: a gap still open for it (a reconnect with no bar since) is closed at `until` and
 *   repaired up to there; nothing after its unsubscription is ever fetched.
 */
import type { RepairState } from "../writer/GapRepair.js"

export type SubscriptionMarker = {
  readonly conn: "recenter"
  readonly subscriptions: {
    readonly added: Readonly<Record<string, number>>
    readonly dropped: Readonly<Record<string, number>>
  }
}

export const subscriptionMarker = (
  added: Readonly<Record<string, number>>,
  dropped: Readonly<Record<string, number>>
): SubscriptionMarker => ({
  conn: "recenter",
  subscriptions: { added, dropped }
})

const numbers = (x: unknown): ReadonlyArray<[string, number]> =>
  x !== null && typeof x === "object"
    ? Object.entries(x as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === "number")
    : []

/** Apply a journal marker's subscription change (a no-op for any other marker). */
export const onSubscriptionMarker = (s: RepairState, data: Readonly<Record<string, unknown>>, stepMs: number): void => {
  const subs = data["subscriptions"] as Record<string, unknown> | undefined
  if (subs === undefined || subs === null || typeof subs !== "object") return
  for (const [ticker, until] of numbers(subs["dropped"])) {
    // A subscription change takes the ticker out of its connection's reconnect group: only its
    // own bars may close its gap from now on (a group is the tickers subscribed in one go).
    s.groupOf.delete(ticker)
    const from = s.pending.get(ticker)
    if (from === undefined) continue
    if (until - from > stepMs) s.due.push({ ticker, after: from, before: until })
    s.pending.delete(ticker)
  }
  for (const [ticker, from] of numbers(subs["added"])) {
    s.groupOf.delete(ticker)
    const floor = from - 1
    const last = s.lastStart.get(ticker)
    if (last === undefined || last < floor) s.lastStart.set(ticker, floor)
    const pending = s.pending.get(ticker)
    if (pending === undefined || pending < floor) s.pending.set(ticker, Math.max(floor, s.lastStart.get(ticker)!))
  }
}
