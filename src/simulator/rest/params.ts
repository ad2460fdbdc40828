/** Query-parameter parsing shared by the endpoints. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/
const DIGITS = /^\d+$/

export const isIsoDate = (s: string): boolean => ISO_DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`))

/** `limit`: the default when absent or invalid, capped at `max`. */
export const parseLimit = (raw: string | null | undefined, fallback: number, max: number): number => {
  const n = raw == null ? NaN : Number(raw)
  if (!Number.isInteger(n) || n < 1) return fallback
  return Math.min(n, max)
}

export type DateOrMs = { readonly _tag: "Date"; readonly date: string } | { readonly _tag: "Ms"; readonly ms: number }

export const parseDateOrMs = (raw: string): DateOrMs | undefined =>
  isIsoDate(raw) ? { _tag: "Date", date: raw } : DIGITS.test(raw) ? { _tag: "Ms", ms: Number(raw) } : undefined

/** RFC3339 date-time (any offset), YYYY-MM-DD (UTC midnight) or epoch ms. */
export const parseInstant = (raw: string): { readonly ms: number; readonly dateOnly: boolean } | undefined => {
  if (DIGITS.test(raw)) return { ms: Number(raw), dateOnly: false }
  if (isIsoDate(raw)) return { ms: Date.parse(`${raw}T00:00:00Z`), dateOnly: true }
  const ms = Date.parse(raw)
  return Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(raw) ? undefined : { ms, dateOnly: false }
}

export type RangeOp = "eq" | "gte" | "gt" | "lte" | "lt"
export const RANGE_OPS: ReadonlyArray<RangeOp> = ["eq", "gte", "gt", "lte", "lt"]

/** `name`, `name.gte`, … as present in the query. */
export const rangeParams = (
  query: URLSearchParams,
  name: string
): Array<{ readonly op: RangeOp; readonly value: string }> =>
  RANGE_OPS.flatMap((op) => {
    const value = query.get(op === "eq" ? name : `${name}.${op}`)
    return value === null || value === "" ? [] : [{ op, value }]
  })

export const compareWith = (op: RangeOp, cmp: number): boolean =>
  op === "eq" ? cmp === 0 : op === "gte" ? cmp >= 0 : op === "gt" ? cmp > 0 : op === "lte" ? cmp <= 0 : cmp < 0

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
