/** The runnable programs, for library users (the CLI in src/main.ts wires the same ones). */
export { backfillProgram, type BackfillOptions, type BackfillSummary } from "./backfill.js"
export { backfillRunProgram, type BackfillRunOptions, type BackfillRunRecord, runRecordFile } from "./backfillRun.js"
export { consolidateProgram } from "./consolidate.js"
export { liveProgram, type LiveOptions, type LiveOutcome } from "./live.js"
export { runLive } from "./liveRun.js"
export { simulateProgram } from "./simulate.js"
export { statusProgram } from "./status.js"
export { stopProgram } from "./stop.js"
