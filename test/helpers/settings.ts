/** Settings for tests: config/settings.yaml + explicit overrides, never the developer's environment. */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { loadSettings } from "../../src/config/load.js"
import type { Settings } from "../../src/config/Settings.js"
import { AppSettings } from "../../src/services/AppSettings.js"

export const tempRoot = (prefix = "spy-") => fs.mkdtemp(path.join(os.tmpdir(), prefix))

export const loadTestSettings = (overrides: Record<string, unknown>): Promise<Settings> =>
  Effect.runPromise(
    loadSettings({ configPath: "config/settings.yaml", overrides, ignoreEnv: true }).pipe(
      Effect.provide(NodeContext.layer)
    )
  )

export const testSettingsLayer = (settings: Settings) => Layer.succeed(AppSettings, settings)
