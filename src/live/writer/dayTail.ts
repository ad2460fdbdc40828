/**
 * The tail of a live day. `live` stops `live.shutdown_before_close_s` before the close, so the
 * sockets never deliver the last bars; after the close (+ `live.close_fetch_delay_s`) each writer
 * fetches, for every ticker subscribed when the sockets stopped, the bars from its last one up to
 * the close over REST and commits them like a gap repair (GapRepair.tailToClose). This module says
 * which option contracts those are: the day's set, or with re-centring the set its log ends with
 * (`other`: a further underlying's set and log).
 */
import { Effect } from "effect"
import type { Session } from "../../domain/calendar.js"
import { replay } from "../../domain/recenter.js"
import type { ContractSet } from "../contracts/contractSet.js"
import { readLog } from "../contracts/recenterLog.js"

export const subscribedAtClose = (
  root: string,
  session: Session,
  set: ContractSet,
  recenter: boolean,
  other?: string
): Effect.Effect<ReadonlyArray<string>> => {
  const openSet = set.contracts.map((c) => c.ticker)
  if (!recenter) return Effect.succeed(openSet)
  return readLog(root, session.date, other).pipe(
    Effect.map(
      (log) => replay({ anchor: set.openPrice, changedAtMs: session.openMs, current: openSet }, log.entries).current
    )
  )
}
