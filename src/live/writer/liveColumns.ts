/**
 * The live writer's rows of one feed and trading date, held as columns: one Float64Array per
 * number column of the feed's schema (NaN = NULL: values come from JSON, which has no NaN) and a
 * code per row for its text/boolean columns (the ticker as an id of the writer's SymbolTable;
 * `source`, `otc` and `extra` as indexes into small dictionaries). One row per (ticker, window
 * start): a later version of a key overwrites the earlier one in place (latest version wins), a
 * gap-repair row never replaces a streamed one. No object and no string is built per row.
 *
 * Duplicate keys are found cheaply: while each ticker's window starts only grow (the normal
 * stream) the per-ticker maximum proves a row new; the first time a start does not, an index
 * (ticker → start → row) is built over the batch and kept from then on.
 */
import type { CodedColumn, ColumnBatch } from "../../domain/columnBatch.js"
import type { FeedSchema, Row } from "../../domain/feeds.js"
import type { SymbolTable } from "../../lib/symbolTable.js"

export const SOURCES = ["ws", "repair", "rest"] as const
export const SOURCE_WS = 0
export const SOURCE_REPAIR = 1
/** `otc` codes: absent, true, false. */
const OTC_DICTIONARY = [null, true, false] as const

const INITIAL = 1024

export class LiveColumns {
  length = 0
  /** Number columns of the schema, in schema order (`numeric[k]` is column `numericNames[k]`). */
  readonly numericNames: ReadonlyArray<string>
  numeric: Array<Float64Array>
  ticker: Int32Array
  source: Uint8Array
  otc: Uint8Array
  extra: Int32Array
  readonly extras: Array<string> = []
  /** Slot of `window_start_ms` and `received_at_ms` among the number columns. */
  readonly startSlot: number
  readonly receivedSlot: number
  private capacity = INITIAL
  private tickMax = new Float64Array(64)
  private tickSeen = new Uint8Array(64)
  private index: Map<number, Map<number, number>> | undefined

  constructor(
    readonly schema: FeedSchema,
    readonly symbols: SymbolTable
  ) {
    this.numericNames = schema.columns.filter((c) => c.type === "DOUBLE" || c.type === "BIGINT").map((c) => c.name)
    this.numeric = this.numericNames.map(() => new Float64Array(INITIAL))
    this.ticker = new Int32Array(INITIAL)
    this.source = new Uint8Array(INITIAL)
    this.otc = new Uint8Array(INITIAL)
    this.extra = new Int32Array(INITIAL)
    this.startSlot = this.numericNames.indexOf("window_start_ms")
    this.receivedSlot = this.numericNames.indexOf("received_at_ms")
    const text = schema.columns.filter((c) => c.type === "VARCHAR" || c.type === "BOOLEAN").map((c) => c.name)
    const known = ["ticker", "source", "otc", "extra"]
    const unknown = text.filter((n) => !known.includes(n))
    if (this.startSlot < 0 || this.receivedSlot < 0 || unknown.length > 0)
      throw new TypeError(`${schema.feed}: not a live aggregate schema`)
  }

  /** Room for one more row at index `length` (callers fill it, then `commit`). */
  reserve(): number {
    if (this.length === this.capacity) this.grow()
    return this.length
  }

