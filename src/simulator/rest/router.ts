/** Request targets → handlers for the Polygon-compatible routes (polygon-wire.md §12.1). */
import { aggsHandler } from "./aggs.js"
import { getContractHandler, listContractsHandler } from "./contracts.js"
import type { Handler } from "./http.js"
import { nowHandler, upcomingHandler } from "./marketStatus.js"
import { newsHandler } from "./news.js"

export interface Target {
  readonly segments: ReadonlyArray<string>
  readonly query: URLSearchParams
}

/** Splits a raw request target; tolerates `//` and percent-encoded segments (`O%3ASPY…`). */
export const parseTarget = (rawUrl: string): Target | undefined => {
  const q = rawUrl.indexOf("?")
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q)
  try {
    const segments = path
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent)
    return { segments, query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)) }
  } catch {
    return undefined
  }
}

const is = (segments: ReadonlyArray<string>, ...expected: ReadonlyArray<string | undefined>): boolean =>
  segments.length === expected.length && expected.every((e, i) => e === undefined || segments[i] === e)

const ROUTES: ReadonlyArray<readonly [(s: ReadonlyArray<string>) => boolean, Handler]> = [
  [(s) => is(s, "v2", "aggs", "ticker", undefined, "range", undefined, undefined, undefined, undefined), aggsHandler],
  [(s) => is(s, "v3", "reference", "options", "contracts"), listContractsHandler],
  [(s) => is(s, "v3", "reference", "options", "contracts", undefined), getContractHandler],
  [(s) => is(s, "v2", "reference", "news"), newsHandler],
  [(s) => is(s, "v1", "marketstatus", "upcoming"), upcomingHandler],
  [(s) => is(s, "v1", "marketstatus", "now"), nowHandler]
]

export const findHandler = (segments: ReadonlyArray<string>): Handler | undefined =>
  ROUTES.find(([matches]) => matches(segments))?.[1]
