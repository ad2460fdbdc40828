/**
 * `spy_lake_batch(id)`: a DuckDB table function that scans a column batch held in JS, so a COPY
 * reads the batch straight from its typed arrays (no staging table to insert into and scan
 * again). BIGINT columns and the TIMESTAMPTZ derived from an epoch-ms column come out as native
 * 64-bit integers, so the COPY casts nothing; a coded text column comes out as an ENUM of its
 * dictionary (its codes copied as they are), which the COPY casts to VARCHAR. DuckDB runs the callbacks on the JS thread.
 */
import {
  BIGINT,
  type DuckDBConnection,
  DOUBLE,
  DuckDBTableFunction,
  type DuckDBType,
  ENUM,
  TIMESTAMPTZ
} from "@duckdb/node-api"
import type { ColumnBatch } from "../../domain/columnBatch.js"
import type { FeedSchema } from "../../domain/feeds.js"
import { fillDoubles, fillEnumCodes, fillInt64 } from "./vectorFill.js"

export const SCAN_FUNCTION = "spy_lake_batch"

/** Rows per output chunk: DuckDB's vector size. */
const CHUNK = 2048

export interface ScanColumn {
  readonly name: string
  readonly kind: "DOUBLE" | "BIGINT" | "TIMESTAMPTZ" | "ENUM"
  readonly values: Float64Array
  /** ENUM: the values the codes index (distinct, no NULL). */
  readonly dictionary?: ReadonlyArray<string>
}

/** A coded column is scanned as an ENUM (the COPY casts it to VARCHAR) when its dictionary is distinct strings. */
export const enumDictionary = (
  dictionary: ReadonlyArray<string | boolean | null>
): ReadonlyArray<string> | undefined =>
  dictionary.length > 0 &&
  dictionary.every((v) => typeof v === "string") &&
  new Set(dictionary).size === dictionary.length
    ? (dictionary as ReadonlyArray<string>)
    : undefined

interface Scan {
  readonly length: number
  readonly columns: ReadonlyArray<ScanColumn>
}

const DUCK_TYPES: Readonly<Record<Exclude<ScanColumn["kind"], "ENUM">, DuckDBType>> = { DOUBLE, BIGINT, TIMESTAMPTZ }
const typeOf = (col: ScanColumn): DuckDBType =>
  col.kind === "ENUM" ? ENUM(col.dictionary as Array<string>) : DUCK_TYPES[col.kind]
const enumWidth = (col: ScanColumn): 1 | 2 | 4 =>
  (col.dictionary?.length ?? 0) < 256 ? 1 : (col.dictionary?.length ?? 0) < 65536 ? 2 : 4

/**
 * The scan's columns: each varying column with its file type, each derived timestamp after its ms
 * column. A coded column and a BIGINT column where NaN means NULL are scanned as DOUBLE (codes;
 * NaN intact): the COPY's SELECT maps them (batchCopy.ts).
 */
export const scanColumns = (schema: FeedSchema, batch: ColumnBatch): Array<ScanColumn> => {
  const varying = new Map(batch.doubles)
  const coded = new Map((batch.coded ?? []).map((c) => [c.name, c]))
  const nanIsNull = new Set(batch.nanIsNull ?? [])
  return schema.columns.flatMap((col): Array<ScanColumn> => {
    const c = coded.get(col.name)
    if (c !== undefined) {
      const dictionary = col.type === "VARCHAR" ? enumDictionary(c.dictionary) : undefined
      return [
        dictionary === undefined
          ? { name: col.name, kind: "DOUBLE", values: c.codes }
          : { name: col.name, kind: "ENUM", values: c.codes, dictionary }
      ]
    }
    const values = varying.get(col.name)
    if (values === undefined) return []
    if (col.type !== "DOUBLE" && col.type !== "BIGINT")
      throw new TypeError(`column ${col.name} is ${col.type}, not a number column`)
    const ts = schema.timestamps.find(([ms]) => ms === col.name)
    if (nanIsNull.has(col.name)) {
      if (ts) throw new TypeError(`column ${col.name} derives a timestamp: it cannot hold NULLs`)
      return [{ name: col.name, kind: "DOUBLE", values }]
    }
    return [
      { name: col.name, kind: col.type, values },
      ...(ts ? [{ name: ts[1], kind: "TIMESTAMPTZ" as const, values }] : [])
    ]
  })
}

const scans = new Map<number, Scan>()
let nextId = 0

/** Makes a batch scannable as `spy_lake_batch(id)` until `close`. */
export const openScan = (
  schema: FeedSchema,
  batch: ColumnBatch
): { readonly id: number; readonly columns: ReadonlyArray<ScanColumn>; readonly close: () => void } => {
  const id = ++nextId
  const columns = scanColumns(schema, batch)
  scans.set(id, { length: batch.length, columns })
  return { id, columns, close: () => scans.delete(id) }
}

const scanFunction = DuckDBTableFunction.create({
  name: SCAN_FUNCTION,
  parameterTypes: [BIGINT],
  bindFunction: (bind) => {
    const id = Number(bind.getParameter(0))
    const scan = scans.get(id)
    if (scan === undefined) return bind.setError(`no open batch ${id}`)
    for (const col of scan.columns) bind.addResultColumn(col.name, typeOf(col))
    bind.setCardinality(scan.length, true)
    bind.setBindData({ scan })
  },
  initFunction: (init) => {
    init.setInitData({ next: 0 })
    init.setMaxThreads(1)
  },
  mainFunction: (info, output) => {
    const { scan } = info.bindData as { readonly scan: Scan }
    const state = info.initData as { next: number }
    const n = Math.min(CHUNK, scan.length - state.next)
    output.rowCount = n
    if (n <= 0) return
    try {
      scan.columns.forEach((col, j) => {
        if (col.kind === "DOUBLE") fillDoubles(output, j, col.values, state.next, n)
        else if (col.kind === "ENUM")
          fillEnumCodes(output, j, col.values, state.next, n, enumWidth(col), col.dictionary!)
        else
          fillInt64(
            output,
            j,
            col.values,
            state.next,
            n,
            col.kind === "TIMESTAMPTZ" ? 1000 : 1,
            col.kind === "TIMESTAMPTZ"
          )
      })
      state.next += n
    } catch (e) {
      info.setError(e instanceof Error ? e.message : String(e))
    }
  }
})

const registered = new WeakSet<DuckDBConnection>()

/** Registers the scan function on a connection once. */
export const registerScan = (c: DuckDBConnection): void => {
  if (registered.has(c)) return
  c.registerTableFunction(scanFunction)
  registered.add(c)
}
