/** The loaded Settings as a service, so programs and services read configuration in one place. */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer, Option } from "effect"
import { type LoadOptions, loadSettings } from "../config/load.js"
import type { Settings } from "../config/Settings.js"

export class AppSettings extends Context.Tag("spy/AppSettings")<AppSettings, Settings>() {}

export const layer = (options: LoadOptions = {}): Layer.Layer<AppSettings, unknown, FileSystem.FileSystem> =>
  Layer.effect(AppSettings, loadSettings(options))

/** Logs a warning for each deprecated key the settings use (called once the command's loggers are in place). */
export const warnDeprecated = (settings: Settings) =>
  Option.match(settings.retry.deprecatedMaxAttempts ?? Option.none(), {
    onNone: () => Effect.void,
    onSome: (attempts) =>
      Effect.logWarning(
        `retry.max_attempts is deprecated: use retry.max_retries (retries after the first attempt); max_attempts ${attempts} ${settings.retry.maxRetries === Math.max(0, attempts - 1) ? "is read as" : "is ignored, in favour of"} max_retries ${settings.retry.maxRetries}`
      )
  })

export const layerValue = (settings: Settings): Layer.Layer<AppSettings> => Layer.succeed(AppSettings, settings)
