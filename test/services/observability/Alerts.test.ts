import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, TestClock } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as Alerts from "../../../src/services/observability/Alerts.js"
import { alertLines, tempRoot } from "./_helpers.js"

const alertsAt = (root: string, webhookUrl: Option.Option<string> = Option.none()) =>
  Alerts.make({ file: path.join(root, "state", "alerts.ndjson"), webhookUrl, webhookRetries: 2 }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

interface Received {
  readonly method: string
  readonly url: string
  readonly contentType: string
  readonly body: string
}

/** A loopback HTTP server answering `status`; records every request. */
const server = (status: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly received: Array<Received> }>((resume) => {
      const received: Array<Received> = []
      const srv = http.createServer((req, res) => {
        let body = ""
        req.on("data", (c: Buffer) => (body += c.toString("utf8")))
        req.on("end", () => {
          received.push({
            method: req.method ?? "",
            url: req.url ?? "",
            contentType: req.headers["content-type"] ?? "",
            body
          })
          res.writeHead(status).end()
        })
      })
      srv.listen(0, "127.0.0.1", () => {
        const port = (srv.address() as AddressInfo).port
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}/hooks/SECRET-TOKEN`,
            received,
            close: () => srv.close()
          } as const)
        )
      })
    }),
    (s) => Effect.sync(() => (s as unknown as { close: () => void }).close())
  )

const until = (condition: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.sleep("25 millis")
    assert.isTrue(condition())
  })

describe("Alerts", () => {
  it.scoped("logs, appends, dedupes while open within the cooldown, resolves", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const alerts = yield* alertsAt(root)
      assert.isTrue(yield* alerts.raise("schema_drift", "new field on spy bars", { source: "spy", field: "x" }))
      yield* TestClock.adjust("14 minutes")
      assert.isFalse(yield* alerts.raise("schema_drift", "new field on spy bars", { source: "spy", field: "x" }))
      assert.isTrue(yield* alerts.raise("schema_drift", "new field on vix", { source: "vix" }))
      assert.isTrue(yield* alerts.raise("max_connections", "evicted"))
      const first = {
        at: "1970-01-01T00:00:00.000Z",
        kind: "schema_drift",
        source: "spy",
        message: "new field on spy bars",
        details: { source: "spy", field: "x" },
        open: true
      }
      assert.deepStrictEqual(
        (yield* alerts.openAlerts).map((a) => `${a.kind}/${a.source}`),
        ["schema_drift/spy", "schema_drift/vix", "max_connections/undefined"]
      )
      assert.isTrue(yield* alerts.resolve("schema_drift", "spy"))
      assert.isFalse(yield* alerts.resolve("schema_drift", "spy"))
      assert.isTrue(yield* alerts.raise("schema_drift", "again", { source: "spy" }))
      yield* TestClock.adjust("15 minutes")
      assert.isTrue(yield* alerts.raise("max_connections", "evicted again"))
      assert.deepStrictEqual(alertLines(root), [
        first,
        {
          at: "1970-01-01T00:14:00.000Z",
          kind: "schema_drift",
          source: "vix",
          message: "new field on vix",
          details: { source: "vix" },
          open: true
        },
        { at: "1970-01-01T00:14:00.000Z", kind: "max_connections", message: "evicted", details: {}, open: true },
        {
          at: "1970-01-01T00:14:00.000Z",
          kind: "schema_drift",
          source: "spy",
          message: "resolved: new field on spy bars",
          details: { source: "spy", field: "x" },
          open: false
        },
        {
          at: "1970-01-01T00:14:00.000Z",
          kind: "schema_drift",
          source: "spy",
          message: "again",
          details: { source: "spy" },
          open: true
        },
        { at: "1970-01-01T00:29:00.000Z", kind: "max_connections", message: "evicted again", details: {}, open: true }
      ])
      // a new instance (a restart) picks the open alerts up from the file and keeps deduplicating
      const restarted = yield* alertsAt(root)
      assert.deepStrictEqual(
        (yield* restarted.openAlerts).map((a) => `${a.kind}/${a.source}/${a.message}`),
        ["schema_drift/vix/new field on vix", "schema_drift/spy/again", "max_connections/undefined/evicted again"]
      )
      assert.isFalse(yield* restarted.raise("max_connections", "evicted"))
    })
  )

  it.scopedLive("POSTs the exact JSON line to the webhook", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const hook = yield* server(204)
      const alerts = yield* alertsAt(root, Option.some(hook.url))
      yield* alerts.raise("connection_failures", "4 consecutive connection failures for spy", {
        source: "spy",
        failures: 4
      })
      yield* until(() => hook.received.length === 1)
      const [line] = fs.readFileSync(path.join(root, "state", "alerts.ndjson"), "utf8").split("\n")
      const req = hook.received[0]!
      assert.deepStrictEqual(
        [req.method, req.url, req.contentType],
        ["POST", "/hooks/SECRET-TOKEN", "application/json"]
      )
      assert.strictEqual(req.body, line)
      const parsed = JSON.parse(req.body) as Record<string, unknown>
      assert.deepStrictEqual(
        { ...parsed, at: "-" },
        {
          at: "-",
          kind: "connection_failures",
          source: "spy",
          message: "4 consecutive connection failures for spy",
          details: { source: "spy", failures: 4 },
          open: true
        }
      )
    })
  )

  it.scopedLive("a failing webhook is retried a bounded number of times, logged without its URL, never fatal", () =>
    Effect.gen(function* () {
      const root = tempRoot()
      const hook = yield* server(500)
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message, annotations }) => {
          logs.push(JSON.stringify({ message, annotations: Object.fromEntries(annotations) }))
        })
      )
      yield* Effect.gen(function* () {
        const alerts = yield* alertsAt(root, Option.some(hook.url))
        assert.isTrue(yield* alerts.raise("error_rate", "error rate of spy over 1%", { source: "spy" }))
        yield* until(() => logs.some((l) => l.includes("alert webhook failed")))
      }).pipe(Effect.provide(Layer.merge(capture, Layer.empty)))
      assert.strictEqual(hook.received.length, 3)
      assert.isFalse(logs.some((l) => l.includes("SECRET-TOKEN") || l.includes("127.0.0.1")))
      const failure = JSON.parse(logs.find((l) => l.includes("alert webhook failed"))!) as {
        annotations: Record<string, unknown>
      }
      assert.deepStrictEqual(failure.annotations, {
        service: "Alerts",
        alert: "error_rate",
        reason: "ResponseError StatusCode 500"
      })
    })
  )
})
