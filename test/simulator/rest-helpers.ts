/** Loopback HTTP helpers shared by the simulator's REST tests. */
import { expect } from "vitest"
import type { WireArticle } from "../../src/simulator/MarketData.js"
import { makeSimClock } from "../../src/simulator/SimClock.js"
import type { RunningSimulator } from "../../src/simulator/server.js"

export const SEED = 7
export const NOW = Date.parse("2025-01-08T15:00:00Z") // Wednesday 10:00 ET
/** A clock that effectively stands still at `ms`. */
export const frozenClock = (ms: number) => makeSimClock({ startMs: ms, speed: 1e-9 })

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export const getUrl = async (url: string, init?: RequestInit): Promise<Reply> => {
  const res = await fetch(url, init)
  return { status: res.status, headers: res.headers, body: await res.json() }
}

export const withKey = (url: string) => `${url}${url.includes("?") ? "&" : "?"}apiKey=test-key`

export const restHelpers = (current: () => RunningSimulator) => {
  const get = (path: string) => getUrl(withKey(`${current().url}${path}`))

  /** Follows next_url (re-adding the key) and checks every page is non-empty and keyless. */
  const getAll = async (path: string): Promise<{ pages: Array<any>; results: Array<any> }> => {
    const pages: Array<any> = []
    let url: string | undefined = withKey(`${current().url}${path}`)
    while (url !== undefined) {
      const reply = await getUrl(url)
      expect(reply.status).toBe(200)
      pages.push(reply.body)
      const next: string | undefined = reply.body.next_url
      if (next !== undefined) {
        expect(next.startsWith(`${current().url}/`)).toBe(true)
        expect(next).not.toContain("apiKey")
        expect(new URL(next).searchParams.has("cursor")).toBe(true)
      }
      url = next === undefined ? undefined : withKey(next)
    }
    expect(pages.every((p) => Array.isArray(p.results) && p.results.length > 0)).toBe(true)
    return { pages, results: pages.flatMap((p) => p.results) }
  }

  /** Articles of the given NY dates published within [lo, hi] ms. */
  const between = (lo: number, hi: number, dates: Array<string>): Array<WireArticle> =>
    dates
      .flatMap((d) => current().market.news(d))
      .filter((a) => Date.parse(a.published_utc) >= lo && Date.parse(a.published_utc) <= hi)

  return { get, getAll, between }
}
