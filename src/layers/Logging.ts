/** The log level and the optional daily log file of `logging.*`, applied to whatever the command runs. */
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as path from "node:path"
import { dailyFileLogger } from "../lib/logger.js"
import { AppSettings, warnDeprecated } from "../services/AppSettings.js"

export const layer: Layer.Layer<never, never, AppSettings> = Layer.unwrapEffect(
  Effect.map(AppSettings, (settings) => {
    const loggers = Layer.mergeAll(
      Logger.minimumLogLevel(LogLevel.fromLiteral(capitalize(settings.logging.level))),
      settings.logging.file ? Logger.add(dailyFileLogger(path.join(settings.storage.root, "logs"))) : Layer.empty
    )
    return Layer.merge(loggers, Layer.effectDiscard(warnDeprecated(settings)).pipe(Layer.provide(loggers)))
  })
)

const capitalize = (level: string) => `${level[0]!.toUpperCase()}${level.slice(1)}` as LogLevel.Literal
