/**
 * Synthetic articles for one calendar date (America/New_York): ~20 on weekdays, a handful at
 * weekends, published 06:00–20:00 ET, most tagged SPY.
 */
import { createHash } from "node:crypto"
import type { WireArticle } from "../MarketData.js"
import { nyTimeMs } from "../../domain/calendar.js"
import { SPY } from "../../domain/tickers.js"
import {
  AUTHORS,
  HEADLINES,
  KEYWORDS,
  OTHER_TICKERS,
  PUBLISHERS,
  REASONING,
  SECTORS,
  type Sentiment
} from "./newsCopy.js"
import { intBetween, pick, type Rng, rngFor } from "./random.js"

const SPY_TAGGED_SHARE = 0.85
const SENTIMENTS: ReadonlyArray<Sentiment> = ["positive", "neutral", "negative"]

/** RFC3339 with whole seconds, as the API prints `published_utc`. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

const slugOf = (title: string): string =>
  title
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60)

const distinctPicks = (rng: Rng, items: ReadonlyArray<string>, count: number): Array<string> => {
  const out: Array<string> = []
  while (out.length < count) {
    const x = pick(rng, items)
    if (!out.includes(x)) out.push(x)
  }
  return out
}

const article = (seed: number, date: string, index: number, publishedMs: number, rng: Rng): WireArticle => {
  const spyTagged = rng() < SPY_TAGGED_SHARE
  const tickers = spyTagged
    ? [SPY, ...distinctPicks(rng, OTHER_TICKERS, intBetween(rng, 0, 2))]
    : distinctPicks(rng, OTHER_TICKERS, intBetween(rng, 1, 3))
  const sentiment = pick(rng, SENTIMENTS)
  const main = tickers[0]!
  const title = pick(rng, HEADLINES[sentiment])
    .replaceAll("{T}", main)
    .replaceAll("{S}", pick(rng, SECTORS))
    .replaceAll("{P}", String(5 * intBetween(rng, 108, 122)))
  const id = createHash("sha256").update(`${seed}|news|${date}|${index}`).digest("hex")
  const publisher = pick(rng, PUBLISHERS)
  const url = `${publisher.homepage_url}markets/${date.replaceAll("-", "/")}/${slugOf(title)}-${id.slice(0, 8)}/`
  const withImage = rng() < 0.7
  const withAmp = rng() < 0.3
  return {
    id,
    publisher,
    title,
    author: pick(rng, AUTHORS),
    published_utc: rfc3339(publishedMs),
    article_url: url,
    tickers,
    ...(withAmp ? { amp_url: `${url}amp/` } : {}),
    ...(withImage ? { image_url: `https://images.example-news.com/${id.slice(0, 16)}.jpg` } : {}),
    description: `${title}. Analysts discuss what the move means for ${tickers.join(", ")} and the broader market.`,
    keywords: distinctPicks(rng, KEYWORDS, intBetween(rng, 2, 5)),
    insights: tickers.map((ticker, i) => {
      const s = i === 0 ? sentiment : pick(rng, SENTIMENTS)
      return { ticker, sentiment: s, sentiment_reasoning: REASONING[s] }
    })
  }
}

export const generateNews = (seed: number, date: string): Array<WireArticle> => {
  const rng = rngFor(seed, "news", date)
  const weekday = new Date(`${date}T12:00:00Z`).getUTCDay()
  const count = weekday === 0 || weekday === 6 ? intBetween(rng, 3, 8) : intBetween(rng, 17, 23)
  const dayStart = nyTimeMs(date, 6)
  const windowSeconds = (nyTimeMs(date, 20) - dayStart) / 1000
  const times = Array.from({ length: count }, () => dayStart + Math.floor(rng() * windowSeconds) * 1000).sort(
    (a, b) => a - b
  )
  return times.map((ms, i) => article(seed, date, i, ms, rng))
}
