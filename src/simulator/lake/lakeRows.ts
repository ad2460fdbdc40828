/**
 * Lake rows → MarketData wire objects. Column names are those of src/domain/feeds.ts.
 * Gaps a lake may have (WebSocket rows carry no `transactions`, REST rows no `avg_trade_size`):
 * n = transactions, else round(volume / avg_trade_size), else 0; vw = vwap, else close.
 */
import type { WireAgg, WireArticle, WireContract, WireIndexAgg } from "../MarketData.js"
import type { ColumnarResult } from "./syncQuery.js"

type Num = Float64Array
const num = (r: ColumnarResult, name: string): Num => r.columns[name] as Num
const strs = (r: ColumnarResult, name: string) => r.columns[name] as ReadonlyArray<string | null>
const orUndefined = <A>(x: A | null | undefined): A | undefined => (x === null ? undefined : x)

/** Row ranges per ticker of a result sorted by ticker. */
export const tickerRuns = (r: ColumnarResult): ReadonlyMap<string, readonly [number, number]> => {
  const tickers = strs(r, "ticker")
  const runs = new Map<string, readonly [number, number]>()
  for (let i = 0; i < r.rows;) {
    let j = i
    while (j < r.rows && tickers[j] === tickers[i]) j++
    runs.set(tickers[i]!, [i, j])
    i = j
  }
  return runs
}

export const aggBars = (r: ColumnarResult, [from, to]: readonly [number, number]): ReadonlyArray<WireAgg> => {
  const [t, o, h, l, c, v, vw, n, z] = [
    "t",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "transactions",
    "avg_trade_size"
  ].map((k) => num(r, k))
  const out: Array<WireAgg> = []
  for (let i = from; i < to; i++) {
    const trades = !Number.isNaN(n![i]!) ? n![i]! : z![i]! > 0 ? Math.round(v![i]! / z![i]!) : 0
    out.push({
      v: v![i]!,
      vw: Number.isNaN(vw![i]!) ? c![i]! : vw![i]!,
      o: o![i]!,
      c: c![i]!,
      h: h![i]!,
      l: l![i]!,
      t: t![i]!,
      n: trades
    })
  }
  return out
}

export const indexBars = (r: ColumnarResult, [from, to]: readonly [number, number]): ReadonlyArray<WireIndexAgg> => {
  const [t, o, h, l, c] = ["t", "open", "high", "low", "close"].map((k) => num(r, k))
  const out: Array<WireIndexAgg> = []
  for (let i = from; i < to; i++) out.push({ o: o![i]!, c: c![i]!, h: h![i]!, l: l![i]!, t: t![i]! })
  return out
}

export const contracts = (r: ColumnarResult): ReadonlyArray<WireContract> => {
  const s = (k: string, i: number) => strs(r, k)[i] ?? null
  const strike = num(r, "strike_price"),
    shares = num(r, "shares_per_contract")
  const out: Array<WireContract> = []
  for (let i = 0; i < r.rows; i++) {
    const type = s("contract_type", i) === "put" ? "put" : "call"
    out.push({
      cfi: s("cfi", i) ?? (type === "call" ? "OCASPS" : "OPASPS"),
      contract_type: type,
      exercise_style: "american",
      expiration_date: s("expiration_date", i)!,
      primary_exchange: s("primary_exchange", i) ?? "BATO",
      shares_per_contract: Number.isNaN(shares[i]!) ? 100 : shares[i]!,
      strike_price: strike[i]!,
      ticker: s("ticker", i)!,
      underlying_ticker: s("underlying_ticker", i)!
    })
  }
  return out.sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0))
}

/** `2025-10-28T13:30:05Z` (whole seconds) or with milliseconds when present. */
export const isoUtc = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z")

export const articles = (
  r: ColumnarResult
): ReadonlyArray<{ readonly publishedMs: number; readonly article: WireArticle }> => {
  const s = (k: string, i: number) => strs(r, k)[i] ?? null
  const published = num(r, "published_utc_ms")
  const json = <A>(k: string, i: number): A | undefined => {
    const raw = s(k, i)
    return raw === null ? undefined : (JSON.parse(raw) as A)
  }
  const out: Array<{ readonly publishedMs: number; readonly article: WireArticle }> = []
  for (let i = 0; i < r.rows; i++) {
    const favicon = orUndefined(s("publisher_favicon_url", i))
    const optional = {
      amp_url: orUndefined(s("amp_url", i)),
      image_url: orUndefined(s("image_url", i)),
      description: orUndefined(s("description", i)),
      keywords: json<ReadonlyArray<string>>("keywords", i),
      insights: json<WireArticle["insights"]>("insights", i)
    }
    const article: WireArticle = {
      id: s("id", i)!,
      publisher: {
        name: s("publisher_name", i)!,
        homepage_url: s("publisher_homepage_url", i) ?? "",
        logo_url: s("publisher_logo_url", i) ?? "",
        ...(favicon === undefined ? {} : { favicon_url: favicon })
      },
      title: s("title", i)!,
      author: s("author", i)!,
      published_utc: isoUtc(published[i]!),
      article_url: s("article_url", i)!,
      tickers: json<ReadonlyArray<string>>("tickers", i) ?? [],
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined))
    }
    out.push({ publishedMs: published[i]!, article })
  }
  return out
}
