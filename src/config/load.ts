/**
 * Loads Settings from the environment, `.env`, and the YAML files in `config/`.
 * The only place the process environment is read.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { ConfigProvider, Effect } from "effect"
import * as path from "node:path"
import { parse as parseYaml } from "yaml"
import { EMPTY_LIST, type Settings, SettingsConfig } from "./Settings.js"

export class ConfigFileError extends Error {
  readonly _tag = "ConfigFileError"
}

const readYaml = (fs: FileSystem.FileSystem, file: string, required: boolean) =>
  fs.readFileString(file).pipe(
    Effect.map((text): Record<string, unknown> => (parseYaml(text) ?? {}) as Record<string, unknown>),
    Effect.catchAll((e) =>
      required
        ? Effect.fail(new ConfigFileError(`cannot read config file ${file}: ${e.message}`))
        : Effect.succeed<Record<string, unknown>>({})
    )
  )

const dotEnvProvider = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.map((text) => {
      const map = new Map<string, string>()
      for (const line of text.split(/\r?\n/)) {
        const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
        if (!m || line.trimStart().startsWith("#")) continue
        const raw = m[2]!
        const value = /^(['"]).*\1$/.test(raw) ? raw.slice(1, -1) : raw.replace(/\s+#.*$/, "")
        if (value !== "") map.set(m[1]!, value)
      }
      return ConfigProvider.fromMap(map, { pathDelim: "_" }).pipe(ConfigProvider.constantCase)
    }),
    Effect.orElseSucceed(() => ConfigProvider.fromMap(new Map()))
  )

/** `[]` → `[EMPTY_LIST]`, recursively (see EMPTY_LIST). */
const markEmptyLists = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.length === 0
      ? [EMPTY_LIST]
      : value.map(markEmptyLists)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markEmptyLists(v)]))
      : value

export interface LoadOptions {
  /** Path of settings.yaml; `config/settings.yaml` when omitted (missing file = defaults). */
  readonly configPath?: string | undefined
  /** Extra values that win over everything (CLI flags, tests), as a nested JSON object. */
  readonly overrides?: Record<string, unknown> | undefined
  /** Use only overrides + files + defaults, not the process environment (tests). */
  readonly ignoreEnv?: boolean
}

/** The ConfigProvider chain: overrides → env → .env → settings.yaml/retry_policy.yaml → defaults. */
export const makeProvider = (options: LoadOptions = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const settingsPath = options.configPath ?? "config/settings.yaml"
    const settings = yield* readYaml(fs, settingsPath, options.configPath !== undefined)
    const retry = yield* readYaml(fs, path.join(path.dirname(settingsPath), "retry_policy.yaml"), false)
    const files = ConfigProvider.fromJson(
      markEmptyLists({ ...settings, retry: { ...retry, ...(settings["retry"] as object) } })
    )
    const dotenv = yield* dotEnvProvider(fs, ".env")
    const env = ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase)
    const base = options.ignoreEnv
      ? files
      : env.pipe(
          ConfigProvider.orElse(() => dotenv),
          ConfigProvider.orElse(() => files)
        )
    return options.overrides
      ? ConfigProvider.fromJson(markEmptyLists(options.overrides)).pipe(ConfigProvider.orElse(() => base))
      : base
  })

export const loadSettings = (
  options: LoadOptions = {}
): Effect.Effect<Settings, ConfigFileError | import("effect/ConfigError").ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(makeProvider(options), (provider) => Effect.withConfigProvider(SettingsConfig, provider))
