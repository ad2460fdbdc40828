/**
 * The byte-level page decoder is exact: every number is the double JSON.parse gives, every clean
 * item becomes the row restAggRow / restIndexRow builds, and anything else (drift, damage, text
 * that is not JSON) is refused so that the item-by-item path decides.
 */
import { describe, expect, it } from "vitest"
import { aggBatch, aggRows } from "../../src/domain/aggBatch.js"
import { AggColumnsBuilder, type AggShape, decodeAggPage } from "../../src/domain/aggColumns.js"
import { batchRows } from "../../src/domain/columnBatch.js"
import { OPTIONS_SCHEMA, VIX_SCHEMA } from "../../src/domain/feeds.js"
import { restAggRow, restIndexRow } from "../../src/domain/normalize.js"
import { JsonBytes } from "../../src/lib/jsonBytes.js"

const bytes = (s: string) => new TextEncoder().encode(s)
const p = { source: "rest" as const, receivedAtMs: 1_761_000_000_123 }

/** A deterministic generator (no flaky inputs). */
const lcg = (seed: number) => () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648

const decode = (text: string, shape: AggShape) => {
  const into = new AggColumnsBuilder(shape, 2)
  const page = decodeAggPage(bytes(text), into)
  return page === undefined ? undefined : { nextUrl: page.nextUrl, cols: into.finish() }
}

describe("JsonBytes.number", () => {
  const same = (text: string) => {
    const r = new JsonBytes(bytes(text))
    const got = r.number()
    expect(Object.is(got, JSON.parse(text)), `${text} -> ${got}`).toBe(true)
    expect(r.pos).toBe(text.length)
  }

  it("reads every number JSON.stringify writes exactly as JSON.parse does", () => {
    const rnd = lcg(42)
    for (let i = 0; i < 50_000; i++) {
      const kind = i % 5
      const x =
        kind === 0
          ? Math.round(rnd() * 1e6) / 100 // prices
          : kind === 1
            ? (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) // any magnitude
            : kind === 2
              ? Math.floor(rnd() * 2 ** 53) * (rnd() < 0.5 ? -1 : 1) // big integers
              : kind === 3
                ? 1_761_000_000_000 + Math.floor(rnd() * 1e8) // epoch ms
                : rnd() * 2 ** Math.floor(rnd() * 2000 - 1000) // extreme exponents
      same(JSON.stringify(x))
    }
  })

  it("reads hand-written decimal forms exactly, including those past the fast path", () => {
    const rnd = lcg(7)
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join("")
    for (let i = 0; i < 20_000; i++) {
      const int = String(Number(digits(1 + Math.floor(rnd() * 18))))
      const frac = rnd() < 0.7 ? `.${digits(1 + Math.floor(rnd() * 20))}` : ""
      const exp =
        rnd() < 0.3 ? `${rnd() < 0.5 ? "e" : "E"}${["", "+", "-"][Math.floor(rnd() * 3)]}${Math.floor(rnd() * 40)}` : ""
      same(`${rnd() < 0.3 ? "-" : ""}${int}${frac}${exp}`)
    }
    for (const t of [
      "0",
      "-0",
      "0.0",
      "-0.0e5",
      "1e400",
      "-1e400",
      "1e-400",
      "123456789012345678901234567890",
      "9007199254740993",
      "0.1",
      "2.2250738585072014e-308",
      "5e-324",
      "1.7976931348623157e308"
    ])
      same(t)
  })

  it("refuses what is not a JSON number", () => {
    for (const t of ["", "-", "+1", ".5", "1.", "1e", "1e+", "--1", "x", "NaN", "Infinity"])
      expect(new JsonBytes(bytes(t)).number()).toBeNaN()
    // a leading zero ends the token: the caller then finds "1" where it expects "," or "}"
    const r = new JsonBytes(bytes("01"))
    expect(r.number()).toBe(0)
    expect(r.pos).toBe(1)
  })
})

const wire = (rnd: () => number, i: number) => ({
  v: i % 7 === 0 ? Math.round(rnd() * 1e6) / 1000 : Math.floor(rnd() * 5000),
  vw: Math.round(rnd() * 1e6) / 1e4,
  o: Math.round(rnd() * 1e5) / 100,
  c: Math.round(rnd() * 1e5) / 100,
  h: (rnd() - 0.5) * 10 ** Math.floor(rnd() * 30 - 15),
  l: Math.round(rnd() * 1e5) / 100,
  t: 1_761_658_200_000 + i * 1000,
  n: Math.floor(rnd() * 90)
})

