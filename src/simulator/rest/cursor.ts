/** Opaque page cursors: base64url without padding, as the real API's (polygon-wire.md §5). */
export const encodeCursor = (state: unknown): string => Buffer.from(JSON.stringify(state), "utf8").toString("base64url")

export const decodeCursor = (cursor: string): unknown => {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

/** Aggregates keep the real API's `limit=…&sort=…` querystring form inside the cursor. */
export const encodeQueryCursor = (params: Record<string, string>): string =>
  Buffer.from(new URLSearchParams(params).toString(), "utf8").toString("base64url")

export const decodeQueryCursor = (cursor: string): URLSearchParams =>
  new URLSearchParams(Buffer.from(cursor, "base64url").toString("utf8"))
