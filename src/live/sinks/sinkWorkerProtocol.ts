/**
 * The messages between `live` and its sink worker thread (src/programs/sinkWorker.ts,
 * src/live/sinks/SinkWorkerClient.ts), and Settings made cloneable for `workerData`: Settings holds
 * effect Options and Redacted values, whose prototypes the structured clone drops, so they travel
 * tagged and are rebuilt in the worker. Secrets (Redacted) cross only this in-process channel,
 * never a log.
 */
import { Option, Redacted } from "effect"
import type { Settings, SinkName } from "../../config/Settings.js"
import type { Feed } from "../../domain/feeds.js"
import type { SinceVersions } from "../../services/sinks/LakeReader.js"

export interface WorkerInit {
  readonly settings: unknown
  readonly sink: SinkName
  /** The worker's native-work counter (src/lib/threadExit.ts), shared with its parent. */
  readonly nativeState: SharedArrayBuffer
}

export type ToWorker =
  | {
      readonly type: "load"
      readonly id: number
      readonly feed: Feed
      readonly date: string
      readonly files: ReadonlyArray<string>
      readonly since?: SinceVersions | undefined
    }
  | { readonly type: "stop" }

export interface WireError {
  readonly sink: string
  readonly operation: string
  readonly message: string
}

export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "fatal"; readonly error: WireError }
  | { readonly type: "done"; readonly id: number; readonly written: number }
  | { readonly type: "failed"; readonly id: number; readonly error: WireError }
  | {
      readonly type: "alert"
      readonly kind: string
      readonly message: string
      readonly details: Record<string, unknown>
    }
  | { readonly type: "log"; readonly level: "Debug" | "Info" | "Warning" | "Error"; readonly message: string }

const OPT = "~option"
const RED = "~redacted"

export const encodeValue = (v: unknown): unknown => {
  if (Option.isOption(v)) return { [OPT]: Option.isSome(v) ? [encodeValue(v.value)] : [] }
  if (Redacted.isRedacted(v)) return { [RED]: encodeValue(Redacted.value(v)) }
  if (Array.isArray(v)) return v.map(encodeValue)
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeValue(x)]))
  return v
}

export const decodeValue = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(decodeValue)
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>
    if (OPT in o) {
      const some = o[OPT] as Array<unknown>
      return some.length === 0 ? Option.none() : Option.some(decodeValue(some[0]))
    }
    if (RED in o) return Redacted.make(decodeValue(o[RED]))
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeValue(x)]))
  }
  return v
}

export const encodeSettings = (s: Settings): unknown => encodeValue(s)
export const decodeSettings = (u: unknown): Settings => decodeValue(u) as Settings
