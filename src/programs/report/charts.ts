/**
 * The report's charts as Vega-Lite specs, compiled to Vega once: the same Vega spec is rendered in
 * the page (vega inlined, SVG renderer, native hover titles) and here to SVG (`View.toSVG`) and PNG
 * (`@resvg/resvg-js`). Times are drawn as New York wall-clock time whatever the viewer's zone: they
 * are handed over as zone-less local strings, which Vega parses and prints as local time.
 * Every mark carries a `description`, which becomes its `aria-label` (what the browser tests read).
 */
import { Resvg } from "@resvg/resvg-js"
import { DateTime } from "luxon"
import * as vega from "vega"
import * as vl from "vega-lite"
import { NY } from "../../domain/calendar.js"
import type { HistoryLine } from "../../services/observability/historyLog.js"
import type { DayData } from "./dayData.js"

const wall = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toFormat("yyyy-MM-dd'T'HH:mm:ss")
const hhmm = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toFormat("HH:mm:ss")
const WIDTH = 960

const timeX = { field: "t", type: "temporal", title: "New York time", axis: { format: "%H:%M" } } as const

export const priceSpec = (d: DayData): vl.TopLevelSpec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: WIDTH,
  height: 320,
  title: "SPY and VIX over the session (red: gaps; ticks: SPY news)",
  layer: [
    {
      data: {
        values: d.gaps.map((g) => ({
          t: wall(g.from),
          t2: wall(g.to),
          label: `gap ${g.series} ${hhmm(g.from)}–${hhmm(g.to)} ET (${g.seconds} s)`
        }))
      },
      mark: { type: "rect", color: "#d62728", opacity: 0.25 },
      encoding: { x: timeX, x2: { field: "t2" }, description: { field: "label" }, tooltip: { field: "label" } }
    },
    {
      data: { values: d.spy.map((p) => ({ t: wall(p.minute), close: p.close })) },
      mark: { type: "line", color: "#1f77b4", invalid: "break-paths-show-path-domains" },
      encoding: {
        x: timeX,
        y: {
          field: "close",
          type: "quantitative",
          scale: { zero: false },
          title: "SPY",
          axis: { titleColor: "#1f77b4" }
        },
        description: { value: "SPY line" }
      }
    },
    {
      data: { values: d.vix.map((p) => ({ t: wall(p.minute), close: p.close })) },
      mark: { type: "line", color: "#ff7f0e", invalid: "break-paths-show-path-domains" },
      encoding: {
        x: timeX,
        y: {
          field: "close",
          type: "quantitative",
          scale: { zero: false },
          title: "VIX",
          axis: { titleColor: "#ff7f0e", orient: "right" }
        },
        description: { value: "VIX line" }
      }
    },
    {
      data: {
        values: d.news.map((n) => ({ t: wall(n.at), title: n.title, label: `news ${hhmm(n.at)} ET: ${n.title}` }))
      },
      mark: { type: "tick", color: "#2ca02c", thickness: 2, size: 14, yOffset: 7 },
      encoding: { x: timeX, y: { value: 0 }, tooltip: { field: "title" }, description: { field: "label" } }
    }
  ],
  resolve: { scale: { y: "independent" } }
})

export const heatmapSpec = (d: DayData): vl.TopLevelSpec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: WIDTH,
  height: Math.max(120, 12 * d.contracts.length),
  title: "Option bars per contract and minute (white: none; lines: re-centring)",
  layer: [
    {
      data: {
        values: d.heat.map((c) => ({
          t: wall(c.minute),
          contract: c.contract,
          bars: c.bars,
          label: `${c.contract} ${hhmm(c.minute)} ET: ${c.bars} bars`
        }))
      },
      mark: { type: "rect" },
      encoding: {
        x: { ...timeX, timeUnit: "hoursminutes" },
        y: { field: "contract", type: "ordinal", sort: [...d.contracts], title: null, axis: { labelFontSize: 8 } },
        color: {
          condition: { test: "datum.bars === 0", value: "#ffffff" },
          field: "bars",
          type: "quantitative",
          scale: { domainMin: 0, range: ["#deebf7", "#08306b"], interpolate: "rgb" },
          title: "bars"
        },
        description: { field: "label" },
        tooltip: { field: "label" }
      }
    },
    {
      data: {
        values: d.recenters.map((r) => ({
          t: wall(r.at),
          label: `re-centring ${hhmm(r.at)} ET: +${r.added} −${r.dropped}`
        }))
      },
      mark: { type: "rule", color: "#d62728", strokeWidth: 2 },
      encoding: {
        x: { ...timeX, timeUnit: "hoursminutes" },
        description: { field: "label" },
        tooltip: { field: "label" }
      }
    }
  ]
})

const PERCENTILES = [
  ["p50", "latency_p50_ms"],
  ["p95", "latency_p95_ms"],
  ["p99", "latency_p99_ms"]
] as const

/** Commit latency per heartbeat period and source (a point per percentile; periods without a commit have none). */
export const latencySpec = (history: ReadonlyArray<HistoryLine>): vl.TopLevelSpec => {
  const values = history.flatMap((h) =>
    PERCENTILES.flatMap(([pct, field]) => {
      const ms = h[field]
      return ms === null
        ? []
        : [
            {
              t: wall(h.at),
              series: `${h.source} ${pct}`,
              source: h.source,
              pct,
              ms,
              label: `${h.source} ${pct} until ${hhmm(h.at).slice(0, 5)} ET: ${ms} ms`
            }
          ]
    })
  )
  const encoding = {
    x: timeX,
    y: { field: "ms", type: "quantitative", title: "commit latency (ms)" },
    color: { field: "source", type: "nominal", title: "source" },
    strokeDash: { field: "pct", type: "nominal", title: "percentile" },
    detail: { field: "series" }
  } as const
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: WIDTH,
    height: 260,
    title: "Commit latency per heartbeat period: p50, p95, p99",
    data: { values },
    layer: [
      { mark: { type: "line" }, encoding: { ...encoding, description: { value: "latency line" } } },
      {
        mark: { type: "point", filled: true, size: 24 },
        encoding: {
          ...encoding,
          strokeDash: { value: [] },
          shape: { field: "pct", type: "nominal" },
          description: { field: "label" },
          tooltip: { field: "label" }
        }
      }
    ]
  }
}

/** Vega-Lite → Vega (what the page embeds). */
export const compile = (spec: vl.TopLevelSpec): vega.Spec => vl.compile(spec).spec

/** Server-side SVG and PNG of a compiled spec. */
export const render = async (spec: vega.Spec): Promise<{ readonly svg: string; readonly png: Buffer }> => {
  const view = new vega.View(vega.parse(spec), { renderer: "none" })
  const svg = await view.toSVG()
  view.finalize()
  const png = new Resvg(svg, { background: "white", font: { loadSystemFonts: true } }).render().asPng()
  return { svg, png }
}
