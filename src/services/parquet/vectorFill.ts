/**
 * Typed arrays into DuckDB vectors without a JS value per row.
 *
 * Every fixed-width vector of @duckdb/node-api stages its values in a typed array (`items`) that
 * `flush()` copies to DuckDB; filling that array with one `set` (doubles) or with 32-bit word
 * stores (64-bit integers, no BigInt per row) is what makes a column a memcpy. When a vector
 * does not have that shape (another library version), values go through the public `setItem`:
 * slower, same result.
 */
import { type DuckDBVector, DuckDBTimestampTZValue } from "@duckdb/node-api"
import * as os from "node:os"

const LITTLE_ENDIAN = os.endianness() === "LE"
const TWO_32 = 4_294_967_296

const staged = (vector: DuckDBVector): unknown => (vector as unknown as { readonly items?: unknown }).items

/** values[from … from + n) as DOUBLE. */
export const fillDoubles = (vector: DuckDBVector, values: Float64Array, from: number, n: number): void => {
  const items = staged(vector)
  if (items instanceof Float64Array && items.length === n) items.set(values.subarray(from, from + n))
  else for (let i = 0; i < n; i++) (vector as DuckDBVector<number>).setItem(i, values[from + i]!)
  vector.flush()
}

/** `value × scale` as an exact 64-bit integer; a value that is not an integer, or out of range, is an error. */
export const toInt64 = (value: number, scale: number): bigint => {
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`)
  const big = BigInt(value) * BigInt(scale)
  if (BigInt.asIntN(64, big) !== big) throw new RangeError(`${value} × ${scale} is out of the 64-bit range`)
  return big
}

/**
 * values[from … from + n) × `scale` as 64-bit integers: BIGINT (scale 1) or, with `timestamp`,
 * TIMESTAMPTZ microseconds from epoch milliseconds (scale 1000). Exact: safe integers are split
 * into two 32-bit words; anything else goes through BigInt (or fails, as a cast would).
 */
export const fillInt64 = (vector: DuckDBVector, values: Float64Array, from: number, n: number, scale: number, timestamp: boolean): void => {
  const items = staged(vector)
  if (LITTLE_ENDIAN && items instanceof BigInt64Array && items.length === n) {
    const words = new Int32Array(items.buffer, items.byteOffset, n * 2)
    for (let i = 0; i < n; i++) {
      const x = values[from + i]! * scale
      if (Number.isSafeInteger(x)) {
        const hi = Math.floor(x / TWO_32)
        words[2 * i] = (x - hi * TWO_32) | 0
        words[2 * i + 1] = hi
      } else items[i] = toInt64(values[from + i]!, scale)
    }
  } else {
    for (let i = 0; i < n; i++) {
      const big = toInt64(values[from + i]!, scale)
      ;(vector as DuckDBVector).setItem(i, timestamp ? new DuckDBTimestampTZValue(big) : big)
    }
  }
  vector.flush()
}
