/**
 * Typed arrays into the column vectors of a DuckDB data chunk without a JS value per row.
 *
 * Fastest path: DuckDB's C API as @duckdb/node-api itself calls it (`@duckdb/node-bindings`,
 * resolved from node-api so it is the very same module): one `copy_data_to_vector` per column
 * slice, straight from the batch's Float64Array, or from a reused scratch array of 64-bit words
 * (no BigInt per row, nothing allocated per chunk). When those functions are not there (another
 * library version), the public vector API is used: through the typed array the vector stages its
 * values in (`items`, copied by `flush()`) when it has one, else value by value with `setItem`.
 * Every path writes the same values (tested).
 */
import { type DuckDBDataChunk, DuckDBTimestampTZValue, type DuckDBVector } from "@duckdb/node-api"
import { createRequire } from "node:module"
import * as os from "node:os"

const LITTLE_ENDIAN = os.endianness() === "LE"
const TWO_32 = 4_294_967_296
/** DuckDB's vector size: no chunk holds more rows. */
const MAX_ROWS = 2048

interface Bindings {
  readonly data_chunk_get_vector: (chunk: unknown, column: number) => unknown
  readonly copy_data_to_vector: (
    vector: unknown,
    targetByteOffset: number,
    source: ArrayBufferLike,
    sourceByteOffset: number,
    byteCount: number
  ) => void
}

const bindings: Bindings | undefined = (() => {
  try {
    const fromNodeApi = createRequire(createRequire(import.meta.url).resolve("@duckdb/node-api"))
    const b = fromNodeApi("@duckdb/node-bindings") as Partial<Bindings>
    return LITTLE_ENDIAN && typeof b.data_chunk_get_vector === "function" && typeof b.copy_data_to_vector === "function"
      ? (b as Bindings)
      : undefined
  } catch {
    return undefined
  }
})()

export type FillPath = "bindings" | "vector"
export const DEFAULT_PATH: FillPath = bindings !== undefined ? "bindings" : "vector"

/** `value × scale` as an exact 64-bit integer; a value that is not an integer, or out of range, is an error. */
export const toInt64 = (value: number, scale: number): bigint => {
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`)
  const big = BigInt(value) * BigInt(scale)
  if (BigInt.asIntN(64, big) !== big) throw new RangeError(`${value} × ${scale} is out of the 64-bit range`)
  return big
}

const scratch = new Int32Array(2 * MAX_ROWS)
const scratch64 = new BigInt64Array(scratch.buffer)

/** values[from … from + n) × scale into `words` as little-endian 64-bit integers. */
const int64Words = (
  words: Int32Array,
  wide: BigInt64Array,
  values: Float64Array,
  from: number,
  n: number,
  scale: number
): void => {
  for (let i = 0; i < n; i++) {
    const x = values[from + i]! * scale
    if (Number.isSafeInteger(x)) {
      const hi = Math.floor(x / TWO_32)
      words[2 * i] = (x - hi * TWO_32) | 0
      words[2 * i + 1] = hi
    } else wide[i] = toInt64(values[from + i]!, scale)
  }
}

const staged = (vector: DuckDBVector): unknown => (vector as unknown as { readonly items?: unknown }).items

/** values[from … from + n) as column `column` (DOUBLE) of `chunk`. */
export const fillDoubles = (
  chunk: DuckDBDataChunk,
  column: number,
  values: Float64Array,
  from: number,
  n: number,
  path = DEFAULT_PATH
): void => {
  if (path === "bindings" && bindings !== undefined && n <= MAX_ROWS) {
    bindings.copy_data_to_vector(
      bindings.data_chunk_get_vector(chunk.chunk, column),
      0,
      values.buffer,
      values.byteOffset + from * 8,
      n * 8
    )
    return
  }
  const vector = chunk.getColumnVector(column)
  const items = staged(vector)
  if (items instanceof Float64Array && items.length === n) items.set(values.subarray(from, from + n))
  else for (let i = 0; i < n; i++) (vector as DuckDBVector<number>).setItem(i, values[from + i]!)
  vector.flush()
}

/**
 * values[from … from + n) × `scale` as column `column` of `chunk`: BIGINT (scale 1) or, with
 * `timestamp`, TIMESTAMPTZ microseconds from epoch milliseconds (scale 1000). Exact: safe
 * integers are split into two 32-bit words; anything else goes through BigInt (or fails, as a
 * cast would).
 */
export const fillInt64 = (
  chunk: DuckDBDataChunk,
  column: number,
  values: Float64Array,
  from: number,
  n: number,
  scale: number,
  timestamp: boolean,
  path = DEFAULT_PATH
): void => {
  if (path === "bindings" && bindings !== undefined && n <= MAX_ROWS) {
    int64Words(scratch, scratch64, values, from, n, scale)
    bindings.copy_data_to_vector(bindings.data_chunk_get_vector(chunk.chunk, column), 0, scratch.buffer, 0, n * 8)
    return
  }
  const vector = chunk.getColumnVector(column)
  const items = staged(vector)
  if (LITTLE_ENDIAN && items instanceof BigInt64Array && items.length === n)
    int64Words(new Int32Array(items.buffer, items.byteOffset, n * 2), items, values, from, n, scale)
  else {
    for (let i = 0; i < n; i++) {
      const big = toInt64(values[from + i]!, scale)
      ;(vector as DuckDBVector).setItem(i, timestamp ? new DuckDBTimestampTZValue(big) : big)
    }
  }
  vector.flush()
}

const codeScratch = new ArrayBuffer(4 * MAX_ROWS)

/**
 * codes[from … from + n) as column `column` of `chunk`, an ENUM vector whose physical type holds
 * `width` bytes per value (1, 2 or 4, as `ENUM(values)` picks it from the number of values);
 * `dictionary` gives the values for the public vector API's path.
 */
export const fillEnumCodes = (
  chunk: DuckDBDataChunk,
  column: number,
  codes: Float64Array,
  from: number,
  n: number,
  width: 1 | 2 | 4,
  dictionary: ReadonlyArray<string>,
  path = DEFAULT_PATH
): void => {
  if (path === "bindings" && bindings !== undefined && n <= MAX_ROWS) {
    const out =
      width === 1
        ? new Uint8Array(codeScratch, 0, n)
        : width === 2
          ? new Uint16Array(codeScratch, 0, n)
          : new Uint32Array(codeScratch, 0, n)
    for (let i = 0; i < n; i++) out[i] = codes[from + i]!
    bindings.copy_data_to_vector(bindings.data_chunk_get_vector(chunk.chunk, column), 0, codeScratch, 0, n * width)
    return
  }
  const vector = chunk.getColumnVector(column) as DuckDBVector<string>
  for (let i = 0; i < n; i++) vector.setItem(i, dictionary[codes[from + i]!]!)
  vector.flush()
}
