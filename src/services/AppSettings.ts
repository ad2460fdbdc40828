/** The loaded Settings as a service, so programs and services read configuration in one place. */
import type { FileSystem } from "@effect/platform"
import { Context, Layer } from "effect"
import { type LoadOptions, loadSettings } from "../config/load.js"
import type { Settings } from "../config/Settings.js"

export class AppSettings extends Context.Tag("spy/AppSettings")<AppSettings, Settings>() {}

export const layer = (options: LoadOptions = {}): Layer.Layer<AppSettings, unknown, FileSystem.FileSystem> =>
  Layer.effect(AppSettings, loadSettings(options))

export const layerValue = (settings: Settings): Layer.Layer<AppSettings> => Layer.succeed(AppSettings, settings)
