/**
 * How the CLI ends: a one-line error (never a stack trace for expected failures, never a key),
 * and an exit code: 2 for usage/configuration problems, 1 for anything else that failed.
 */
import { ValidationError } from "@effect/cli"
import { Cause, ConfigError, Exit, Option } from "effect"

const USAGE_TAGS = new Set([
  "MissingApiKey",
  "BackfillInputError",
  "VerifyInputError",
  "ConfigFileError",
  "ConfigCheckError",
  "ClusterConfigError",
  "ValidationError"
])

const tagOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "_tag" in e ? String((e as { _tag: unknown })._tag) : undefined

export const describeFailure = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const tag = tagOf(e)
    const msg = "message" in e ? String((e as { message: unknown }).message) : JSON.stringify(e)
    if (tag === "PolygonError") {
      const p = e as { reason: string; status?: number; path: string }
      return `Polygon API ${p.reason}${p.status ? ` (HTTP ${p.status})` : ""} on ${p.path}: ${msg}`
    }
    return tag ? `${tag}: ${msg}` : msg
  }
  return String(e)
}

export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const tag = tagOf(failure.value)
    if (ValidationError.isValidationError(failure.value)) return 2
    if (tag !== undefined && USAGE_TAGS.has(tag)) return 2
    if (ConfigError.isConfigError(failure.value)) return 2
  }
  return 1
}
