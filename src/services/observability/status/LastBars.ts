/** The newest committed bar of each ticker in this process (the status page's contract set). */
import { Context, Effect, Layer } from "effect"

/** A ticker's newest committed bar. */
export interface LastBar {
  readonly ticker: string
  readonly windowStartMs: number
  readonly close: number
}

export interface LastBarsService {
  /** Keeps each ticker's newest bar (an older window never replaces a newer one). */
  readonly record: (bars: ReadonlyArray<LastBar>) => Effect.Effect<void>
  readonly get: (ticker: string) => Effect.Effect<LastBar | undefined>
}

export class LastBars extends Context.Tag("spy/LastBars")<LastBars, LastBarsService>() {}

export const make = (): LastBarsService => {
  const bars = new Map<string, LastBar>()
  return {
    record: (list) =>
      Effect.sync(() => {
        for (const b of list) {
          const seen = bars.get(b.ticker)
          if (seen === undefined || b.windowStartMs >= seen.windowStartMs) bars.set(b.ticker, b)
        }
      }),
    get: (ticker) => Effect.sync(() => bars.get(ticker))
  }
}

export const layer: Layer.Layer<LastBars> = Layer.sync(LastBars, make)
