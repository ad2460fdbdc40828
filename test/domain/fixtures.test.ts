/** The real API responses and spec examples in shared/fixtures/polygon decode without drift alarms. */
import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  contractRow,
  type Normalized,
  newsRow,
  restAggRow,
  restAggRowChecked,
  restIndexRow,
  restIndexRowChecked
} from "../../src/domain/normalize.js"

const FIXTURES = path.resolve("../shared/fixtures/polygon")
const load = (rel: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, rel), "utf8")) as { results?: unknown }
const items = (rel: string) => {
  const r = load(rel).results
  return (Array.isArray(r) ? r : [r]) as Array<Record<string, unknown>>
}
const p = { source: "rest" as const, receivedAtMs: 1 }
const clean = (results: ReadonlyArray<Normalized>) => {
  expect(results.length).toBeGreaterThan(0)
  expect(results.filter((r) => !r.ok)).toEqual([])
  expect(results.flatMap((r) => r.drift)).toEqual([])
}

describe.skipIf(!fs.existsSync(FIXTURES))("real fixtures decode without drift", () => {
  it.each([
    "openapi-examples/polygon__GetStocksAggregates__200.example.json",
    "openapi-examples/massive__GetStocksAggregates__200.example.json",
    "client-go/rest__aggs_test.go__expectedAggsResponse.json",
    "client-python/test_rest/mocks/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04.json"
  ])("stock aggregates %s", (rel) => clean(items(rel).map((i) => restAggRow("spy", "X", i, p))))

  it.each([
    "openapi-examples/polygon__GetOptionsAggregates__200.example.json",
    "openapi-examples/massive__GetOptionsAggregates__200.example.json"
  ])("option aggregates %s", (rel) => clean(items(rel).map((i) => restAggRow("options", "O:X", i, p))))

  it.each([
    "openapi-examples/polygon__GetIndicesAggregates__200.example.json",
    "openapi-examples/massive__GetIndicesAggregates__200.example.json"
  ])("index aggregates %s", (rel) => clean(items(rel).map((i) => restIndexRow("I:X", i, p))))

  it.each([
    "openapi-examples/polygon__ListOptionsContracts__200.example.json",
    "openapi-examples/massive__ListOptionsContracts__200.example.json",
    "client-python/test_rest/mocks/v3/reference/options/contracts.json",
    "client-go/rest__reference_test.go__TestListOptionsContracts.json",
    "openapi-examples/polygon__GetOptionsContract__200.example.json"
  ])("contracts %s", (rel) =>
    clean(items(rel).map((i, rank) => contractRow(i, { asOf: "2025-10-28", openPrice: 1, moneynessRank: rank }, p)))
  )

  it.each([
    "openapi-examples/polygon__ListNews__200.example.json",
    "openapi-examples/massive__ListNews__200.example.json",
    "client-go/rest__reference_test.go__TestListTickerNews.json"
  ])("news %s", (rel) => clean(items(rel).map((i) => newsRow(i, p))))

  it("an unknown field, a missing expected field and a type change are each reported", () => {
    const bar = {
      ...items("openapi-examples/polygon__GetStocksAggregates__200.example.json")[0]!,
      brand_new: 1,
      n: "12"
    } as Record<string, unknown>
    delete bar["vw"]
    const r = restAggRow("spy", "X", bar, p)
    expect(r.ok).toBe(true)
    expect(r.drift.map((d) => `${d.kind}:${d.field}`).sort()).toEqual([
      "missing_field:vw",
      "type_change:n",
      "unknown_field:brand_new"
    ])
    if (r.ok) expect(JSON.parse(r.row["extra"] as string)).toEqual({ brand_new: 1, n: "12" })
  })
})

describe("the clean-item fast path builds exactly the rows of the field-spec path", () => {
  const p = { source: "rest" as const, receivedAtMs: 42 }
  const base = { v: 1200, vw: 580.1234, o: 580.1, c: 580.2, h: 580.3, l: 580.0, t: 1761658200000, n: 7 }
  const aggCases: Array<Record<string, unknown>> = [
    base,
    { ...base, otc: true },
    { ...base, otc: false },
    { ...base, v: 25933.6 },
    { ...base, extra_field: 1 },
    { ...base, n: 1.5 },
    { ...base, vw: null },
    { ...base, c: "580.2" },
    { ...base, otc: "yes" },
    (({ vw: _vw, ...rest }) => rest)(base),
    (({ t: _t, ...rest }) => rest)(base)
  ]
  it.each(aggCases.map((c, i) => [i, c] as const))("aggregate case %i", (_, item) => {
    expect(restAggRow("options", "O:X", item, p)).toEqual(restAggRowChecked("options", "O:X", item, p))
  })
  const idx = { o: 17.1, h: 17.2, l: 17.0, c: 17.15, t: 1761658200000 }
  it.each(
    [idx, { ...idx, extra: 1 }, { ...idx, t: 1.5 }, (({ c: _c, ...rest }) => rest)(idx)].map((c, i) => [i, c] as const)
  )("index case %i", (_, item) => {
    expect(restIndexRow("I:VIX", item, p)).toEqual(restIndexRowChecked("I:VIX", item, p))
  })
})