describe("decodeAggPage", () => {
  it.each([undefined, 1, "\t"])(
    "a clean page gives exactly the rows restAggRow gives, whatever the key order (indent %s)",
    (indent) => {
      const rnd = lcg(3)
      const items = Array.from({ length: 3000 }, (_, i) => wire(rnd, i))
      const shuffled = items.map((b, i) =>
        i % 3 === 0 ? { t: b.t, n: b.n, l: b.l, h: b.h, c: b.c, o: b.o, vw: b.vw, v: b.v } : b
      )
      const text = JSON.stringify(
        {
          ticker: "O:SPY251028C00580000",
          queryCount: 3000,
          results: shuffled,
          status: "OK",
          request_id: "x",
          next_url: "http://h/v2/aggs/next?cursor=a%2Fb"
        },
        null,
        indent
      )
      const got = decode(text, "agg")!
      expect(got.nextUrl).toBe("http://h/v2/aggs/next?cursor=a%2Fb")
      const batch = aggBatch("O:SPY251028C00580000", got.cols, p)!
      const expected = (JSON.parse(text) as { results: Array<Record<string, unknown>> }).results.map((raw) =>
        restAggRow("options", "O:SPY251028C00580000", raw, p)
      )
      expect(expected.every((n) => n.ok && n.drift.length === 0)).toBe(true)
      expect(batchRows(OPTIONS_SCHEMA, batch)).toEqual(expected.map((n) => (n.ok ? n.row : undefined)))
    }
  )

  it("otc: constant values stay columns, a mix goes through the normalizer row by row", () => {
    const rnd = lcg(5)
    const all = Array.from({ length: 10 }, (_, i) => ({ ...wire(rnd, i), otc: true }))
    const cols = decode(JSON.stringify({ results: all }), "agg")!.cols
    const rows = batchRows(OPTIONS_SCHEMA, aggBatch("X", cols, p)!)
    expect(rows).toEqual(all.map((raw) => (restAggRow("options", "X", raw, p) as { row: unknown }).row))
    const mixed = all.map((b, i) => (i % 2 === 0 ? b : wire(rnd, i)))
    const mixedCols = decode(JSON.stringify({ results: mixed }), "agg")!.cols
    expect(aggBatch("X", mixedCols, p)).toBeUndefined()
    expect(aggRows("options", "X", mixedCols, p)).toEqual(
      mixed.map((raw) => (restAggRow("options", "X", raw, p) as { row: unknown }).row)
    )
  })

  it("index pages: exactly restIndexRow's rows; stock fields make an index item unclean", () => {
    const rnd = lcg(9)
    const items = Array.from({ length: 500 }, (_, i) => ({
      o: rnd() * 30,
      c: rnd() * 30,
      h: rnd() * 30,
      l: rnd() * 30,
      t: 1_761_658_200_000 + i * 1000
    }))
    const cols = decode(JSON.stringify({ ticker: "I:VIX", results: items, status: "OK" }), "index")!.cols
    expect(batchRows(VIX_SCHEMA, aggBatch("I:VIX", cols, p)!)).toEqual(
      items.map((raw) => (restIndexRow("I:VIX", raw, p) as { row: unknown }).row)
    )
    expect(decode(JSON.stringify({ results: [{ ...items[0], v: 1 }] }), "index")).toBeUndefined()
  })

  it("empty and missing results, no next_url", () => {
    for (const text of [
      '{"ticker":"SPY","queryCount":0,"resultsCount":0,"status":"OK"}',
      '{"results":[]}',
      '{"results":null}',
      "{}",
      " { } \n"
    ]) {
      const got = decode(text, "agg")!
      expect(got.cols.length).toBe(0)
      expect(got.nextUrl).toBeUndefined()
    }
  })

  it("refuses every item the normalizer would not pass clean, and every envelope it would not read", () => {
    const ok = '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7}'
    expect(decode(`{"results":[${ok}]}`, "agg")?.cols.length).toBe(1)
    const unclean = [
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000}', // n missing (drift)
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7,"x":1}', // unknown field
      '{"v":1,"vw":2,"o":3,"c":"4","h":5,"l":6,"t":1761658200000,"n":7}', // wrong type
      '{"v":1,"vw":2,"o":3,"c":null,"h":5,"l":6,"t":1761658200000,"n":7}', // null
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000.5,"n":7}', // t not an integer
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7.5}', // n not an integer
      '{"v":1,"vw":2,"o":3,"c":4,"c":4,"h":5,"l":6,"t":1761658200000,"n":7}', // duplicate key
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7,"otc":null}',
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7,"otc":1}',
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7,"o\\u0074c":true}', // escaped key
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":07}', // not JSON
      '{"v":1,"vw":2,"o":3,"c":4,"h":5,"l":6,"t":1761658200000,"n":7,}', // not JSON
      "{}",
      "[]",
      "1"
    ]
    for (const item of unclean) expect(decode(`{"results":[${ok},${item}]}`, "agg"), item).toBeUndefined()
    const envelopes = [
      `{"results":[${ok}],"results":[]}`,
      `{"results":{"a":1}}`,
      `{"results":[${ok}],"next_url":null}`,
      `{"results":[${ok}],"next_url":"a","next_url":"b"}`,
      `{"results":[${ok}]`,
      `{"results":[${ok}]}x`,
      `{"results":[${ok}],}`,
      `{"results":[${ok}] "status":"OK"}`,
      `{"status":"O\u0001K","results":[${ok}]}`,
      `{"status":"\\x","results":[${ok}]}`,
      `[${ok}]`,
      `\ufeff{"results":[${ok}]}`,
      ""
    ]
    for (const text of envelopes) expect(decode(text, "agg"), text).toBeUndefined()
  })

  it("skips other envelope fields of any shape, and decodes an escaped next_url", () => {
    const text = `{"meta":{"a":[1,2.5e3,{"b":null}],"s":"q\\"\\u00e9\\n"},"results":[{"o":1,"c":2,"h":3,"l":0.5,"t":5}],"next_url":"https:\\/\\/api.polygon.io\\/v2?cursor=\\u00e9"}`
    const got = decode(text, "index")!
    expect(got.nextUrl).toBe((JSON.parse(text) as { next_url: string }).next_url)
    expect(got.cols.length).toBe(1)
    // resultsCount is only a size hint: any value, right or wrong, decodes the same results
    for (const count of ['"x"', "-5", "3", "0", "1e300", "2.5", "null", "[1]", "5000000"]) {
      const page = decode(
        `{"resultsCount":${count},"results":[{"o":1,"c":2,"h":3,"l":0.5,"t":5},{"o":1,"c":2,"h":3,"l":0.5,"t":6}]}`,
        "index"
      )
      expect(page?.cols.length, count).toBe(2)
      expect([...page!.cols.t]).toEqual([5, 6])
    }
    expect(decode('{"resultsCount":01,"results":[]}', "index")).toBeUndefined()
  })
})
