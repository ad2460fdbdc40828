/**
 * `npm run bench:all [-- --quick]`: run every benchmark, one after the other, and write
 * `bench/RESULTS.md`: each figure with its command, its date, the commit, the load average
 * (`uptime`) before and after it, and the machine (`nproc`, memory). The README quotes that file.
 * Before each bench the page cache is flushed (`sync`) and the machine left alone for a few seconds.
 * Each bench is kept short enough that the whole run ends in under 15 minutes on 2 cores;
 * `--quick` runs each one at its smallest size (a smoke run: proves the scripts, not the figures).
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const DIST = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.join(DIST, "..", "..")
const quick = process.argv.includes("--quick")

interface Bench {
  readonly title: string
  /** The command as a user types it. */
  readonly command: string
  /** The script under dist/bench and its arguments. */
  readonly script: string
  readonly args: ReadonlyArray<string>
}

const BENCHES: ReadonlyArray<Bench> = [
  {
    title: "Backfill, the user's path (default config) vs the REST ceiling; lake only and naive",
    command: quick
      ? "npm run bench:backfill -- --days 2 --lake-days 1 --lake-runs 1"
      : "npm run bench:backfill -- --days 20",
    script: "backfill.js",
    args: quick ? ["--days", "2", "--lake-days", "1", "--lake-runs", "1"] : ["--days", "20"]
  },
  {
    title: "Live path at --speed max, a whole session, 3 runs",
    command: quick ? "npm run bench:live -- --options 100 --runs 1" : "npm run bench:live",
    script: "liveRuns.js",
    args: quick ? ["--options", "100", "--runs", "1"] : []
  },
  {
    title: "Consolidated view in DuckDB (2.34 M option bars)",
    command: quick ? "npm run bench:consolidate -- --runs 1" : "npm run bench:consolidate",
    script: "consolidate.js",
    args: quick ? ["--runs", "1"] : []
  },
  ...(["postgres", "mysql"] as const).map((sink) => ({
    // needs the database (DATABASE_URL / MYSQL_URL): without it this section says so and exits 1
    title: `Live sink rounds on one 10-minute options window into ${sink}: the loaded version (since) vs whole files`,
    command: `npm run bench:sink-rounds -- --sink ${sink}${quick ? " --rounds 5" : ""}`,
    script: "sinkRounds.js",
    args: ["--sink", sink, ...(quick ? ["--rounds", "5"] : [])]
  })),
  {
    // needs PostgreSQL (DATABASE_URL, or 127.0.0.1:5432): without it this section says so and exits 1
    title: "Distributed backfill (backfill --cluster) with 1, 2 and 3 runners; per-unit costs",
    command: quick ? "npm run bench:cluster -- --days 2" : "npm run bench:cluster",
    script: "cluster.js",
    args: quick ? ["--days", "2"] : []
  }
]

/** The pause after `sync` before each bench. */
const SETTLE_MS = 5_000

const sh = (cmd: string, args: ReadonlyArray<string>) => {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8" }).trim()
  } catch {
    return "(unavailable)"
  }
}

const run = (script: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string; seconds: number }>((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(DIST, script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const onData = (d: Buffer) => {
      output += d.toString()
      process.stderr.write(d)
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code) => resolve({ code, output, seconds: (performance.now() - started) / 1000 }))
  })

/** The bench's own result lines: its stdout without log lines and progress noise. */
const figures = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^\d{4}-\d{2}-\d{2}T[\d:.]+Z /.test(l) && !l.includes("\r"))
    .join("\n")

const main = async () => {
  const commit = sh("git", ["rev-parse", "HEAD"])
  const dirty = sh("git", ["status", "--porcelain"]) !== ""
  const machine = `${sh("nproc", [])} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GB memory, Node ${process.version}, ${os.platform()} ${os.release()}`
  const sections: Array<string> = []
  const started = new Date()
  for (const b of BENCHES) {
    // The previous bench's files are flushed and its processes gone before the next one starts:
    // its writeback once slowed the consolidation right after bench:live (2.03 s against 1.49 alone).
    sh("sync", [])
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const date = new Date().toISOString()
    const before = sh("uptime", [])
    const r = await run(b.script, b.args)
    const after = sh("uptime", [])
    sections.push(
      [
        `## ${b.title}`,
        "",
        `- command: \`${b.command}\``,
        `- date: ${date} (${r.seconds.toFixed(0)} s)${r.code === 0 ? "" : ` — **exited ${r.code}**`}`,
        `- commit: \`${commit}\`${dirty ? " (with uncommitted changes)" : ""}`,
        `- uptime before: \`${before}\``,
        `- uptime after: \`${after}\``,
        "",
        "```",
        figures(r.output),
        "```",
        ""
      ].join("\n")
    )
  }
  const text = [
    "# Benchmark results",
    "",
    `Written by \`npm run bench:all${quick ? " -- --quick" : ""}\` on ${started.toISOString()}; do not edit by hand.`,
    `Machine: ${machine}.`,
    quick ? "\n**Quick run: smallest sizes, a smoke test of the scripts; not figures to quote.**\n" : "",
    "A load average well above the core count means the figures below were taken on a busy machine.",
    `Before each bench: \`sync\`, then a ${SETTLE_MS / 1000} s pause.`,
    "",
    ...sections
  ].join("\n")
  await fs.mkdir(path.join(ROOT, "bench"), { recursive: true })
  await fs.writeFile(path.join(ROOT, "bench", "RESULTS.md"), text)
  console.log(`wrote ${path.join(ROOT, "bench", "RESULTS.md")}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
