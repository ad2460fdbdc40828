/** A compact human log format on stderr: `2025-10-28T13:30:01.123Z INFO  message key=value`. */
import { Cause, HashMap, Logger } from "effect"

export const compactLogger = Logger.make(({ logLevel, message, date, cause, annotations }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  const notes = HashMap.toEntries(annotations).map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("")
  const failure = Cause.isEmpty(cause) ? "" : `\n${Cause.pretty(cause)}`
  process.stderr.write(`${date.toISOString()} ${logLevel.label.padEnd(5)} ${text}${notes}${failure}\n`)
})

export const CompactLoggerLayer = Logger.replace(Logger.defaultLogger, compactLogger)
