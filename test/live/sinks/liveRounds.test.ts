/**
 * A real `live` process (the built CLI) at 60× against the built-in simulator, with sink rounds
 * into DuckDB every 600 simulated seconds (10 real seconds; the rounds run in the sink worker
 * thread), for 70 real seconds (70 simulated minutes): no socket is ended by the idle watchdog or
 * the keepalive (a healthy connection stays up through the rounds), every heartbeat reports the
 * process's event-loop lag, and the rounds loaded files. `node dist/bench/liveRounds.js` is the
 * same check longer and with PostgreSQL.
 */
import { beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { buildIfStale } from "../../helpers/build.js"
import { runCli, startCli, waitFor } from "../../helpers/cli.js"
import { tempRoot } from "../../helpers/settings.js"

const START = "2025-10-28T09:29:50-04:00"

describe("live keeps its sockets through sink rounds (real process)", () => {
  beforeAll(() => buildIfStale(), 180_000)

  it("70 s at 60x with rounds into DuckDB: no idle-watchdog or pong reconnect, lag in every heartbeat", async () => {
    const root = await tempRoot("live-rounds-")
    const env = {
      STORAGE_ROOT: root,
      FEEDS_NEWS_ENABLED: "false",
      SINKS_LIVE_LOAD_INTERVAL_S: "600",
      HEARTBEAT_INTERVAL_S: "60"
    }
    const live = startCli(["live", "--clock-start", START, "--clock-speed", "60"], env)
    // At least 70 s, and until three rounds are done (a loaded machine makes each round slower).
    const roundLines = () => {
      const o = live.output()
      return (o.stdout + o.stderr).split("\n").filter((l) => / new lake files loaded into duckdb in /.test(l)).length
    }
    await new Promise((r) => setTimeout(r, 70_000))
    await waitFor(() => roundLines() >= 3, 90_000, 200)
    const stop = await runCli(["stop"], { STORAGE_ROOT: root })
    const exit = await live.finished
    expect(stop.code).toBe(0)
    expect(exit.code).toBe(0)
    const log = exit.stdout + exit.stderr
    const rounds = log.split("\n").filter((l) => / new lake files loaded into duckdb in /.test(l))
    const ended = log.split("\n").filter((l) => /no message for|no pong|; reconnecting \(/.test(l))
    const lags = log
      .split("\n")
      .filter((l) => / INFO  heartbeat /.test(l) && / source=spy\b/.test(l))
      .map((l) => Number(/event_loop_lag_p99_ms=([\d.]+|null)/.exec(l)?.[1]))
    console.log(`${rounds.length} rounds; heartbeat lag p99 per period (ms): ${lags.join(" ")}`)
    expect(ended).toEqual([])
    expect(rounds.length).toBeGreaterThanOrEqual(3) // the first at 10 s real, then every 10 s after the previous one ends
    expect(lags.length).toBeGreaterThanOrEqual(30) // a heartbeat per simulated minute (about 60; fewer on a loaded machine)
    expect(lags.slice(1).filter((x) => !Number.isFinite(x))).toEqual([]) // measured in every period after the first beat
    const beat = JSON.parse(fs.readFileSync(path.join(root, "state", "heartbeat", "spy.json"), "utf8")) as Record<
      string,
      unknown
    >
    expect(typeof beat["event_loop_lag_p99_ms"]).toBe("number")
    expect(typeof beat["event_loop_lag_max_ms"]).toBe("number")
    fs.rmSync(root, { recursive: true, force: true })
  }, 240_000)
})
