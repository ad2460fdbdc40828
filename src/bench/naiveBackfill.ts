/**
 * The pipeline a user would write first: the official client with `pagination: true`, every row
 * appended with parquetjs-lite. The benchmark's baseline (devDependencies only).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"

type Client = {
  getStocksAggregates: (...a: Array<unknown>) => Promise<{ results?: Array<Record<string, number>> }>
  getOptionsAggregates: (...a: Array<unknown>) => Promise<{ results?: Array<Record<string, number>> }>
  getIndicesAggregates: (...a: Array<unknown>) => Promise<{ results?: Array<Record<string, number>> }>
  listOptionsContracts: (...a: Array<unknown>) => Promise<{ results?: Array<Record<string, unknown>> }>
  listNews: (...a: Array<unknown>) => Promise<{ results?: Array<Record<string, unknown>> }>
}

export const naiveBackfill = async (
  baseUrl: string,
  dates: ReadonlyArray<string>,
  outDir: string,
  contractsFor: (date: string) => ReadonlyArray<string>
) => {
  const { restClient } = (await import("@polygon.io/client-js")) as unknown as {
    restClient: (k: string, b: string, o: { pagination: boolean }) => Client
  }
  const parquetModule = (await import("parquetjs-lite")) as { default?: unknown }
  const parquet = (parquetModule.default ?? parquetModule) as {
    ParquetSchema: new (s: Record<string, unknown>) => unknown
    ParquetWriter: {
      openFile: (
        s: unknown,
        p: string
      ) => Promise<{ appendRow: (r: Record<string, unknown>) => Promise<void>; close: () => Promise<void> }>
    }
  }
  const client = restClient("bench-key", baseUrl, { pagination: true })
  const barSchema = new parquet.ParquetSchema({
    ticker: { type: "UTF8" },
    t: { type: "INT64" },
    o: { type: "DOUBLE" },
    h: { type: "DOUBLE" },
    l: { type: "DOUBLE" },
    c: { type: "DOUBLE" },
    v: { type: "DOUBLE", optional: true },
    vw: { type: "DOUBLE", optional: true },
    n: { type: "INT64", optional: true }
  })
  let rows = 0
  const write = async (file: string, ticker: string, bars: ReadonlyArray<Record<string, number>>) => {
    await fs.mkdir(path.dirname(file), { recursive: true })
    const w = await parquet.ParquetWriter.openFile(barSchema, file)
    for (const b of bars) await w.appendRow({ ticker, ...b })
    await w.close()
    rows += bars.length
  }
  for (const date of dates) {
    const spy = await client.getStocksAggregates("SPY", 1, "second", date, date, true, "asc", 50000)
    await write(path.join(outDir, "spy", date, "part.parquet"), "SPY", spy.results ?? [])
    const vix = await client.getIndicesAggregates("I:VIX", 1, "second", date, date, "asc", 50000)
    await write(path.join(outDir, "vix", date, "part.parquet"), "I:VIX", vix.results ?? [])
    for (const ticker of contractsFor(date)) {
      const bars = await client.getOptionsAggregates(ticker, 1, "second", date, date, true, "asc", 50000)
      await write(path.join(outDir, "options", date, `${ticker.replace(":", "_")}.parquet`), ticker, bars.results ?? [])
    }
    const news = await client.listNews(
      "SPY",
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      "asc",
      1000,
      "published_utc",
      {
        params: { "published_utc.gte": `${date}T04:00:00Z`, "published_utc.lt": `${date}T23:59:59Z` }
      }
    )
    rows += (news.results ?? []).length
  }
  return rows
}
