/** Typed arrays into DuckDB vectors: exact 64-bit integers and timestamps, the same through every path. */
import { describe, expect, it } from "vitest"
import {
  BIGINT,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBTimestampTZValue,
  type DuckDBVector,
  TIMESTAMPTZ
} from "@duckdb/node-api"
import {
  DEFAULT_PATH,
  type FillPath,
  fillDoubles,
  fillInt64,
  toInt64
} from "../../../src/services/parquet/vectorFill.js"

const values = Float64Array.from([
  0,
  -0,
  1,
  -1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32 + 5,
  -(2 ** 40) - 3,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  2 ** 60,
  -(2 ** 62),
  1_761_658_200_123
])
const ms = Float64Array.from([0, -1, 1_761_658_200_123, 2 ** 53 - 1, -(2 ** 50), 9_000_000_000_000, 1, 2, 3, 4, 5])

const filled = (path: FillPath) => {
  const n = values.length - 2
  const chunk = DuckDBDataChunk.create([BIGINT, TIMESTAMPTZ, DOUBLE], n)
  fillInt64(chunk, 0, values, 2, n, 1, false, path)
  fillInt64(chunk, 1, ms, 0, n, 1000, true, path)
  fillDoubles(chunk, 2, values, 2, n, path)
  // read back through fresh vector objects
  const read = new DuckDBDataChunk(chunk.chunk)
  return [
    read.getColumnValues(0),
    read.getColumnValues(1).map((v) => (v as DuckDBTimestampTZValue).micros),
    read.getColumnValues(2)
  ]
}

describe("vector fill", () => {
  it.each(["bindings", "vector"] as const)(
    "BIGINT, TIMESTAMPTZ (ms → µs) and DOUBLE columns read back exactly (%s path)",
    (path) => {
      expect(filled(path)).toEqual([
        [...values.subarray(2)].map((v) => BigInt(v)),
        [...ms].map((v) => BigInt(v) * 1000n),
        [...values.subarray(2)]
      ])
    }
  )

  it("this library version takes the C API path", () => {
    expect(DEFAULT_PATH).toBe("bindings")
  })

  it("value by value through setItem when a vector has no staging array: the same values", () => {
    const seen: Array<unknown> = []
    const fake = {
      setItem: (_: number, v: unknown) => seen.push(v),
      flush: () => seen.push("flush")
    } as unknown as DuckDBVector
    const chunk = { getColumnVector: () => fake } as unknown as DuckDBDataChunk
    fillInt64(chunk, 0, values, 0, 3, 1000, true, "vector")
    fillDoubles(chunk, 0, values, 0, 2, "vector")
    expect(seen).toEqual([
      new DuckDBTimestampTZValue(0n),
      new DuckDBTimestampTZValue(0n),
      new DuckDBTimestampTZValue(1000n),
      "flush",
      0,
      -0,
      "flush"
    ])
  })

  it("refuses what a cast to BIGINT would not keep exact", () => {
    expect(() => toInt64(1.5, 1)).toThrow(RangeError)
    expect(() => toInt64(2 ** 63, 1)).toThrow(RangeError)
    expect(() => toInt64(2 ** 62, 1000)).toThrow(RangeError)
    expect(toInt64(-(2 ** 63), 1)).toBe(-(2n ** 63n))
    for (const path of ["bindings", "vector"] as const) {
      expect(() =>
        fillInt64(DuckDBDataChunk.create([BIGINT], 1), 0, Float64Array.from([0.5]), 0, 1, 1, false, path)
      ).toThrow(RangeError)
    }
  })
})
