/** App-level compositions, for library users. */
export * as Backfill from "./Backfill.js"
export * as Live from "./Live.js"
export * as LiveSinks from "./LiveSinks.js"
export * as Observability from "./Observability.js"
export * as Polygon from "./Polygon.js"
export * as Sinks from "./Sinks.js"
