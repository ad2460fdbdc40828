/**
 * Connection faults mid-load: the server kills the sink's connections while a 60 000-row partition
 * loads in 1 000-row transactions. The load retries (capped, jittered, bounded backoff), resumes from
 * its checkpoint and ends with exact set equality and no duplicates; the metrics show the failure
 * (anti-vacuity: the kill really hit a load in progress).
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { sessionTag } from "../../../src/services/sinks/statementGuard.js"
import { afterAll, describe, expect, it } from "vitest"
import type { Row } from "../../../src/domain/feeds.js"
import { dedupe, prepareMysql, preparePg, queryMysql, queryPg, tempRoot, withRouter, writeLake } from "./support.js"

const pg = await preparePg("faults", true)
const mysql = await prepareMysql("faults")
const root = await tempRoot()
const date = "2025-10-30"
const open = Date.parse(`${date}T13:30:00Z`)
const rows: Array<Row> = []
for (let k = 0; k < 100; k++)
  for (let i = 0; i < 600; i++)
    rows.push({
      ticker: `O:SPY251030${k % 2 ? "C" : "P"}00${String(550 + k).padStart(3, "0")}000`,
      window_start_ms: open + i * 1000,
      open: 1 + i / 1000,
      high: 1.1,
      low: 0.9,
      close: 1 + k / 100 + i / 7,
      volume: i,
      vwap: null,
      transactions: k,
      window_end_ms: null,
      accumulated_volume: null,
      official_open: null,
      day_vwap: null,
      avg_trade_size: null,
      otc: null,
      source: "rest",
      received_at_ms: 1_761_800_000_000 + i,
      extra: null
    })
const expected = [...dedupe("options", rows).values()]
  .map((r) => `${r["ticker"]}|${r["window_start_ms"]}|${r["close"]}`)
  .sort()
await writeLake(root, "options", date, "backfill.parquet", rows)

afterAll(() => fs.rm(root, { recursive: true, force: true }))

/** Kill the sink's connections at 10 000 and 20 000 committed rows, then keep killing until a transaction really failed. */
const loadWhileKilling = (
  t: { pg?: string; mysql?: string },
  sink: string,
  progress: () => Promise<number>,
  kill: () => Promise<unknown>
) =>
  withRouter({ root, ...t, batchRows: 1000 }, (router) =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(router.loadPartition("options", date))
      let kills = 0
      while (fiber.unsafePoll() === null) {
        const done = yield* Effect.promise(progress)
        const failures = (yield* router.metrics)[sink]?.failures ?? 0
        if ((kills < 2 && done >= (kills + 1) * 10_000) || (kills >= 2 && failures === 0 && done < 55_000)) {
          yield* Effect.promise(kill)
          kills++
        } else yield* Effect.sleep("10 millis")
      }
      yield* fiber.await.pipe(Effect.flatten)
      return yield* router.metrics
    })
  )

describe.skipIf(!pg)("postgres: connections terminated mid-load", () => {
  it("retries, resumes and ends with exact set equality", async () => {
    const metrics = await loadWhileKilling(
      { pg },
      "postgres",
      async () =>
        Number(
          (
            await queryPg<{ n: string }>(
              pg!,
              `SELECT coalesce(max("rows"), 0) n FROM sink_checkpoints WHERE feed = 'options'`
            )
          )[0]!.n
        ),
      () =>
        queryPg(
          pg!,
          // only the sink's sessions (tagged by this process): other test files share the database
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
          [sessionTag()]
        )
    )
    const got = (
      await queryPg<{ k: string }>(
        pg!,
        `SELECT ticker || '|' || window_start_ms || '|' || close::text AS k FROM option_bars`
      )
    )
      .map((r) => r.k)
      .sort()
    expect(got.length).toBe(60_000)
    expect(new Set(got).size).toBe(got.length)
    expect(got).toEqual(expected)
    expect(metrics["postgres"]!.failures).toBeGreaterThanOrEqual(1)
    expect(metrics["postgres"]!.rows).toBe(60_000)
  })
})

describe.skipIf(!mysql)("mysql: connections killed mid-load", () => {
  it("retries, resumes and ends with exact set equality", async () => {
    const db = new URL(mysql!).pathname.slice(1)
    const metrics = await loadWhileKilling(
      { mysql },
      "mysql",
      async () =>
        Number(
          (
            await queryMysql<{ n: number }>(
              mysql!,
              `SELECT COALESCE(MAX(\`rows\`), 0) n FROM sink_checkpoints WHERE feed = 'options'`
            )
          )[0]!.n
        ),
      async () => {
        const ids = await queryMysql<{ id: number }>(
          mysql!,
          `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`,
          [db]
        )
        for (const { id } of ids) await queryMysql(mysql!, `KILL ${Number(id)}`).catch(() => undefined)
      }
    )
    const got = (
      await queryMysql<{ t: string; w: number; c: number }>(
        mysql!,
        `SELECT ticker t, window_start_ms w, close c FROM option_bars`
      )
    )
      .map((r) => `${r.t}|${Number(r.w)}|${r.c}`)
      .sort()
    expect(got.length).toBe(60_000)
    expect(new Set(got).size).toBe(got.length)
    expect(got).toEqual(expected)
    expect(metrics["mysql"]!.failures).toBeGreaterThanOrEqual(1)
  })
})
