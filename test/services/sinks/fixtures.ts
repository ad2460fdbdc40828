/**
 * Hand-built lake days for the sink tests, plus a plain-TypeScript reference of options_consolidated.
 * Each day (09:29:59–09:39:59 ET): SPY bars with missing seconds, VIX starting 3 s after the open,
 * 6 option contracts (one outside the contract list, one bar 1 s before any SPY/VIX bar), a bar with
 * a non-OCC hostile ticker, a second options file with corrections (newer) and stale versions (older),
 * news around the 15-minute boundary, a tie on published time, non-SPY articles and hostile strings.
 */
import { type Feed, type Row, SCHEMAS } from "../../../src/domain/feeds.js"
import { parseOptionTicker } from "../../../src/domain/tickers.js"
import { dedupe } from "./support.js"

export const DATES = ["2025-10-28", "2025-10-29"] as const
export const WINDOW_MS = 15 * 60_000
/** Per-second option bars: a consolidated row is as of the bar's end, 1 s after its start. */
export const BAR_SPAN_MS = 1000
export const HOSTILE = [
  "'; DROP TABLE news; --",
  `Robert'); DROP TABLE option_bars;-- "quoted" \\back\\slash`,
  "Unicode: é ü 中文 😀 \u200b zero-width, tab\tnewline\nend",
  `${"long ".repeat(2_000)}`,
  '%_ LIKE wildcards %"SPY"% ; SELECT 1;'
]

const openMs = (date: string) => Date.parse(`${date}T13:30:00Z`)

const agg = (ticker: string, ws: number, price: number, i: number, received: number): Row => ({
  ticker,
  window_start_ms: ws,
  open: price,
  high: price + 0.05,
  low: price - 0.03,
  close: price + 0.01 * (i % 3),
  volume: i % 4 === 0 ? 100 + i : 12.5 + i,
  vwap: i % 5 === 0 ? null : price + 0.001,
  transactions: i % 6 === 0 ? null : 3 + i,
  window_end_ms: null,
  accumulated_volume: null,
  official_open: null,
  day_vwap: null,
  avg_trade_size: null,
  otc: i % 9 === 0 ? true : null,
  source: "rest",
  received_at_ms: received,
  extra: i % 11 === 0 ? `{"note":"it's ${i}"}` : null
})

const contractTickers = (date: string) => {
  const yymmdd = date.slice(2).replace(/-/g, "")
  return [580, 581, 582].flatMap((k) => [`O:SPY${yymmdd}C00${k}000`, `O:SPY${yymmdd}P00${k}500`])
}

const newsRow = (
  id: string,
  published: number,
  title: string,
  tickers: string,
  sentiment: string | null,
  received: number
): Row => ({
  ...Object.fromEntries(SCHEMAS.news.columns.map((c) => [c.name, c.nullable ? null : `${c.name}-${id}`])),
  id,
  published_utc_ms: published,
  title,
  tickers,
  spy_sentiment: sentiment,
  source: "rest",
  received_at_ms: received,
  description: title,
  spy_sentiment_reasoning: sentiment === null ? null : `because ${title.slice(0, 40)}`
})

export interface Day {
  readonly date: string
  /** Files per feed: `[fileName, rows]`. */
  readonly files: Readonly<Record<Feed, ReadonlyArray<readonly [string, ReadonlyArray<Row>]>>>
}

export const makeDay = (date: string, dayIndex: number): Day => {
  const open = openMs(date)
  const rcv = 1_761_000_000_000 + dayIndex * 86_400_000
  const spy: Array<Row> = []
  const vix: Array<Row> = []
  for (let i = 0; i < 600; i++) {
    if (i % 7 !== 3) spy.push(agg("SPY", open + i * 1000, 580 + i * 0.01 + dayIndex, i, rcv))
    if (i >= 3 && i % 5 !== 0)
      vix.push({
        ...pick(
          agg("I:VIX", open + i * 1000, 17 + i / 1000, i, rcv),
          SCHEMAS.vix.columns.map((c) => c.name)
        )
      })
  }
  const tickers = contractTickers(date)
  const backfill: Array<Row> = []
  tickers.forEach((t, k) => {
    for (let i = 0; i < 600; i++)
      if ((i + k) % 3 === 0) backfill.push(agg(t, open + i * 1000, 1.5 + k * 0.25 + i * 0.001, i + k, rcv))
  })
  backfill.push(agg(tickers[0]!, open - 1000, 1.4, 1, rcv))
  backfill.push(agg(`O:X'";-- ${HOSTILE[0]!.slice(0, 10)}`, open + 10_000, 0.5, 2, rcv))
  const live = [
    { ...backfill[3]!, close: 9.99, source: "ws", received_at_ms: rcv + 5000 },
    { ...backfill[4]!, close: 0.01, source: "ws", received_at_ms: rcv - 5000 },
    { ...backfill[100]!, close: 7.77, vwap: null, source: "repair", received_at_ms: rcv + 1 }
  ]
  const spyTag = JSON.stringify(["SPY", "'; DELETE FROM news; --"])
  const news = [
    newsRow(`${date}-a`, open - 20 * 60_000, HOSTILE[0]!, spyTag, "negative", rcv),
    newsRow(`${date}-b`, open - WINDOW_MS, HOSTILE[1]!, spyTag, "neutral", rcv),
    newsRow(`${date}-c`, open - WINDOW_MS + 1000, HOSTILE[2]!, spyTag, "positive", rcv),
    newsRow(`${date}-d`, open + 30_000, HOSTILE[3]!, spyTag, null, rcv),
    newsRow(`${date}-e`, open + 30_000, HOSTILE[4]!, spyTag, "positive", rcv),
    newsRow(`${date}-f`, open + 60_000, "AAPL only", JSON.stringify(["AAPL"]), null, rcv),
    newsRow(`${date}-g`, open + 120_000, "SPY at a bar start", spyTag, "neutral", rcv),
    newsRow(`${date}-h`, open + 120_500, "SPY mid-bar", spyTag, "negative", rcv)
  ]
  const contracts = tickers.slice(0, 5).map((t, i): Row => {
    const s = parseOptionTicker(t)!
    return {
      as_of: date,
      ticker: t,
      underlying_ticker: "SPY",
      contract_type: s.right,
      exercise_style: "american",
      expiration_date: s.expiration,
      strike_price: s.strike,
      shares_per_contract: 100,
      primary_exchange: "BATO",
      cfi: "OCASPS",
      correction: null,
      additional_underlyings: null,
      open_price: 580,
      moneyness_rank: i,
      source: "rest",
      received_at_ms: rcv,
      extra: null
    }
  })
  return {
    date,
    files: {
      spy: [["backfill.parquet", spy]],
      vix: [["backfill.parquet", vix]],
      options: [
        ["backfill.parquet", backfill],
        ["live-0001.parquet", live]
      ],
      news: [["backfill.parquet", news]],
      contracts: [["backfill.parquet", contracts]]
    }
  }
}

