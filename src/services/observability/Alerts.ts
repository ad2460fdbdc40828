/**
 * Alerts: one warning log line, one JSON line in `data/state/alerts.ndjson`, and (when
 * `alerts.webhook_url` is set) an HTTP POST of the same JSON. Deduplicated per (kind, source):
 * an open alert is not raised again within the cooldown; `resolve` closes it (a line with
 * `open: false`). The webhook URL is never logged: it may carry a token.
 *
 * The source of an alert is `details.source` when it is a string.
 * The file is appended synchronously: alerts are rare and this keeps their order exact.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { lakePaths } from "../../domain/paths.js"
import { AppSettings } from "../AppSettings.js"
import { type AlertKind, type AlertRecord, alertKey, openAlertsOf, parseAlertLines } from "./alertLog.js"

export type { AlertKind, AlertRecord } from "./alertLog.js"

export interface AlertsService {
  /** Raise an alert; `false` when deduplicated (already open within the cooldown). */
  readonly raise: (kind: AlertKind, message: string, details?: Record<string, unknown>) => Effect.Effect<boolean>
  /** Close an open alert; `false` when none was open. */
  readonly resolve: (kind: AlertKind, source?: string) => Effect.Effect<boolean>
  readonly openAlerts: Effect.Effect<ReadonlyArray<AlertRecord>>
  /**
   * A one-off alert (schema drift): logged, appended and POSTed like `raise`, but recorded with
   * `open: false, event: true`, so it never stays open in `status` (nothing would resolve it).
   */
  readonly notify: (kind: AlertKind, message: string, details?: Record<string, unknown>) => Effect.Effect<void>
}

export class Alerts extends Context.Tag("spy/Alerts")<Alerts, AlertsService>() {}

export interface AlertsOptions {
  readonly file: string
  readonly webhookUrl: Option.Option<string>
  /** Default 15 minutes. */
  readonly cooldownMs?: number
  /** Per attempt, default 5 s. */
  readonly webhookTimeoutMs?: number
  /** Retries after the first attempt, default 2. */
  readonly webhookRetries?: number
}

const readExisting = (file: string): ReadonlyArray<AlertRecord> => {
  try {
    return openAlertsOf(parseAlertLines(fs.readFileSync(file, "utf8")))
  } catch {
    return []
  }
}

/** A short, secret-free description of a webhook failure (HttpClient errors embed the URL). */
const describeFailure = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "_tag" in e) {
    const tagged = e as { _tag: string; reason?: unknown; response?: { status?: unknown } }
    const status = tagged.response?.status
    return [tagged._tag, tagged.reason, status].filter((x) => x !== undefined).join(" ")
  }
  return "unknown error"
}

export const make = (
  options: AlertsOptions
): Effect.Effect<AlertsService, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const cooldownMs = options.cooldownMs ?? 15 * 60_000
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const posts = yield* FiberSet.make()
    const open = new Map<string, { readonly record: AlertRecord; readonly raisedAtMs: number }>()
    for (const r of readExisting(options.file))
      open.set(alertKey(r.kind, r.source), { record: r, raisedAtMs: Date.parse(r.at) })

    const post = (url: string, record: AlertRecord) =>
      client.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson(record))).pipe(
        Effect.timeoutFail({ duration: options.webhookTimeoutMs ?? 5000, onTimeout: () => ({ _tag: "Timeout" }) }),
        Effect.retry({ times: options.webhookRetries ?? 2, schedule: Schedule.exponential("500 millis") }),
        Effect.catchAll((e) =>
          Effect.logWarning("alert webhook failed").pipe(
            Effect.annotateLogs({ service: "Alerts", alert: record.kind, reason: describeFailure(e) })
          )
        ),
        Effect.catchAllDefect(() =>
          Effect.logWarning("alert webhook failed").pipe(Effect.annotateLogs({ service: "Alerts", alert: record.kind }))
        )
      )

    const append = (record: AlertRecord) =>
      Effect.try(() => {
        fs.mkdirSync(path.dirname(options.file), { recursive: true })
        fs.appendFileSync(options.file, JSON.stringify(record) + "\n")
      }).pipe(
        Effect.catchAll((e) =>
          Effect.logError("cannot append to the alerts file").pipe(
            Effect.annotateLogs({ service: "Alerts", error: String(e.error) })
          )
        )
      )

    const emit = (record: AlertRecord) =>
      Effect.gen(function* () {
        const annotations = {
          service: "Alerts",
          alert: record.kind,
          source: record.source ?? "",
          details: JSON.stringify(record.details)
        }
        yield* (
          record.open || record.event === true ? Effect.logWarning(record.message) : Effect.logInfo(record.message)
        ).pipe(Effect.annotateLogs(annotations))
        yield* append(record)
        if (Option.isSome(options.webhookUrl)) yield* FiberSet.run(posts, post(options.webhookUrl.value, record))
      })

    const raise = (kind: AlertKind, message: string, details: Record<string, unknown> = {}) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const source = typeof details["source"] === "string" ? details["source"] : undefined
        const key = alertKey(kind, source)
        const existing = open.get(key)
        if (existing !== undefined && now - existing.raisedAtMs < cooldownMs) return false
        const record: AlertRecord = {
          at: new Date(now).toISOString(),
          kind,
          ...(source === undefined ? {} : { source }),
          message,
          details,
          open: true
        }
        open.set(key, { record, raisedAtMs: now })
        yield* emit(record)
        return true
      })

    const resolve = (kind: AlertKind, source?: string) =>
      Effect.gen(function* () {
        const key = alertKey(kind, source)
        const existing = open.get(key)
        if (existing === undefined) return false
        open.delete(key)
        const now = yield* Clock.currentTimeMillis
        const { details, message } = existing.record
        yield* emit({
          at: new Date(now).toISOString(),
          kind,
          ...(source === undefined ? {} : { source }),
          message: `resolved: ${message}`,
          details,
          open: false
        })
        return true
      })

    const notify = (kind: AlertKind, message: string, details: Record<string, unknown> = {}) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const source = typeof details["source"] === "string" ? details["source"] : undefined
        yield* emit({
          at: new Date(now).toISOString(),
          kind,
          ...(source === undefined ? {} : { source }),
          message,
          details,
          open: false,
          event: true
        })
      })

    return {
      raise,
      resolve,
      notify,
      openAlerts: Effect.sync(() => Array.from(open.values(), (o) => o.record))
    } satisfies AlertsService
  }).pipe(Effect.annotateLogs({ service: "Alerts" }))

export const layer: Layer.Layer<Alerts, never, AppSettings | HttpClient.HttpClient> = Layer.scoped(
  Alerts,
  Effect.flatMap(AppSettings, (settings) =>
    make({ file: lakePaths(settings.storage.root).alertsFile, webhookUrl: settings.alerts.webhookUrl })
  )
)
