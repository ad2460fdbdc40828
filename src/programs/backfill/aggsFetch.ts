/**
 * A unit's aggregates: decoded into columns by the client's fast path when it offers one (every
 * item clean), else the raw items for the item-by-item path (drift, quarantine).
 */
import { Effect } from "effect"
import { aggBatch, aggRows } from "../../domain/aggBatch.js"
import { type AggsRequest, type PolygonError, PolygonRest } from "../../services/polygon/PolygonRest.js"
import type { Fetched } from "./unit.js"

export const fetchAggs = (feed: "spy" | "options" | "vix", request: AggsRequest) =>
  Effect.flatMap(PolygonRest, (rest): Effect.Effect<Fetched, PolygonError> => {
    const columnar = rest.aggsColumnar
    if (columnar === undefined)
      return rest.aggs(request).pipe(Effect.map((items): Fetched => ({ _tag: "Items", items })))
    return columnar(request, feed === "vix" ? "index" : "agg").pipe(
      Effect.map((r): Fetched =>
        r._tag === "Items"
          ? r
          : {
              _tag: "Clean",
              rows: (p) => aggBatch(request.ticker, r.columns, p) ?? aggRows(feed, request.ticker, r.columns, p)
            }
      )
    )
  })
