/** `--feeds spy,options,vix,news`: the market feeds asked for (undefined: every enabled one). */
import { Option } from "effect"
import type { MarketFeed } from "../domain/feeds.js"

export const parseFeeds = (s: Option.Option<string>): ReadonlyArray<MarketFeed> | undefined =>
  Option.match(s, {
    onNone: () => undefined,
    onSome: (text) =>
      text.split(",").map((f) => {
        const feed = f.trim()
        if (!["spy", "options", "vix", "news"].includes(feed))
          throw new Error(`unknown feed ${feed} (spy, options, vix, news)`)
        return feed as MarketFeed
      })
  })
