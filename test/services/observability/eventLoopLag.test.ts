/** The event-loop lag monitor measures a real blocked loop (real time: perf_hooks). */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { monitor } from "../../../src/services/observability/eventLoopLag.js"

const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

describe("event-loop lag", () => {
  it.scoped("a 200 ms block shows as max ≥ 150 ms; the next period without a block is back under 50 ms", () =>
    Effect.gen(function* () {
      const take = yield* monitor
      yield* realSleep(100)
      const t = Date.now()
      while (Date.now() - t < 200) {
        /* block the loop */
      }
      yield* realSleep(100)
      const blocked = take()
      assert.isNotNull(blocked)
      assert.isAtLeast(blocked!.maxMs, 150)
      assert.isAtMost(blocked!.maxMs, 400)
      yield* realSleep(300)
      const calm = take()
      assert.isNotNull(calm)
      assert.isBelow(calm!.maxMs, 50)
    })
  )
})
