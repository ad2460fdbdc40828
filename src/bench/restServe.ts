/**
 * `npm run build && node dist/bench/restServe.js [ROUNDS] [DAYS]`: how fast the simulator's REST
 * server serves the pages a backfill asks for. Each round starts a fresh `node dist/main.js
 * simulate` process and, for each of DAYS trading days, fetches (sequentially, keep-alive):
 * the SPY per-second day (one 50k-limit page), the I:VIX per-second day and every option contract
 * in ±1% of the open expiring that day (~22 contract-days). That is the "fresh" pass (first-time
 * generation); the same requests are then repeated (the "warm" pass, everything cached).
 * Prints per-group medians over rounds: ms per page, pages/s and rows/s (client-side wall time,
 * request sent → whole body received).
 */
import { holidayIndex, tradingDaysBetween } from "../domain/calendar.js"
import { nyseHolidays } from "../domain/nyseHolidays.js"
import { startSimulatorProcess } from "./simulatorProcess.js"

const rounds = Number(process.argv[2] ?? 3)
const dayCount = Number(process.argv[3] ?? 2)
const dates = tradingDaysBetween("2025-10-01", "2025-12-31", holidayIndex(nyseHolidays(2025))).slice(0, dayCount)
const KEY = "bench-key"

type Group = "spy" | "vix" | "options"
interface Sample {
  readonly ms: number
  readonly rows: number
  readonly bytes: number
}

const get = async (url: string): Promise<{ body: Buffer; ms: number }> => {
  const started = performance.now()
  const r = await fetch(url, { headers: { Authorization: `Bearer ${KEY}` } })
  const body = Buffer.from(await r.arrayBuffer())
  const ms = performance.now() - started
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${body.toString("utf8", 0, 200)}`)
  return { body, ms }
}

const aggsUrl = (base: string, ticker: string, date: string, timespan = "second") =>
  `${base}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/1/${timespan}/${date}/${date}?adjusted=true&sort=asc&limit=50000`

/** One page per ticker-day (asserts that no next_url follows). */
const fetchDay = async (base: string, ticker: string, date: string): Promise<Sample> => {
  const { body, ms } = await get(aggsUrl(base, ticker, date))
  const page = JSON.parse(body.toString("utf8")) as { results?: Array<unknown>; next_url?: string }
  if (page.next_url !== undefined) throw new Error(`${ticker} ${date}: more than one page`)
  return { ms, rows: page.results?.length ?? 0, bytes: body.length }
}

const optionTickers = async (base: string, date: string): Promise<ReadonlyArray<string>> => {
  const day = JSON.parse((await get(aggsUrl(base, "SPY", date, "day"))).body.toString("utf8")) as {
    results: Array<{ o: number }>
  }
  const open = day.results[0]!.o
  const q = new URLSearchParams({
    underlying_ticker: "SPY",
    expiration_date: date,
    as_of: date,
    limit: "1000",
    apiKey: KEY,
    "strike_price.gte": String(Math.floor(open * 0.99)),
    "strike_price.lte": String(Math.ceil(open * 1.01))
  })
  const list = JSON.parse((await get(`${base}/v3/reference/options/contracts?${q}`)).body.toString("utf8")) as {
    results: Array<{ ticker: string; strike_price: number }>
  }
  return list.results.filter((c) => c.strike_price >= open * 0.99 && c.strike_price <= open * 1.01).map((c) => c.ticker)
}

const pass = async (
  base: string,
  contracts: ReadonlyMap<string, ReadonlyArray<string>>
): Promise<Record<Group, Array<Sample>>> => {
  const out: Record<Group, Array<Sample>> = { spy: [], vix: [], options: [] }
  for (const date of dates) {
    out.spy.push(await fetchDay(base, "SPY", date))
    out.vix.push(await fetchDay(base, "I:VIX", date))
    for (const t of contracts.get(date) ?? []) out.options.push(await fetchDay(base, t, date))
  }
  return out
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Summary {
  readonly pages: number
  readonly rows: number
  readonly ms: number
  readonly maxMs: number
}
const summarize = (samples: ReadonlyArray<Sample>): Summary => ({
  pages: samples.length,
  rows: samples.reduce((n, s) => n + s.rows, 0),
  ms: samples.reduce((n, s) => n + s.ms, 0),
  maxMs: Math.max(...samples.map((s) => s.ms))
})

const main = async () => {
  const results: Record<"fresh" | "warm", Record<Group, Array<Summary>>> = {
    fresh: { spy: [], vix: [], options: [] },
    warm: { spy: [], vix: [], options: [] }
  }
  const cold: Array<Summary> = []
  for (let round = 0; round < rounds; round++) {
    const port = 19_765 + Math.floor(Math.random() * 1000)
    const sim = await startSimulatorProcess(port, ["--seed", "42"])
    try {
      // the contract lists (and the SPY day bar they need) come first, untimed, as in a backfill;
      // that generates the SPY/VIX days, so "fresh" SPY is measured on a second process below
      const contracts = new Map<string, ReadonlyArray<string>>()
      for (const date of dates) contracts.set(date, await optionTickers(sim.url, date))
      const fresh = await pass(sim.url, contracts)
      const warm = await pass(sim.url, contracts)
      for (const g of ["spy", "vix", "options"] as const) {
        results.fresh[g].push(summarize(fresh[g]))
        results.warm[g].push(summarize(warm[g]))
      }
    } finally {
      await sim.stop()
    }
    // a truly first-time SPY day: a new process, nothing generated yet
    const sim2 = await startSimulatorProcess(port + 1, ["--seed", "42"])
    try {
      const samples: Array<Sample> = []
      for (const date of dates) samples.push(await fetchDay(sim2.url, "SPY", date))
      cold.push(summarize(samples))
    } finally {
      await sim2.stop()
    }
  }
  console.log(
    `bench:restServe  ${rounds} round(s) × ${dates.length} day(s) ${dates[0]}..${dates[dates.length - 1]}, simulator in a separate process; medians over rounds`
  )
  const line = (label: string, s: ReadonlyArray<Summary>) => {
    const pages = s[0]!.pages,
      rows = s[0]!.rows
    const ms = median(s.map((x) => x.ms))
    console.log(
      `  ${label.padEnd(32)} ${String(pages).padStart(3)} pages ${rows.toLocaleString("en-US").padStart(8)} rows  ` +
        `${(ms / pages).toFixed(2).padStart(7)} ms/page (max ${median(s.map((x) => x.maxMs)).toFixed(1)})  ` +
        `${Math.round((pages * 1000) / ms)
          .toLocaleString("en-US")
          .padStart(6)} pages/s  ${Math.round((rows * 1000) / ms)
          .toLocaleString("en-US")
          .padStart(10)} rows/s`
    )
  }
  line("SPY second day, cold process", cold)
  for (const phase of ["fresh", "warm"] as const) {
    line(`SPY second day, ${phase === "fresh" ? "1st fetch" : "warm"}`, results[phase].spy)
    line(`I:VIX second day, ${phase === "fresh" ? "1st fetch" : "warm"}`, results[phase].vix)
    line(`option contract-days, ${phase}`, results[phase].options)
    const all = results[phase].spy.map((s, i) => {
      const v = results[phase].vix[i]!,
        o = results[phase].options[i]!
      return {
        pages: s.pages + v.pages + o.pages,
        rows: s.rows + v.rows + o.rows,
        ms: s.ms + v.ms + o.ms,
        maxMs: Math.max(s.maxMs, v.maxMs, o.maxMs)
      }
    })
    line(`all aggs, ${phase}`, all)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
