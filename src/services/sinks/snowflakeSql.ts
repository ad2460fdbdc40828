/**
 * Snowflake SQL generation (pure; covered by exact-string tests). Loading a lake partition:
 *   PUT each Parquet file to `@<stage>/raw/<feed>/date=D/` (deterministic names, OVERWRITE = TRUE),
 *   CREATE TEMPORARY TABLE <t>_LOAD LIKE <t>  (before BEGIN: DDL commits implicitly),
 *   BEGIN; [DELETE date when overwriting;] COPY INTO <t>_LOAD … MATCH_BY_COLUMN_NAME; MERGE (latest
 *   received wins); MERGE checkpoint; COMMIT.
 * Loading some files of a partition (live incremental loads, `loadFilesPlan`): the same, but the
 * files go to `@<stage>/live/<feed>/date=D/`, COPY names them (`FILES = (…)`) and purges them once
 * loaded, and no checkpoint is written (only a whole-partition load may record one). The lake
 * path `raw/…` is left alone, so a later whole-partition COPY never sees stale live files.
 * Identifiers are ours (upper-case, quoted); the date travels as a bind (`?`); stage names and file
 * paths are validated.
 */
import { type Feed, SCHEMAS } from "../../domain/feeds.js"
import { assertDate } from "../../domain/paths.js"
import { CHECKPOINTS, checkpointColumns, type SinkColumn, sinkColumns, TABLES } from "../../sql/tables.js"

export interface Statement {
  readonly sqlText: string
  readonly binds: ReadonlyArray<string | number>
}

export const id = (name: string) => `"${name.toUpperCase()}"`
export const typeOf = (c: SinkColumn): string =>
  ({
    BIGINT: "NUMBER(38,0)",
    DOUBLE: "FLOAT",
    VARCHAR: "VARCHAR",
    BOOLEAN: "BOOLEAN",
    TIMESTAMP: "TIMESTAMP_TZ",
    DATE: "VARCHAR(10)"
  })[c.type]

export const stageName = (stage: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/.test(stage))
    throw new Error(`invalid Snowflake stage name: ${JSON.stringify(stage)}`)
  return id(stage)
}

export const createTable = (feed: Feed): string =>
  `CREATE TABLE IF NOT EXISTS ${id(TABLES[feed])} (${sinkColumns(feed)
    .map((c) => `${id(c.name)} ${typeOf(c)}`)
    .join(", ")}, ` + `PRIMARY KEY (${SCHEMAS[feed].key.map(id).join(", ")}))`

export const createCheckpoints = (): string =>
  `CREATE TABLE IF NOT EXISTS ${id(CHECKPOINTS)} (${checkpointColumns.map((c) => `${id(c.name)} ${typeOf(c)}`).join(", ")}, PRIMARY KEY ("FEED", "DATE"))`

export const createStage = (stage: string): string =>
  `CREATE STAGE IF NOT EXISTS ${stageName(stage)} FILE_FORMAT = (TYPE = PARQUET)`

export const stagePath = (stage: string, feed: Feed, date: string): string =>
  `@${stageName(stage)}/raw/${feed}/date=${assertDate(date)}/`

