/**
 * PostgreSQL: before each consolidation the sink VACUUMs the freshly loaded bars (PgSink's
 * PG_PREPARE_CONSOLIDATE), so the consolidation does not set their hint bits from inside its
 * statement. Checked on the real server: a date loaded into a fresh schema has pages not yet marked
 * all-visible; after `consolidate` every page of `option_bars` is all-visible, `last_vacuum` (a
 * manual VACUUM's, never autovacuum's) is set, and the view is exactly the reference.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { afterAll, describe, expect, it } from "vitest"
import { FEEDS } from "../../../src/sql/tables.js"
import { DATES, makeDay, referenceView } from "./fixtures.js"
import { normalizeView, preparePg, queryPg, tempRoot, withRouter, writeDays } from "./support.js"

const pg = await preparePg("t_prepare")
const root = await tempRoot()
afterAll(() => fs.rm(root, { recursive: true, force: true }))

const visibility = async (url: string) => {
  const [r] = await queryPg<{ pages: number; visible: number }>(
    url,
    `SELECT relpages AS pages, relallvisible AS visible FROM pg_class WHERE oid = 'option_bars'::regclass`
  )
  return { pages: Number(r!.pages), visible: Number(r!.visible) }
}
const lastVacuum = async (url: string) => {
  const [r] = await queryPg<{ at: Date | null }>(
    url,
    `SELECT last_vacuum AS at FROM pg_stat_user_tables WHERE relid = 'option_bars'::regclass`
  )
  return r?.at ?? null
}

describe.skipIf(!pg)("PostgreSQL sink: VACUUM before consolidating", () => {
  it("marks the loaded bars all-visible before the consolidation, and the view is exact", async () => {
    const day = makeDay(DATES[0]!, 0)
    await writeDays(root, [day])
    await withRouter({ root, pg }, (router) =>
      Effect.forEach(FEEDS, (feed) => router.loadPartition(feed, day.date), { discard: true })
    )
    await queryPg(pg!, `ANALYZE option_bars`) // relpages from the server, without a VACUUM
    const loaded = await visibility(pg!)
    expect(loaded.pages).toBeGreaterThan(0)
    expect(loaded.visible).toBeLessThan(loaded.pages) // anti-vacuity: not yet all-visible
    expect(await lastVacuum(pg!)).toBeNull()

    await withRouter({ root, pg }, (router) => router.consolidate(day.date, { sink: "postgres" }))
    const after = await visibility(pg!)
    expect(after.visible).toBe(after.pages)
    // the statistics of the VACUUM reach pg_stat_user_tables when its backend reports them
    let at: Date | null = null
    for (let i = 0; i < 50 && at === null; i++) {
      at = await lastVacuum(pg!)
      if (at === null) await new Promise((r) => setTimeout(r, 100))
    }
    expect(at).not.toBeNull()
    const view = await queryPg<Record<string, unknown>>(pg!, `SELECT * FROM options_consolidated WHERE "date" = $1`, [
      day.date
    ])
    expect(normalizeView(view)).toEqual(normalizeView(referenceView([day], day.date)))
  }, 120_000)
})