function pick(row: Row, names: ReadonlyArray<string>): Row {
  return Object.fromEntries(names.map((n) => [n, row[n] ?? null]))
}

export const dayRows = (day: Day, feed: Feed) =>
  dedupe(
    feed,
    day.files[feed].flatMap(([, rows]) => rows)
  )

/** The reference view for a date, given every loaded day (news of any date counts). */
export const referenceView = (days: ReadonlyArray<Day>, date: string): Array<Record<string, unknown>> => {
  const day = days.find((d) => d.date === date)!
  const spy = [...dayRows(day, "spy").values()].sort(
    (a, b) => Number(a["window_start_ms"]) - Number(b["window_start_ms"])
  )
  const vix = [...dayRows(day, "vix").values()].sort(
    (a, b) => Number(a["window_start_ms"]) - Number(b["window_start_ms"])
  )
  const news = days
    .flatMap((d) => [...dayRows(d, "news").values()])
    .filter((n) => String(n["tickers"]).includes('"SPY"'))
  const listed = new Set([...dayRows(day, "contracts").values()].map((c) => c["ticker"]))
  const lastAtOrBefore = (rows: ReadonlyArray<Row>, t: number) =>
    rows.filter((r) => Number(r["window_start_ms"]) <= t).at(-1)
  return [...dayRows(day, "options").values()].map((o) => {
    const t = Number(o["window_start_ms"])
    const s = lastAtOrBefore(spy, t)
    const v = lastAtOrBefore(vix, t)
    const tEnd = t + BAR_SPAN_MS // the row's time: the bar's end
    const known = news.filter((n) => Number(n["published_utc_ms"]) <= tEnd)
    const latest = known
      .sort(
        (a, b) =>
          Number(a["published_utc_ms"]) - Number(b["published_utc_ms"]) || (String(a["id"]) < String(b["id"]) ? -1 : 1)
      )
      .at(-1)
    const occ = parseOptionTicker(String(o["ticker"]))
    return {
      date,
      ticker: o["ticker"],
      underlying: occ?.underlying ?? null,
      expiration: occ?.expiration ?? null,
      strike: occ?.strike ?? null,
      contract_type: occ?.right ?? null,
      in_contract_list: listed.has(o["ticker"]!),
      window_start_ms: t,
      open: o["open"],
      high: o["high"],
      low: o["low"],
      close: o["close"],
      volume: o["volume"],
      vwap: o["vwap"],
      transactions: o["transactions"],
      spy_window_start_ms: s?.["window_start_ms"] ?? null,
      spy_open: s?.["open"] ?? null,
      spy_high: s?.["high"] ?? null,
      spy_low: s?.["low"] ?? null,
      spy_close: s?.["close"] ?? null,
      spy_volume: s?.["volume"] ?? null,
      spy_vwap: s?.["vwap"] ?? null,
      spy_staleness_ms: s ? t - Number(s["window_start_ms"]) : null,
      vix_value: v?.["close"] ?? null,
      vix_window_start_ms: v?.["window_start_ms"] ?? null,
      vix_staleness_ms: v ? t - Number(v["window_start_ms"]) : null,
      news_count_15m: known.filter((n) => Number(n["published_utc_ms"]) > tEnd - WINDOW_MS).length,
      latest_headline: latest?.["title"] ?? null,
      latest_sentiment: latest?.["spy_sentiment"] ?? null,
      latest_news_age_s: latest ? (tEnd - Number(latest["published_utc_ms"])) / 1000 : null
    }
  })
}