const putTo = (localFile: string, target: string): string => {
  if (!localFile.startsWith("/") || /['\\\n\r]/.test(localFile))
    throw new Error(`unsupported file path for PUT: ${JSON.stringify(localFile)}`)
  return `PUT 'file://${localFile}' ${target} AUTO_COMPRESS = FALSE OVERWRITE = TRUE`
}

export const put = (localFile: string, stage: string, feed: Feed, date: string): string =>
  putTo(localFile, stagePath(stage, feed, date))

/** Where incremental loads stage their files (never the lake path `raw/…`). */
export const liveStagePath = (stage: string, feed: Feed, date: string): string =>
  `@${stageName(stage)}/live/${feed}/date=${assertDate(date)}/`

export const putLive = (localFile: string, stage: string, feed: Feed, date: string): string =>
  putTo(localFile, liveStagePath(stage, feed, date))

const fileName = (localFile: string): string => {
  const name = localFile.slice(localFile.lastIndexOf("/") + 1)
  if (!/^[A-Za-z0-9_.-]+\.parquet$/.test(name))
    throw new Error(`unsupported file name for COPY: ${JSON.stringify(name)}`)
  return name
}

const loadTable = (feed: Feed) => id(`${TABLES[feed]}_load`)

export const createLoadTable = (feed: Feed): string =>
  `CREATE OR REPLACE TEMPORARY TABLE ${loadTable(feed)} LIKE ${id(TABLES[feed])}`

export const copyInto = (feed: Feed, stage: string, date: string): string =>
  `COPY INTO ${loadTable(feed)} FROM ${stagePath(stage, feed, date)} FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT`

/** COPY only the named files of the live stage path; loaded files are removed from the stage. */
export const copyFiles = (feed: Feed, stage: string, date: string, localFiles: ReadonlyArray<string>): string =>
  `COPY INTO ${loadTable(feed)} FROM ${liveStagePath(stage, feed, date)} FILES = (${localFiles.map((f) => `'${fileName(f)}'`).join(", ")}) ` +
  `FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE ON_ERROR = ABORT_STATEMENT PURGE = TRUE`

export const deleteDate = (feed: Feed, date: string): Statement => ({
  sqlText: `DELETE FROM ${id(TABLES[feed])} WHERE "DATE" = ?`,
  binds: [assertDate(date)]
})

export const merge = (feed: Feed, date: string): Statement => {
  const key = SCHEMAS[feed].key
  const cols = sinkColumns(feed)
  const updates = cols.filter((c) => !key.includes(c.name))
  const value = (c: SinkColumn) => (c.type === "DATE" ? "?" : `s.${id(c.name)}`)
  return {
    sqlText:
      `MERGE INTO ${id(TABLES[feed])} t USING (SELECT * FROM ${loadTable(feed)} QUALIFY ROW_NUMBER() OVER (PARTITION BY ${key.map(id).join(", ")} ORDER BY "RECEIVED_AT_MS" DESC) = 1) s ` +
      `ON ${key.map((k) => `t.${id(k)} = s.${id(k)}`).join(" AND ")} ` +
      `WHEN MATCHED AND s."RECEIVED_AT_MS" >= t."RECEIVED_AT_MS" THEN UPDATE SET ${updates.map((c) => `t.${id(c.name)} = ${value(c)}`).join(", ")} ` +
      `WHEN NOT MATCHED THEN INSERT (${cols.map((c) => id(c.name)).join(", ")}) VALUES (${cols.map(value).join(", ")})`,
    binds: [assertDate(date), assertDate(date)]
  }
}

export const checkpoint = (feed: Feed, date: string, fingerprint: string): Statement => ({
  sqlText:
    `MERGE INTO ${id(CHECKPOINTS)} t USING (SELECT ? AS "FEED", ? AS "DATE", COUNT(*) AS "ROWS", ? AS "FINGERPRINT" FROM ${id(TABLES[feed])} WHERE "DATE" = ?) s ` +
    `ON t."FEED" = s."FEED" AND t."DATE" = s."DATE" ` +
    `WHEN MATCHED THEN UPDATE SET t."ROWS" = s."ROWS", t."TOTAL" = s."ROWS", t."FINGERPRINT" = s."FINGERPRINT", t."LOADED_AT" = CURRENT_TIMESTAMP() ` +
    `WHEN NOT MATCHED THEN INSERT ("FEED", "DATE", "ROWS", "TOTAL", "FINGERPRINT", "LOADED_AT") VALUES (s."FEED", s."DATE", s."ROWS", s."ROWS", s."FINGERPRINT", CURRENT_TIMESTAMP())`,
  binds: [feed, assertDate(date), fingerprint, assertDate(date)]
})

/** The statements of one partition load, in order (see the header). */
export const loadPlan = (
  feed: Feed,
  date: string,
  stage: string,
  files: ReadonlyArray<string>,
  fingerprint: string,
  overwrite: boolean
): ReadonlyArray<Statement> => {
  const s = (sqlText: string): Statement => ({ sqlText, binds: [] })
  return [
    ...files.map((f) => s(put(f, stage, feed, date))),
    s(createLoadTable(feed)),
    s("BEGIN"),
    ...(overwrite ? [deleteDate(feed, date)] : []),
    ...(files.length > 0 ? [s(copyInto(feed, stage, date)), merge(feed, date)] : []),
    checkpoint(feed, date, fingerprint),
    s("COMMIT")
  ]
}

/** The statements of an incremental load of some files of a partition, in order (see the header). */
export const loadFilesPlan = (
  feed: Feed,
  date: string,
  stage: string,
  files: ReadonlyArray<string>
): ReadonlyArray<Statement> => {
  if (files.length === 0) return []
  const s = (sqlText: string): Statement => ({ sqlText, binds: [] })
  return [
    ...files.map((f) => s(putLive(f, stage, feed, date))),
    s(createLoadTable(feed)),
    s("BEGIN"),
    s(copyFiles(feed, stage, date, files)),
    merge(feed, date),
    s("COMMIT")
  ]
}
