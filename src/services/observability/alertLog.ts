/** The alert record as written to `data/state/alerts.ndjson` and POSTed to the webhook. */

export type AlertKind =
  | "commit_latency_sla"
  | "error_rate"
  | "schema_drift"
  | "connection_failures"
  | "stale_heartbeat"
  | "max_connections"
  | (string & {})

export interface AlertRecord {
  /** ISO UTC */
  readonly at: string
  readonly kind: AlertKind
  readonly source?: string
  readonly message: string
  readonly details: Record<string, unknown>
  readonly open: boolean
  /** A one-off alert (schema drift): never open, never resolved. */
  readonly event?: boolean
}

/** The dedupe key of an alert: (kind, source). */
export const alertKey = (kind: string, source: string | undefined): string => `${kind}\u0000${source ?? ""}`

const isRecord = (u: unknown): u is AlertRecord => {
  if (typeof u !== "object" || u === null) return false
  const r = u as Record<string, unknown>
  return (
    typeof r["at"] === "string" &&
    typeof r["kind"] === "string" &&
    typeof r["open"] === "boolean" &&
    (r["source"] === undefined || typeof r["source"] === "string")
  )
}

/** Parse ndjson text; malformed lines (a torn last line after a crash) are skipped. */
export const parseAlertLines = (text: string): ReadonlyArray<AlertRecord> => {
  const out: Array<AlertRecord> = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    try {
      const value: unknown = JSON.parse(line)
      if (isRecord(value)) out.push(value)
    } catch {
      // skipped
    }
  }
  return out
}

/** Replay the log: the last record per (kind, source) decides; returns the open ones, oldest first. */
export const openAlertsOf = (records: ReadonlyArray<AlertRecord>): ReadonlyArray<AlertRecord> => {
  const last = new Map<string, AlertRecord>()
  for (const r of records) {
    if (r.event === true) continue
    const key = alertKey(r.kind, r.source)
    last.delete(key)
    last.set(key, r)
  }
  return Array.from(last.values()).filter((r) => r.open)
}
