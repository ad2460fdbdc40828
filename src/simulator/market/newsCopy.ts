/** The words synthetic articles are assembled from: publishers, authors, headline templates. */
export interface Publisher {
  readonly name: string
  readonly homepage_url: string
  readonly logo_url: string
  readonly favicon_url?: string
}

const logo = (slug: string, ext: string) => `https://s3.polygon.io/public/assets/news/logos/${slug}.${ext}`
const favicon = (slug: string) => `https://s3.polygon.io/public/assets/news/favicons/${slug}.ico`

export const PUBLISHERS: ReadonlyArray<Publisher> = [
  {
    name: "The Motley Fool",
    homepage_url: "https://www.fool.com/",
    logo_url: logo("themotleyfool", "svg"),
    favicon_url: favicon("themotleyfool")
  },
  {
    name: "Benzinga",
    homepage_url: "https://www.benzinga.com/",
    logo_url: logo("benzinga", "svg"),
    favicon_url: favicon("benzinga")
  },
  {
    name: "Investing.com",
    homepage_url: "https://www.investing.com/",
    logo_url: logo("investing", "png"),
    favicon_url: favicon("investing")
  },
  { name: "MarketWatch", homepage_url: "https://www.marketwatch.com/", logo_url: logo("marketwatch", "svg") },
  {
    name: "Zacks Investment Research",
    homepage_url: "https://www.zacks.com/",
    logo_url: logo("zacks", "png"),
    favicon_url: favicon("zacks")
  },
  {
    name: "GlobeNewswire Inc.",
    homepage_url: "https://www.globenewswire.com/",
    logo_url: logo("globenewswire", "svg"),
    favicon_url: favicon("globenewswire")
  }
]

export const AUTHORS: ReadonlyArray<string> = [
  "Travis Hoium",
  "Sam Boughedda",
  "Zaheer Anwari",
  "Chris Katje",
  "Renée Lefebvre",
  "José Álvarez",
  "Benzinga Insights",
  "Zacks Equity Research",
  "Søren Kierkegaard Jr."
]

export const OTHER_TICKERS: ReadonlyArray<string> = ["QQQ", "AAPL", "MSFT", "NVDA", "IWM", "DIA", "TSLA", "AMZN"]

export const SECTORS: ReadonlyArray<string> = [
  "tech",
  "energy",
  "financials",
  "health care",
  "utilities",
  "semiconductors"
]

export type Sentiment = "positive" | "neutral" | "negative"

/** Headline templates; `{T}` = main ticker, `{S}` = sector, `{P}` = a round price level. */
export const HEADLINES: Readonly<Record<Sentiment, ReadonlyArray<string>>> = {
  positive: [
    "S&P 500's “rally” extends as {S} leads — {T} eyes {P}",
    "Why {T} bulls aren't backing down after Powell's remarks",
    "{T} notches record close; traders pile into {P} calls",
    "Soft-landing hopes lift {T}: ‘the path of least resistance is up’",
    "Breadth improves as {S} stocks rebound; {T} up 1%"
  ],
  neutral: [
    "What the Fed's dot plot means for {T} this week",
    "{T} options: implied volatility holds near 15 ahead of CPI",
    "Weekly preview — earnings, jobs data & the {P} level on {T}",
    "Strategist Q&A: “Stay diversified” as {S} rotation continues",
    "Market wrap: {T} little changed; VIX ≈ steady"
  ],
  negative: [
    "{T} slips as Treasury yields climb — what's next?",
    "Stocks fall; {S} drags {T} below {P}",
    "‘Fear gauge’ jumps as {T} sheds gains into the close",
    "Why traders are hedging {T} with {P} puts",
    "Tariff worries hit {S}; {T} snaps winning streak"
  ]
}

export const REASONING: Readonly<Record<Sentiment, string>> = {
  positive:
    "The article describes broad buying interest and improving momentum, which supports the ticker's near-term outlook.",
  neutral:
    "The article mainly previews upcoming data and discusses levels without taking a directional view on the ticker.",
  negative:
    "The article highlights selling pressure and rising risk aversion, which weighs on the ticker's near-term outlook."
}

export const KEYWORDS: ReadonlyArray<string> = [
  "S&P 500",
  "Federal Reserve",
  "interest rates",
  "options",
  "volatility",
  "earnings",
  "inflation",
  "Treasury yields",
  "ETF flows",
  "market breadth"
]
