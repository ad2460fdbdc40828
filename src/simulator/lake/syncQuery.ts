/**
 * Synchronous DuckDB queries for the synchronous MarketData interface: a worker thread owns an
 * in-memory DuckDB; the caller posts SQL, blocks on `Atomics.wait` until the worker signals,
 * then takes the answer with `receiveMessageOnPort`. Results come back column-wise: numeric
 * columns as Float64Array (null → NaN, transferred, not copied), others as plain arrays.
 * Every BIGINT must be cast to DOUBLE in the SQL (no bigint crosses the boundary).
 */
import { createRequire } from "node:module"
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"

export interface ColumnarResult {
  readonly rows: number
  readonly columns: Readonly<Record<string, Float64Array | ReadonlyArray<string | boolean | null>>>
}

export interface SyncQuery {
  readonly query: (sql: string) => ColumnarResult
  readonly close: () => Promise<void>
}

const WORKER = `
const { workerData, parentPort } = require("node:worker_threads")
const { DuckDBInstance } = require(workerData.duckdb)
const { port, flag } = workerData
const ready = DuckDBInstance.create(":memory:", { threads: "2" }).then(async (db) => {
  const c = await db.connect()
  await c.run("SET TimeZone = 'UTC'")
  return c
})
ready.then(() => parentPort.postMessage({ ready: true }), (e) => parentPort.postMessage({ error: String(e) }))
port.on("message", async ({ sql }) => {
  try {
    const c = await ready
    const reader = await c.runAndReadAll(sql)
    const names = reader.columnNames()
    const cols = reader.getColumnsJS()
    const columns = {}, transfer = []
    names.forEach((name, i) => {
      const values = cols[i]
      if (values.every((v) => v === null || typeof v === "number")) {
        const a = Float64Array.from(values, (v) => (v === null ? NaN : v))
        columns[name] = a
        transfer.push(a.buffer)
      } else columns[name] = values
    })
    port.postMessage({ rows: reader.currentRowCount, columns }, transfer)
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) })
  } finally {
    Atomics.store(flag, 0, 1)
    Atomics.notify(flag, 0)
  }
})
`

export const startSyncQuery = async (timeoutMs = 120_000): Promise<SyncQuery> => {
  const { port1, port2 } = new MessageChannel()
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const duckdb = createRequire(import.meta.url).resolve("@duckdb/node-api")
  const worker = new Worker(WORKER, { eval: true, workerData: { duckdb, port: port2, flag }, transferList: [port2] })
  worker.unref()
  await new Promise<void>((resolve, reject) => {
    worker.once("message", (m: { ready?: boolean; error?: string }) =>
      m.ready ? resolve() : reject(new Error(m.error))
    )
    worker.once("error", reject)
  })
  return {
    query: (sql) => {
      Atomics.store(flag, 0, 0)
      port1.postMessage({ sql })
      if (Atomics.wait(flag, 0, 0, timeoutMs) === "timed-out")
        throw new Error(`lake query timed out after ${timeoutMs} ms`)
      const answer = receiveMessageOnPort(port1)?.message as (ColumnarResult & { error?: string }) | undefined
      if (answer === undefined || answer.error !== undefined)
        throw new Error(`lake query failed: ${answer?.error ?? "no answer"}\n${sql}`)
      return answer
    },
    close: async () => {
      port1.close()
      await worker.terminate()
    }
  }
}
