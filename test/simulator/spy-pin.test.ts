/**
 * Pins SPY, I:VIX, SPY's options and the news byte for byte: the digests below were computed
 * with the build before the simulator grew a universe of underlyings (commit 486b4f1). Adding
 * tickers must never move a single SPY-side bar, contract or article for the same seed.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { makeSyntheticMarket } from "../../src/simulator/market/SyntheticMarket.js"

const digest = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex")

/** Everything the SPY side of a date consists of, as one digest per part. */
const spySide = (seed: number, date: string): Record<string, string> => {
  const market = makeSyntheticMarket(seed)
  const extended = market.extendedSecondBars!
  const contracts = market.contracts(date)
  const open = market.officialOpen(date)
  const atm = contracts.filter((c) => Math.abs(c.strike_price - open) < 3).map((c) => c.ticker)
  const picked = [...atm.slice(0, 6), contracts[0]!.ticker, contracts[600]!.ticker, contracts.at(-1)!.ticker]
  return {
    spy: digest(market.secondBars("SPY", date)),
    vix: digest(market.secondBars("I:VIX", date)),
    spyExtended: digest(extended("SPY", date)),
    vixExtended: digest(extended("I:VIX", date)),
    options: digest(picked.map((t) => [t, market.secondBars(t, date)])),
    optionsExtended: digest(picked.map((t) => [t, extended(t, date)])),
    contracts: digest(contracts),
    chain: digest([open, market.chainSpec(date)]),
    news: digest(market.news(date))
  }
}

const PINNED: Record<string, Record<string, string>> = {
  "42|2025-01-08": {
    spy: "795788a6853882469b0efb0b6e86b47ebdd674b60ab4046b40ff05e2bacef530",
    vix: "68a3f3e6b00509444b6d93666e0035ef8f0c02590a2df8f01df26e6a1e336976",
    spyExtended: "5551bc9a0b5bfbd67ea081553d5a3500af931e1d7738b8affa31e59e79dde63c",
    vixExtended: "d0c9f8a45f14b8237bf7d3508bc20bef5e298c723a46d09e44b8e10723c93d95",
    options: "7e24cbfb87ca86c6299b068b5ea7be480c03581278fb44a86c2af83f7312318c",
    optionsExtended: "b6186e7b3a51ff5cdd541183c40a8216765bede1bc46a20433fd1d8980088f07",
    contracts: "c1a25f6e1d1f294fdd3b82d2d804dafb388fbbd1f323427982ec193a1878aa2f",
    chain: "41de5f61d32e3120c4269245b09a31371d77f1892799a5ffb49712a10189c304",
    news: "c3a2b848036a72dd8b4a75f00c0b5cccf9207528e886a2df84dcd55792a4ba48"
  },
  "42|2025-10-28": {
    spy: "d0735e096bd3438e56461cb55805e5d7bb517dc725a7d2e3e35de375278c72c9",
    vix: "85dbd1b263bcaaca44a611f28a98c280ce972f645e2bf9042fae9b9c669f9c98",
    spyExtended: "f6c850c2b9eaa5da51d9910f146fc26c68ea50c2ca14bf681c55839dc14f1a9f",
    vixExtended: "43bae72397bee60d7440e7289b167c6ad675fa121a12052149e11ee1855dc0a8",
    options: "e261ea0e9b9a83af0a8402618ec213d335f969204ce22ab8d80b3e2586907bf3",
    optionsExtended: "4df3c8fc5bf401f5c54d401e35194cb408060f6c4f196d3fb7aa49c916bbab61",
    contracts: "54f1405fc6fcfdab0f66dbb970d3e2ea0fca0ece68f09d990fd31c4fde9d3fa8",
    chain: "2ab1b5a51db2e6e21313c6f23a03579cca92336bdd2ff3a12bc9c31aae12d25f",
    news: "8bab3b2c1edfdcab862f6337d71c13c17f20d2f9bd01de3ba347b1ad43270fa1"
  },
  // the day after Thanksgiving: an early close (13:00)
  "7|2025-11-28": {
    spy: "95ad9ff65d3160fc918a4fe5c30e25a8243550ba1285424948ced926cdbd27ae",
    vix: "7210f15a4067ec1fab999402b24505295fee93584805ffc83dc54c0adfe7ebea",
    spyExtended: "6a8ac3f5b67c267a8bb5a485d61f9ff148d81fb9eec8ffd593ed531263e31842",
    vixExtended: "dc8e5e6d21ac63707e3d4bf189364bdfc548a46ffdab8113341c961674dce5f2",
    options: "6276235af0008e0b6ed8324a511854300e4be8de0c2f1773c6208fc6f0b10c71",
    optionsExtended: "94b379a9754057f30df13c471b4a22c12804e9fd8e8f8325ef93b1a4a7327fdb",
    contracts: "474515c4c0301c2149285178ed03a243ae9fb5e98eb620dd1da925047256b1e6",
    chain: "c277062e2c352c6a895cb5b9b88f79ea3d32453fa688db3b38fb0848593fc90c",
    news: "1e8c600ca316fe67adaf279726fb39ebe477ff82b7f235f7efdf46ed9bd654fb"
  }
}

describe("SPY, I:VIX, O:SPY… and news are unchanged", () => {
  for (const [key, expected] of Object.entries(PINNED)) {
    it(key, () => {
      const [seed, date] = key.split("|")
      expect(spySide(Number(seed), date!)).toEqual(expected)
    })
  }
})
