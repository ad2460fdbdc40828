/** The expiration's chain that re-centring picks new contracts from (all strikes, listed on the date). */
import { Effect } from "effect"
import type { ContractLike } from "../../domain/contractSelection.js"
import { readJsonIfExists, writeFileAtomic } from "../../lib/atomicFile.js"
import { fileIo } from "../../lib/fileIo.js"
import { PolygonRest, type RawItem } from "../../services/polygon/PolygonRest.js"
import { recenterFiles } from "./recenterLog.js"

export type Contract = RawItem & ContractLike

const isContract = (raw: RawItem): raw is Contract =>
  typeof raw["ticker"] === "string" &&
  typeof raw["strike_price"] === "number" &&
  typeof raw["expiration_date"] === "string" &&
  typeof raw["contract_type"] === "string"

/**
 * The expiration's chain as listed on the date: read back from chain.json, else fetched (all
 * strikes) and kept; `other`: a further underlying's (its own chain-<TICKER>.json).
 */
export const loadChain = (root: string, date: string, underlying: string, expiration: string, other?: string) =>
  Effect.gen(function* () {
    const file = recenterFiles(root, date, other).chain
    const saved = yield* fileIo("read", file, () =>
      readJsonIfExists<{ readonly contracts: ReadonlyArray<Contract> }>(file)
    )
    if (saved) return saved.contracts
    const rest = yield* PolygonRest
    const listed = yield* rest.contracts({ underlying_ticker: underlying, expiration_date: expiration, as_of: date })
    const contracts = listed.filter(isContract).filter((c) => c.expiration_date === expiration)
    yield* fileIo("write", file, () =>
      writeFileAtomic(file, JSON.stringify({ date, underlying, expiration, contracts }))
    )
    return contracts
  })
