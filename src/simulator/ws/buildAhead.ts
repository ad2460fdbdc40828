/**
 * Building frame chunks ahead of the replay at speed `max` (while it holds before its first
 * frame, and while it waits for readers): from the cursor's chunk on, through the cursor's
 * session and the next one, while the chunk cache holds less than AHEAD_BYTES, and nothing at
 * or after `replayUntilMs`. The market is deterministic, so this is the same work the replay
 * would do later, done when it would otherwise wait.
 */
import { nyDateOf, type Session } from "../../domain/calendar.js"
import type { Batch } from "./batch.js"
import type { Connection } from "./connection.js"
import { CHUNK_SECONDS, type FrameChunks, spanOf } from "./frameChunks.js"
import type { makeSessions } from "./sessions.js"

/** Serialized events held ahead of the cursor at most. */
export const AHEAD_BYTES = 256 * 1024 * 1024

export interface BuildAheadDeps {
  readonly sessions: ReturnType<typeof makeSessions>
  readonly batch: Batch
  readonly chunks: FrameChunks
  readonly replayUntilMs: () => number
}

export const makeBuildAhead = (deps: BuildAheadDeps) => {
  const { sessions, batch, chunks } = deps
  /** The first session opening at or after ms (calendar math is slow: remembered). */
  const nextSessions = new Map<number, Session | undefined>()
  const sessionFrom = (ms: number): Session | undefined => {
    if (!nextSessions.has(ms)) {
      if (nextSessions.size >= 64) nextSessions.clear()
      nextSessions.set(ms, sessions.sessionOn(nyDateOf(sessions.nextOpenAtOrAfter(ms))))
    }
    return nextSessions.get(ms)
  }

  const build = (list: ReadonlyArray<Connection>, cursor: number, deadline: number): boolean => {
    const until = deps.replayUntilMs() > 0 ? deps.replayUntilMs() : Infinity
    let session = sessions.containing(cursor)
    let index = session === undefined ? 0 : batch.chunkIndexOf(session, cursor)
    session ??= sessionFrom(cursor)
    for (let ahead = 0; session !== undefined; index++) {
      if (index * CHUNK_SECONDS >= spanOf(session)) {
        if (ahead++ >= 1) return true
        session = sessionFrom(session.closeMs)
        index = 0
        if (session === undefined) return true
      }
      if (chunks.bytes() >= AHEAD_BYTES || session.openMs + index * CHUNK_SECONDS * 1000 >= until) return true
      if (!batch.ready(list, session, index, deadline)) return false
    }
    return true
  }

  // nothing new to build while the cursor and the connections' subscriptions stay put
  const ids = new WeakMap<Connection, number>()
  let nextId = 0
  let builtFor = ""
  return {
    /** Build ahead until the deadline; true when there is nothing more to build now. */
    warm: (list: ReadonlyArray<Connection>, cursor: number, deadline: number): boolean => {
      const idOf = (c: Connection) => ids.get(c) ?? (ids.set(c, ++nextId), nextId)
      const key = `${cursor}|${list.map((c) => `${idOf(c)}.${c.subs.version}`).join(",")}`
      if (key === builtFor) return true
      const done = build(list, cursor, deadline)
      if (done) builtFor = key
      return done
    }
  }
}
