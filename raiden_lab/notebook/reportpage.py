"""The report's page: one HTML file that needs nothing else (its data, styles and drawing code inside).

The stream (a lane per engine grouped by node, each node's heat under its lanes; a click on a task
shows its record and what it printed), the functions, the stragglers and why, the energy, the
nodes and the environment, drawn by a few lines of plain JavaScript from the report's JSON.
"""

from __future__ import annotations

import html
import json
from typing import Any


def render_html(data: dict[str, Any]) -> str:
    """One HTML file that needs nothing else: the data, the styles and the drawing code are inside."""
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    return HTML.replace("@TITLE@", html.escape(data["title"])).replace("@DATA@", payload)


HTML = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>@TITLE@ · Raiden Lab report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}
#stream{border:1px solid #ccc;overflow-x:auto}
.lane text{font-size:11px;fill:#444}
.task{stroke:#fff;stroke-width:.5;cursor:pointer}.task.error{stroke:#b00;stroke-width:2}
.task.retried,.task.interrupted,.task.timed{opacity:.45;stroke:#000;stroke-dasharray:2 2}
#detail{white-space:pre-wrap;font-family:monospace;background:#f6f6f6;padding:.6em;min-height:2em}
.why{color:#a40}
</style></head><body>
<h1 id="title"></h1><p id="summary"></p>
<h2>Task stream</h2><p>One lane per engine, grouped by node; under each node, its temperature (colour) and
throttling (red). Click a task for its record and what it printed.</p>
<div id="stream"></div><div id="detail">(click a task)</div>
<h2>Functions</h2><table id="functions"></table>
<h2>Stragglers</h2><table id="stragglers"></table>
<h2>Energy</h2><p id="energy"></p><table id="energy-nodes"></table><table id="energy-functions"></table>
<h2>Nodes</h2><table id="nodes"></table>
<h2>Environment</h2><table id="environment"></table>
<script type="application/json" id="report-data">@DATA@</script>
<script>
const D = JSON.parse(document.getElementById("report-data").textContent);
const NS = "http://www.w3.org/2000/svg";
const el = (tag, attrs, parent, ns) => { const e = ns ? document.createElementNS(NS, tag) : document.createElement(tag);
  for (const k in attrs) { if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); }
  if (parent) parent.appendChild(e); return e; };
const s = x => x == null ? "–" : (x < 1 ? (x * 1000).toFixed(1) + " ms" : x.toFixed(2) + " s");
document.getElementById("title").textContent = D.title;
const eff = D.efficiency.value;
document.getElementById("summary").textContent = `${D.tasks.length} tasks (${D.chunks} chunks) on ${D.efficiency.engines} engines over ${s(D.wall_s)}; efficiency ${eff == null ? "–" : (100 * eff).toFixed(0) + "%"} (busy engine-seconds over engines × wall time); ${D.stragglers.length} straggler(s).`;
function table(id, head, rows) { const t = document.getElementById(id); const h = el("tr", {}, t);
  head.forEach(x => el("th", {text: x}, h)); rows.forEach(r => { const tr = el("tr", {}, t);
  r.forEach(x => el("td", {text: x == null ? "–" : String(x), class: typeof x === "number" ? "num" : ""}, tr)); }); }
table("functions", ["function", "chunks", "items", "busy", "per item", "errors", "retried", "stopped"],
  D.functions.map(f => [f.function, f.chunks, f.items, s(f.busy_s), s(f.per_item_s), f.errors, f.retried, f.interrupted]));
table("stragglers", ["function", "engine", "node", "items from", "took", "typical", "why"],
  D.stragglers.map(x => [x.function, x.engine, x.node, x.first, s(x.seconds), s(x.typical_s), x.why.join("; ")]));
table("nodes", ["node", "arch", "hottest", "throttled samples"],
  D.nodes.map(n => [n.host, n.arch, n.max_temperature == null ? null : n.max_temperature.toFixed(1) + " °C", n.throttled_samples]));
const E = D.energy;
document.getElementById("energy").textContent = E == null ? "No node reads its power (power_sensor in the inventory)." :
  `${E.total_j.toFixed(1)} J in all, ${E.per_result_j == null ? "–" : (E.per_result_j * 1000).toFixed(2) + " mJ"} per result (${E.how}).`;
if (E != null) {
  table("energy-nodes", ["node", "energy", "mean power", "measured"], E.nodes.map(n => [n.host, n.joules.toFixed(1) + " J",
    n.mean_watts == null ? null : n.mean_watts.toFixed(2) + " W", s(n.measured_s)]));
  table("energy-functions", ["function", "energy", "results", "per result"], E.functions.map(f => [f.function,
    f.joules.toFixed(1) + " J", f.items, (f.per_result_j * 1000).toFixed(2) + " mJ"]));
}
const env = D.environment; table("environment", ["", ""], [["raiden_lab", env.raiden_lab], ["Python", env.python],
  ["head", env.head + " (" + env.head_arch + ")"], ...Object.entries(env.packages),
  ...env.nodes.map(n => ["node " + n.host, `${n.arch || "?"}, ${n.cores || "?"} cores, ${n.engines} engines`])]);
// the stream
const t0 = D.first_task, span = Math.max(D.wall_s, 1e-6), W = 1100, left = 140, lane = 16, heatH = 8;
const byNode = {}; D.engines.forEach(e => (byNode[e.node || "?"] = byNode[e.node || "?"] || []).push(e.id));
const colours = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64"];
const fnColour = {}; D.functions.forEach((f, i) => fnColour[f.function] = colours[i % colours.length]);
const rows = {}; let y = 4; const heatRows = [];
Object.keys(byNode).sort().forEach(node => { byNode[node].sort((a, b) => a - b).forEach(id => { rows[id] = y; y += lane; });
  heatRows.push([node, y]); y += heatH + 8; });
const svg = el("svg", {width: W + left + 10, height: y + 24}, document.getElementById("stream"), true);
const X = t => left + (t - t0) / span * W;
Object.keys(rows).forEach(id => { const g = el("g", {class: "lane"}, svg, true);
  const node = D.engines.find(e => String(e.id) === id).node || "?";
  el("text", {x: 4, y: rows[id] + 11, text: `${node} · engine ${id}`}, g, true); });
D.tasks.forEach((t, i) => { if (t.engine == null || rows[t.engine] == null) return;
  const r = el("rect", {x: X(t.start), y: rows[t.engine], width: Math.max(0.6, X(t.end) - X(t.start)), height: lane - 3,
    fill: fnColour[t.function] || "#888", class: "task " + t.outcome.split(" ")[0], "data-i": i}, svg, true);
  el("title", {text: `${t.function} · ${t.outcome} · ${s(t.end - t.start)}`}, r, true);
  r.addEventListener("click", () => { document.getElementById("detail").textContent =
    JSON.stringify(Object.assign({}, t, {output: undefined}), null, 1) + (t.output ? "\n\nit printed:\n" + t.output : ""); }); });
const nodeOf = {}; D.nodes.forEach(n => nodeOf[n.host] = n);
heatRows.forEach(([node, hy]) => { const n = nodeOf[node]; if (!n) return;
  n.samples.forEach((p, i) => { const next = n.samples[i + 1]; const x0 = Math.max(left, X(p.time)), x1 = Math.min(left + W, next ? X(next.time) : x0 + 4);
    if (x1 <= left || x0 >= left + W) return; const tc = p.temperature == null ? "#ddd" :
      `hsl(${Math.max(0, 200 - 3 * (p.temperature - 30))},70%,55%)`;
    el("rect", {x: x0, y: hy, width: Math.max(1, x1 - x0), height: heatH, fill: p.throttled ? "#d00" : tc, class: "heat"}, svg, true); });
  el("text", {x: 4, y: hy + 8, text: `${node} heat`, "font-size": 10, fill: "#666"}, svg, true); });
el("text", {x: left, y: y + 14, text: "0 s", "font-size": 11}, svg, true);
el("text", {x: left + W - 40, y: y + 14, text: s(span), "font-size": 11}, svg, true);
</script></body></html>
"""
