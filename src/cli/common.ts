/** What every command shares: the `--config` option, and the settings layer built from it. */
import { Options } from "@effect/cli"
import { Layer, Option } from "effect"
import * as Logging from "../layers/Logging.js"
import * as AppSettings from "../services/AppSettings.js"

export const configPath = Options.file("config").pipe(
  Options.optional,
  Options.withDescription("settings YAML (default config/settings.yaml)")
)
/** Settings from the config file, with `logging.*` applied to the command's logs. */
export const settingsLayer = (config: Option.Option<string>, overrides?: Record<string, unknown>) =>
  Logging.layer.pipe(Layer.provideMerge(AppSettings.layer({ configPath: Option.getOrUndefined(config), overrides })))