  private grow(): void {
    const cap = this.capacity * 2
    const widen = <A extends Float64Array | Int32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap)
      b.set(a)
      return b
    }
    this.numeric = this.numeric.map((a) => widen(a, (n) => new Float64Array(n)))
    this.ticker = widen(this.ticker, (n) => new Int32Array(n))
    this.source = widen(this.source, (n) => new Uint8Array(n))
    this.otc = widen(this.otc, (n) => new Uint8Array(n))
    this.extra = widen(this.extra, (n) => new Int32Array(n))
    this.capacity = cap
  }

  /**
   * The row just filled at index `length` (ticker id and window start included) becomes part of
   * the batch, replacing an earlier row of its key when `replace` (else it is dropped when the key
   * is present). Returns true when the batch gained a row.
   */
  commit(replace: boolean): boolean {
    const i = this.length
    const id = this.ticker[i]!
    const start = this.numeric[this.startSlot]![i]!
    if (id >= this.tickMax.length) this.widenTickers(id)
    if (this.tickSeen[id] === 0 || start > this.tickMax[id]!) {
      this.tickSeen[id] = 1
      this.tickMax[id] = start
      if (this.index !== undefined) this.indexRow(this.index, id, start, i)
      this.length = i + 1
      return true
    }
    const index = this.buildIndex()
    const at = index.get(id)?.get(start)
    if (at === undefined) {
      this.indexRow(index, id, start, i)
      this.length = i + 1
      return true
    }
    if (replace) this.copyRow(this, i, at)
    return false
  }

  private indexRow(index: Map<number, Map<number, number>>, id: number, start: number, row: number): void {
    const byStart = index.get(id)
    if (byStart === undefined) index.set(id, new Map([[start, row]]))
    else byStart.set(start, row)
  }

  private widenTickers(id: number): void {
    const n = Math.max(id + 1, this.tickMax.length * 2)
    const max = new Float64Array(n),
      seen = new Uint8Array(n)
    max.set(this.tickMax)
    seen.set(this.tickSeen)
    this.tickMax = max
    this.tickSeen = seen
  }

  private buildIndex(): Map<number, Map<number, number>> {
    if (this.index !== undefined) return this.index
    const index = new Map<number, Map<number, number>>()
    const starts = this.numeric[this.startSlot]!
    for (let r = 0; r < this.length; r++) {
      const id = this.ticker[r]!
      this.indexRow(index, id, starts[r]!, r)
    }
    return (this.index = index)
  }

  /** Row `from` of `src` (same schema) into row `to` of this batch; an `extra` is re-coded. */
  private copyRow(src: LiveColumns, from: number, to: number): void {
    const numeric = this.numeric
    for (let k = 0; k < numeric.length; k++) numeric[k]![to] = src.numeric[k]![from]!
    this.ticker[to] = src.ticker[from]!
    this.source[to] = src.source[from]!
    this.otc[to] = src.otc[from]!
    const extra = src.extra[from]!
    this.extra[to] = extra === 0 || src === this ? extra : this.extras.push(src.extras[extra - 1]!)
  }

  /** Row `j` of `src` (a frame's scratch rows, same schema and symbols) into the batch; see `commit`. */
  putFrom(src: LiveColumns, j: number, replace: boolean): boolean {
    this.copyRow(src, j, this.reserve())
    return this.commit(replace)
  }

  /**
   * Empty again, for a new batch, keeping the grown arrays (a committed batch is reused: no
   * arrays re-grown and dropped per batch, which at a burst's pace was ~14 MB of garbage per
   * options batch). Every column of a row is written when the row is filled, so no clearing.
   */
  reset(): this {
    this.length = 0
    this.extras.length = 0
    this.tickSeen.fill(0)
    this.index = undefined
    return this
  }

  /** Scratch use: forget every row (no index is kept). */
  clear(): void {
    this.length = 0
    this.extras.length = 0
  }

  /** A row object (validated by the normalizer) into the batch; see `commit`. */
  putRow(row: Row, replace: boolean): boolean {
    const i = this.reserve()
    this.numericNames.forEach((name, k) => {
      const v = row[name]
      this.numeric[k]![i] = typeof v === "number" ? v : NaN
    })
    this.ticker[i] = this.symbols.internString(String(row["ticker"]))
    const source = SOURCES.indexOf(row["source"] as (typeof SOURCES)[number])
    this.source[i] = source < 0 ? SOURCE_WS : source
    this.otc[i] = row["otc"] === true ? 1 : row["otc"] === false ? 2 : 0
    const extra = row["extra"]
    this.extra[i] = typeof extra === "string" ? this.extras.push(extra) : 0
    return this.commit(replace)
  }

  /**
   * The rows as a column batch for ParquetWriter.writeBatches (keys are unique). A column with one
   * value in every row (`source` = ws, `otc` and `extra` absent, `transactions` NULL for streamed
   * rows) is passed as a constant, and NaN-as-NULL only for number columns that hold both.
   */
  toColumnBatch(): ColumnBatch {
    const n = this.length
    const constants: Record<string, Row[string]> = {}
    const coded: Array<CodedColumn> = []
    const code = (
      name: string,
      codesOf: Int32Array | Uint8Array,
      dictionary: ReadonlyArray<string | boolean | null>
    ) => {
      if (!this.schema.columns.some((c) => c.name === name)) return
      const codes = codesOf.subarray(0, n)
      if (n > 0 && codes.every((c) => c === codes[0])) constants[name] = dictionary[codes[0]!] ?? null
      else coded.push({ name, dictionary, codes: Float64Array.from(codes) })
    }
    code("ticker", this.ticker, this.symbols.names.slice())
    code("source", this.source, SOURCES)
    code("extra", this.extra, [null, ...this.extras])
    code("otc", this.otc, OTC_DICTIONARY)
    const nullable = new Set(this.schema.columns.filter((c) => c.nullable).map((c) => c.name))
    const doubles: Array<readonly [string, Float64Array]> = []
    const nanIsNull: Array<string> = []
    this.numericNames.forEach((name, k) => {
      const values = this.numeric[k]!.subarray(0, n)
      let nulls = 0
      for (let i = 0; i < n; i++) if (values[i] !== values[i]) nulls++
      if (nulls > 0 && nulls === n && nullable.has(name)) constants[name] = null
      else {
        doubles.push([name, values])
        if (nulls > 0) nanIsNull.push(name)
      }
    })
    return { length: n, doubles, constants, coded, nanIsNull }
  }
}
