/** The on-disk layout under `storage.root`. Every writer and reader builds paths here. */
import * as path from "node:path"
import type { Feed } from "./feeds.js"
import { isSafeTicker } from "./tickers.js"

const DATE = /^\d{4}-\d{2}-\d{2}$/

export const assertDate = (date: string): string => {
  if (!DATE.test(date)) throw new Error(`not a YYYY-MM-DD date: ${JSON.stringify(date)}`)
  return date
}

/** A ticker as a file name: `O:SPY251028C00580000` → `O_SPY251028C00580000`; rejects anything path-like. */
export const tickerFileName = (ticker: string): string => {
  if (!isSafeTicker(ticker)) throw new Error(`unsafe ticker for a file name: ${JSON.stringify(ticker)}`)
  return ticker.replace(/:/g, "_")
}

export const lakePaths = (root: string) => ({
  root,
  /** `data/raw/<feed>/` */
  feedDir: (feed: Feed) => path.join(root, "raw", feed),
  /** `data/raw/<feed>/date=YYYY-MM-DD/` */
  partitionDir: (feed: Feed, date: string) => path.join(root, "raw", feed, `date=${assertDate(date)}`),
  /** Glob of every Parquet file of a feed, for DuckDB `read_parquet(..., hive_partitioning = true)`. */
  feedGlob: (feed: Feed) => path.join(root, "raw", feed, "date=*", "*.parquet"),
  contractsJson: (date: string) => path.join(root, "raw", "contracts", `date=${assertDate(date)}`, "contracts.json"),
  /** Per-unit staging before a partition is assembled (options: one file per contract). */
  stagingDir: (feed: Feed, date: string) => path.join(root, "staging", feed, `date=${assertDate(date)}`),
  stateDir: path.join(root, "state"),
  checkpointFile: (feed: Feed, date: string, unit?: string) =>
    path.join(
      root,
      "state",
      "checkpoints",
      feed,
      assertDate(date),
      `${unit === undefined ? "_day" : tickerFileName(unit)}.json`
    ),
  quarantineDir: (feed: Feed, date: string) => path.join(root, "quarantine", feed, `date=${assertDate(date)}`),
  lateDir: (feed: Feed, date: string) => path.join(root, "late", feed, `date=${assertDate(date)}`),
  journalDir: path.join(root, "journal"),
  heartbeatFile: (source: string) => path.join(root, "state", "heartbeat", `${source}.json`),
  alertsFile: path.join(root, "state", "alerts.ndjson"),
  /** The live day's per-period history (commit latency, reconnects): services/metrics/historyLog.ts. */
  historyFile: (date: string) => path.join(root, "state", "history", `${assertDate(date)}.ndjson`),
  driftFile: path.join(root, "state", "schema_drift.ndjson"),
  holidaysCache: (year: number) => path.join(root, "state", `holidays-${year}.json`),
  pidFile: path.join(root, "state", "live.pid"),
  warehouse: path.join(root, "warehouse.duckdb"),
  consolidatedDir: (date: string) => path.join(root, "consolidated", `date=${assertDate(date)}`)
})
export type LakePaths = ReturnType<typeof lakePaths>
