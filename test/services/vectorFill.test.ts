/** Typed arrays into DuckDB vectors: exact 64-bit integers and timestamps, through the fast and the public path. */
import { describe, expect, it } from "vitest"
import { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBTimestampTZValue, type DuckDBVector, TIMESTAMPTZ } from "@duckdb/node-api"
import { fillDoubles, fillInt64, toInt64 } from "../../src/services/parquet/vectorFill.js"

const values = Float64Array.from([0, -0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 5, -(2 ** 40) - 3, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 60, -(2 ** 62), 1_761_658_200_123])

describe("vector fill", () => {
  it("BIGINT, TIMESTAMPTZ (ms → µs) and DOUBLE columns read back exactly", () => {
    const n = values.length - 2
    const chunk = DuckDBDataChunk.create([BIGINT, TIMESTAMPTZ, DOUBLE], n)
    fillInt64(chunk.getColumnVector(0), values, 2, n, 1, false)
    const ms = Float64Array.from([0, -1, 1_761_658_200_123, 2 ** 53 - 1, -(2 ** 50), 9_000_000_000_000, 1, 2, 3, 4, 5])
    fillInt64(chunk.getColumnVector(1), ms, 0, n, 1000, true)
    fillDoubles(chunk.getColumnVector(2), values, 2, n)
    // this library version has the staging arrays, so the copy path above was the one taken
    expect((chunk.getColumnVector(0) as unknown as { items: unknown }).items).toBeInstanceOf(BigInt64Array)
    expect((chunk.getColumnVector(2) as unknown as { items: unknown }).items).toBeInstanceOf(Float64Array)
    expect(chunk.getColumnValues(0)).toEqual([...values.subarray(2)].map((v) => BigInt(v)))
    expect(chunk.getColumnValues(1).map((v) => (v as DuckDBTimestampTZValue).micros)).toEqual([...ms].map((v) => BigInt(v) * 1000n))
    expect(chunk.getColumnValues(2)).toEqual([...values.subarray(2)])
  })

  it("the public path gives the same values when a vector has no staging array", () => {
    const seen: Array<unknown> = []
    const fake = { setItem: (_: number, v: unknown) => seen.push(v), flush: () => seen.push("flush") } as unknown as DuckDBVector
    fillInt64(fake, values, 0, 3, 1000, true)
    fillDoubles(fake, values, 0, 2)
    expect(seen).toEqual([new DuckDBTimestampTZValue(0n), new DuckDBTimestampTZValue(0n), new DuckDBTimestampTZValue(1000n), "flush", 0, -0, "flush"])
  })

  it("refuses what a cast to BIGINT would not keep exact", () => {
    expect(() => toInt64(1.5, 1)).toThrow(RangeError)
    expect(() => toInt64(2 ** 63, 1)).toThrow(RangeError)
    expect(() => toInt64(2 ** 62, 1000)).toThrow(RangeError)
    expect(toInt64(-(2 ** 63), 1)).toBe(-(2n ** 63n))
    const chunk = DuckDBDataChunk.create([BIGINT], 1)
    expect(() => fillInt64(chunk.getColumnVector(0), Float64Array.from([0.5]), 0, 1, 1, false)).toThrow(RangeError)
  })
})
