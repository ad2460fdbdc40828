/**
 * The compact human log format: `2025-10-28T13:30:01.123Z INFO  message key=value`, on stderr, and
 * optionally (`logging.file`) appended to a daily file `<dir>/YYYY-MM-DD.log` (UTC date of the line).
 */
import { Cause, HashMap, Logger } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const formatLine = ({ logLevel, message, date, cause, annotations }: Logger.Logger.Options<unknown>): string => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  const notes = HashMap.toEntries(annotations)
    .map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("")
  const failure = Cause.isEmpty(cause) ? "" : `\n${Cause.pretty(cause)}`
  return `${date.toISOString()} ${logLevel.label.padEnd(5)} ${text}${notes}${failure}\n`
}

export const compactLogger = Logger.make((options) => {
  process.stderr.write(formatLine(options))
})

export const CompactLoggerLayer = Logger.replace(Logger.defaultLogger, compactLogger)

/** Appends every line to `<dir>/<UTC date of the line>.log` (synchronously: a crash keeps what was logged). */
export const dailyFileLogger = (dir: string) => {
  let made = false
  return Logger.make((options) => {
    try {
      if (!made) fs.mkdirSync(dir, { recursive: true })
      made = true
      fs.appendFileSync(path.join(dir, `${options.date.toISOString().slice(0, 10)}.log`), formatLine(options))
    } catch {
      // a full or read-only disk must not stop the platform: stderr still has the line
    }
  })
}
