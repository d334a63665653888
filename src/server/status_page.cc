// The admin listener's status page: one self-contained HTML document (no
// external scripts, styles or fonts) that polls /status/history.json and
// /status/tier.json and draws its plots as inline SVG. An account with cached
// containers carries a "cache" object in tier.json (cache_admin.h,
// CacheStatusJson), drawn as the "Cache" section.
#include <string>

namespace strata::server {

const std::string& StatusPageHtml() {
  static const std::string kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strata status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}
.muted{color:#777}.charts{display:flex;flex-wrap:wrap;gap:1em}
.chart{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5em}
.chart h3{font-size:.95em;margin:0 0 .3em}.legend span{margin-right:1em;font-size:.85em}
svg text{font-size:10px;fill:#666}table{border-collapse:collapse;background:#fff;margin-bottom:1em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}
</style></head><body>
<h1>strata</h1><div class="muted" id="updated">loading&hellip;</div>
<h2>Data path (last hour)</h2>
<div class="charts">
<div class="chart"><h3>Requests / s</h3><svg id="chart-rps" width="420" height="160"></svg><div class="legend" id="legend-rps"></div></div>
<div class="chart"><h3>Bytes / s</h3><svg id="chart-bytes" width="420" height="160"></svg><div class="legend" id="legend-bytes"></div></div>
<div class="chart"><h3>Latency (ms)</h3><svg id="chart-latency" width="420" height="160"></svg><div class="legend" id="legend-latency"></div></div>
</div>
<h2>Capacity tier</h2><div id="tier" class="muted">loading&hellip;</div>
<h2>Cache</h2><div id="cache" class="muted">loading&hellip;</div>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function human(v, unit) {
  const k = unit === "B/s" ? 1024 : 1000;
  const names = unit === "B/s" ? ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"] : ["", "k", "M", "G"];
  let i = 0;
  while (Math.abs(v) >= k && i < names.length - 1) { v /= k; i++; }
  const s = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit === "B/s" ? s + " " + names[i] : s + names[i] + (unit ? " " + unit : "");
}
// Draws series [{name, color, key}] of samples into svg#id; sets data-points.
function plot(id, samples, series, unit) {
  const svg = document.getElementById(id);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  const L = 52, R = 8, T = 8, B = 20;
  let max = 0;
  for (const s of samples) for (const se of series) max = Math.max(max, s[se.key] || 0);
  if (max <= 0) max = 1;
  const t0 = samples.length ? samples[0].t : 0, t1 = samples.length ? samples[samples.length - 1].t : 1;
  const span = Math.max(1, t1 - t0);
  const x = t => L + (W - L - R) * (samples.length > 1 ? (t - t0) / span : 1);
  const y = v => T + (H - T - B) * (1 - v / max);
  el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "#fff", stroke: "#ccc"}, svg);
  for (let g = 0; g <= 4; g++) {
    const v = max * g / 4, yy = y(v);
    el("line", {x1: L, x2: W - R, y1: yy, y2: yy, stroke: "#eee"}, svg);
    el("text", {x: L - 4, y: yy + 3, "text-anchor": "end"}, svg).textContent = human(v, unit);
  }
  if (samples.length) {
    const secs = Math.round((t1 - t0) / 1000);
    el("text", {x: L, y: H - 5}, svg).textContent =
        (secs < 120 ? secs + " s" : Math.round(secs / 60) + " min") + " ago";
    el("text", {x: W - R, y: H - 5, "text-anchor": "end"}, svg).textContent = "now";
  }
  const legend = document.getElementById(id.replace("chart", "legend"));
  legend.textContent = "";
  let points = 0;
  for (const se of series) {
    const pts = samples.map(s => x(s.t).toFixed(1) + "," + y(s[se.key] || 0).toFixed(1));
    points += pts.length;
    const line = el("polyline", {points: pts.join(" "), fill: "none", stroke: se.color,
                                 "stroke-width": 1.5, "data-series": se.key,
                                 "data-points": pts.length}, svg);
    for (const s of samples.length === 1 ? samples : [])
      el("circle", {cx: x(s.t), cy: y(s[se.key] || 0), r: 2, fill: se.color}, svg);
    const last = samples.length ? samples[samples.length - 1][se.key] : 0;
    const span_ = document.createElement("span");
    span_.style.color = se.color;
    span_.textContent = se.name + ": " + human(last || 0, unit);
    legend.appendChild(span_);
  }
  svg.setAttribute("data-points", points);
}
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function table(headers, rows) {
  const t = document.createElement("table");
  const h = document.createElement("tr");
  for (const x of headers) { const th = document.createElement("th"); th.textContent = x; h.appendChild(th); }
  t.appendChild(h);
  for (const r of rows) {
    const tr = document.createElement("tr");
    r.forEach((v, i) => { const td = cell(tr, String(v), i === 0 ? "l" : "num"); if (i) td.dataset.value = v; });
    t.appendChild(tr);
  }
  return t;
}
function drawTier(accounts) {
  const root = document.getElementById("tier");
  root.textContent = "";
  root.className = "";
  for (const a of accounts) {
    const h = document.createElement("h3");
    h.textContent = "Account " + a.account;
    root.appendChild(h);
    if (!a.tier) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "No capacity tier configured.";
      root.appendChild(p);
      continue;
    }
    const p = document.createElement("p");
    p.textContent = "Gateway " + a.gateway + (a.leader ? " (tier leader)" : "");
    root.appendChild(p);
    const states = a.states || {};
    const srows = ["hot", "premigrated", "offloaded", "archived"].filter(k => states[k]).map(k => [k, states[k].blobs, human(states[k].bytes, "B/s").replace("/s", "")]);
    const st = table(["state", "blobs", "bytes"], srows);
    st.id = "tier-states-" + a.account;
    root.appendChild(st);
    const q = a.queue, tt = a.totals;
    const qt = table(["queued moves", "remote reads waiting", "journal entries", "offloads", "recalls",
                      "failures", "verify failures", "damaged"],
                     [[q.moves, q.remote_reads, q.journal_entries, tt.offloads, tt.recalls,
                       tt.failures, tt.verify_failures, tt.damaged]]);
    qt.id = "tier-queue-" + a.account;
    qt.querySelectorAll("td").forEach(td => td.className = "num");
    if (tt.damaged > 0) qt.querySelectorAll("td")[7].classList.add("bad");
    root.appendChild(qt);
    const recent = (a.recent || []).slice().reverse().map(e =>
        [new Date(e.t).toISOString().replace("T", " ").slice(0, 19), e.kind, e.path, e.bytes]);
    const rt = table(["time (UTC)", "event", "blob", "bytes"], recent);
    rt.id = "tier-recent-" + a.account;
    rt.querySelectorAll("td").forEach((td, i) => { if (i % 4 === 1 || i % 4 === 2) td.className = "l"; });
    root.appendChild(rt);
  }
}
function drawCache(accounts) {
  const root = document.getElementById("cache");
  root.textContent = "";
  root.className = "";
  let any = false;
  const mib = b => human(b, "B/s").replace("/s", "");
  for (const a of accounts) {
    const c = a.cache;
    if (!c || !c.containers || !c.containers.length) continue;
    any = true;
    const h = document.createElement("h3");
    h.textContent = "Account " + a.account;
    root.appendChild(h);
    const k = c.counters || {};
    const kt = table(["hits", "hit bytes", "misses", "miss bytes", "hydrations", "hydrated bytes",
                      "uploads", "write-back queue", "conflicts", "remote errors", "imported"],
                     [[k.hit_requests, mib(k.hit_bytes), k.miss_requests, mib(k.miss_bytes),
                       k.hydrations, mib(k.hydration_bytes), k.uploads, k.writeback_queue,
                       k.conflicts, k.remote_errors, k.imported]]);
    kt.id = "cache-counters-" + a.account;
    kt.querySelectorAll("td").forEach(td => td.className = "num");
    const tds = kt.querySelectorAll("td");
    if (k.conflicts > 0) tds[8].classList.add("bad");
    if (k.remote_errors > 0) tds[9].classList.add("bad");
    root.appendChild(kt);
    const rows = c.containers.map(x => {
      const st = x.states || {}, z = {blobs: 0, bytes: 0};
      const s = st.stub || z, cl = st.clean || z, d = st.dirty || z;
      return [x.name, x.write_mode, x.remote, s.blobs, mib(s.bytes), cl.blobs, mib(cl.bytes),
              d.blobs, mib(d.bytes)];
    });
    const ct = table(["container", "write mode", "remote", "remote only", "bytes", "hydrated",
                      "bytes", "dirty", "bytes"], rows);
    ct.id = "cache-containers-" + a.account;
    ct.querySelectorAll("tr").forEach(tr => {
      const cells = tr.querySelectorAll("td");
      if (cells.length) { cells[1].className = "l"; cells[2].className = "l"; }
    });
    root.appendChild(ct);
    const errs = [];
    for (const x of c.containers) for (const e of (x.errors || [])) errs.push([e.path, e.error]);
    if (errs.length) {
      const et = table(["blob", "last error"], errs);
      et.id = "cache-errors-" + a.account;
      et.querySelectorAll("td").forEach(td => td.className = "l bad");
      root.appendChild(et);
    }
    const recent = (c.recent || []).slice().reverse().map(e =>
        [new Date(e.t).toISOString().replace("T", " ").slice(0, 19), e.kind, e.path, e.bytes]);
    const rt = table(["time (UTC)", "event", "blob", "bytes"], recent);
    rt.id = "cache-recent-" + a.account;
    rt.querySelectorAll("td").forEach((td, i) => { if (i % 4 === 1 || i % 4 === 2) td.className = "l"; });
    root.appendChild(rt);
  }
  if (!any) {
    root.className = "muted";
    root.textContent = "No cached container.";
  }
}
async function refresh() {
  try {
    const [h, t] = await Promise.all([fetch("status/history.json").then(r => r.json()),
                                      fetch("status/tier.json").then(r => r.json())]);
    const s = h.samples;
    plot("chart-rps", s, [{name: "requests", color: "#1f77b4", key: "rps"},
                          {name: "errors", color: "#d62728", key: "eps"}], "");
    plot("chart-bytes", s, [{name: "in", color: "#2ca02c", key: "in_bps"},
                            {name: "out", color: "#ff7f0e", key: "out_bps"}], "B/s");
    plot("chart-latency", s, [{name: "p50", color: "#1f77b4", key: "p50_ms"},
                              {name: "p99", color: "#9467bd", key: "p99_ms"}], "ms");
    drawTier(t);
    drawCache(t);
    document.getElementById("updated").textContent =
        "Updated " + new Date().toISOString() + " (a sample every " + h.interval_s + " s)";
    document.body.dataset.drawn = String(s.length);
    setTimeout(refresh, Math.max(1000, Math.min(10000, h.interval_s * 1000)));
  } catch (e) {
    document.getElementById("updated").textContent = "Update failed: " + e;
    setTimeout(refresh, 5000);
  }
}
refresh();
</script></body></html>
)HTML";
  return kPage;
}

}  // namespace strata::server
