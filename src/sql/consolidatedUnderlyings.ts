/**
 * Several underlyings in the per-date consolidations of PostgreSQL, MySQL/MariaDB and Snowflake:
 * the date is built in PARTS, one per configured underlying, each running the one-underlying
 * statement (./consolidatedPerSecond.ts, snowflakeConsolidated.ts) with that underlying's bars
 * (ticker U) and news (tagged `"U"`), the shared index, and only the contracts the part owns; all
 * parts go into the same staging table (or transaction) before the swap.
 *
 * Ownership is DuckDB's (`duckdbConsolidateSelectMany` in ./consolidated.ts, `ku.u`): a contract
 * belongs to the underlying parsed from its OCC ticker (the `underlying` column) when that one is
 * configured, else to the first underlying (`tickers.underlying`): non-OCC tickers and options of
 * an underlying not configured. The test is made once per distinct contract (the per-contract rows
 * `k`), never per bar: the option bars are filtered by the join to those rows.
 *
 * Each part's `latest_sentiment` is its own underlying's: the first reads the news column
 * `spy_sentiment`, a further one its insight in the news `insights` (./consolidatedNews.ts).
 *
 * With one underlying there is one part, the tickers as given and no filter: the statements are
 * exactly the one-underlying ones.
 */
import { DEFAULT_TICKERS, type Tickers } from "../domain/tickers.js"
import { MYSQL_SHARED_TEMP, MYSQL_TEMP_TABLES } from "./consolidatedMysql.js"

export interface UnderlyingPart {
  /** What this part's statement joins: its underlying and the shared index. */
  readonly tickers: Tickers
  /**
   * The SQL condition "the contract belongs to this part", given the engine's expression of the
   * contract's OCC underlying (the `underlying` column: NULL when the ticker is not an OCC one);
   * undefined when the part takes every contract (one underlying).
   */
  readonly owns: ((occUnderlying: string) => string) | undefined
  /**
   * Whose insight `latest_sentiment` is: undefined = the news column `spy_sentiment` (the first
   * underlying, or one); else this further underlying, read from the news `insights` (./consolidatedNews.ts).
   */
  readonly insight: string | undefined
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`

/** The underlying a contract belongs to: its own when configured, else the first (DuckDB's `ku.u`). */
export const ownerOf = (occUnderlying: string, underlyings: ReadonlyArray<string>, first: string): string =>
  `CASE WHEN (${occUnderlying}) IN (${underlyings.map(literal).join(", ")}) THEN (${occUnderlying}) ELSE ${literal(first)} END`

/**
 * The parts of a consolidation, in the configured order (the first underlying first). Expects
 * `underlyings[0]` to be `underlying`, as the settings make it (src/layers/Sinks.ts).
 */
export const underlyingParts = (tickers: Tickers = DEFAULT_TICKERS): ReadonlyArray<UnderlyingPart> => {
  const list = [...new Set(tickers.underlyings ?? [])]
  if (list.length <= 1) return [{ tickers, owns: undefined, insight: undefined }]
  return list.map((u) => ({
    tickers: { underlying: u, index: tickers.index },
    owns: (occUnderlying: string) => `${ownerOf(occUnderlying, list, tickers.underlying)} = ${literal(u)}`,
    insight: u === tickers.underlying ? undefined : u
  }))
}

/** MySQL: drop the temporary tables of a part (./consolidatedMysql.ts), keeping the seconds and contracts every part shares. */
export const mysqlDropPartTemp = `DROP TEMPORARY TABLE IF EXISTS ${MYSQL_TEMP_TABLES.filter((t) => !MYSQL_SHARED_TEMP.includes(t)).join(", ")}`
