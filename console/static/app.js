// The express console: draws the workflow laid out by the server and
// refreshes its figures every second. Plain DOM, no dependencies; every
// request goes to this page's own origin.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_H = 58;
  const api = "/ui/api/workflows";
  const st = { name: "", states: {}, edges: {}, drawing: null, sel: null, userSel: false, failed: [] };

  function el(tag, attrs, text, ns) {
    const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  const sv = (tag, attrs, text) => el(tag, attrs, text, true);
  function fmt(n) {
    n = Number(n) || 0;
    if (n < 1000) return String(Math.round(n * 10) / 10);
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e4 ? 2 : 1).replace(/\.?0+$/, "") + "k";
    return (n / 1e6).toFixed(n < 1e7 ? 2 : 1).replace(/\.?0+$/, "") + "M";
  }
  function dur(s) {
    if (s < 1e-6) return Math.round(s * 1e9) + " ns";
    if (s < 1e-3) return (s * 1e6).toFixed(s < 1e-5 ? 1 : 0) + " µs";
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
    return s.toFixed(2) + " s";
  }
  function time(ts) {
    const d = new Date(ts);
    return d.toLocaleTimeString([], { hour12: false });
  }
  async function get(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }

  async function start() {
    const m = location.pathname.match(/^\/ui\/workflows\/([^/]+)$/);
    const list = await get(api);
    if (!m) {
      if (list && list.length) location.replace("/ui/workflows/" + encodeURIComponent(list[0].name));
      else document.getElementById("graph").append(el("p", { class: "empty" }, "No workflows."));
      return;
    }
    st.name = decodeURIComponent(m[1]);
    document.title = st.name + " · express console";
    document.getElementById("wf-name").textContent = st.name;
    const tabs = document.getElementById("tabs");
    for (const w of list || []) {
      const a = el("a", { href: "/ui/workflows/" + encodeURIComponent(w.name), class: (w.name === st.name ? "on " : "") + w.source, title: w.source === "api" ? "created through the Step Functions API" : "a workflow of the config" }, w.name);
      tabs.append(a);
    }
    st.drawing = await get(api + "/" + encodeURIComponent(st.name) + "/graph");
    draw(st.drawing);
    refresh();
  }

  function draw(d) {
    const svg = sv("svg", { id: "graph-svg", viewBox: `0 0 ${d.width} ${d.height}`, width: d.width, height: d.height });
    const defs = sv("defs");
    for (const [id, color] of [["arrow", "#9aa3b2"], ["arrow-path", "#2563eb"], ["arrow-catch", "#e06c5f"]]) {
      const mk = sv("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
      mk.append(sv("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
      defs.append(mk);
    }
    svg.append(defs);
    const gStates = sv("g", { class: "states" });
    const gEdges = sv("g", { class: "edges" });
    const gLabels = sv("g", { class: "labels" });
    // compound boxes first, so that their inner states sit on top
    const nodes = [...d.nodes].sort((a, b) => (b.frames ? 1 : 0) - (a.frames ? 1 : 0));
    for (const n of nodes) gStates.append(stateBox(n));
    for (const e of d.edges) {
      const g = sv("g", { class: "edge " + e.kind + (e.back ? " back" : ""), "data-from": e.from, "data-to": e.to });
      const p = sv("path", { d: smooth(e.points), "marker-end": e.kind === "catch" ? "url(#arrow-catch)" : "url(#arrow)" });
      g.append(p);
      if (e.label) g.append(sv("title", {}, e.from + " → " + e.to + " (" + e.label + ")"));
      gEdges.append(g);
      const lab = sv("g", { class: "count", transform: `translate(${e.at[0]},${e.at[1]})` });
      lab.append(sv("rect", { x: -23, y: -8, width: 46, height: 16, rx: 8 }));
      const t = sv("text", { "text-anchor": "middle", y: 4 }, "0");
      lab.append(t);
      const lg = sv("g", { class: "edge zero", "data-from": e.from, "data-to": e.to });
      lg.append(lab);
      gLabels.append(lg);
      st.edges[e.from + "\u0000" + e.to] = { line: g, label: lg, text: t, path: p, kind: e.kind };
    }
    svg.append(gStates, gEdges, gLabels);
    const host = document.getElementById("graph");
    host.replaceChildren(svg);
    fit();
    window.addEventListener("resize", fit);
  }

  function fit() {
    const svg = document.getElementById("graph-svg");
    const host = document.getElementById("graph");
    if (!svg || !st.drawing) return;
    const d = st.drawing;
    const sw = (host.clientWidth - 8) / d.width, sh = (host.clientHeight - 8) / d.height;
    // fit the width; fit the height too unless the text would get small
    // a large graph scrolls rather than shrinks below 80%
    let s = Math.max(0.8, Math.min(1.1, sw));
    if (sh < s && sh >= 0.8) s = sh;
    svg.setAttribute("width", d.width * s);
    svg.setAttribute("height", d.height * s);
  }

  const stripe = { Task: "#2563eb", Choice: "#8b5cf6", Pass: "#94a3b8", Wait: "#0ea5e9", Succeed: "#1f9d55", Fail: "#d93025", Map: "#f59e0b", Parallel: "#f59e0b" };

  function stateBox(n) {
    const g = sv("g", { class: "state" + (n.frames ? " compound" : ""), "data-state": n.name, "data-type": n.type, transform: `translate(${n.x},${n.y})` });
    g.append(sv("rect", { class: "box", width: n.w, height: n.h, rx: 7 }));
    g.append(sv("rect", { class: "stripe", width: 5, height: NODE_H - 8, x: 3, y: 4, rx: 2, fill: stripe[n.type] || "#94a3b8" }));
    for (const f of n.frames || []) g.append(sv("rect", { class: "frame", x: f.x - n.x, y: f.y - n.y, width: f.w, height: f.h, rx: 5 }));
    const name = sv("text", { class: "name", x: 14, y: 18 });
    name.append(sv("tspan", {}, n.name));
    name.append(sv("tspan", { class: "muted", dx: 6, "font-size": 10, fill: "#8a93a3", "font-weight": 400 }, n.type));
    g.append(name);
    const counts = sv("text", { class: "counts", x: 14, y: 34 });
    const spans = {};
    for (const [k, cls, pre] of [["entered", "", "▶ "], ["succeeded", "c-ok", "  ✓ "], ["failed", "c-fail", "  ✗ "], ["retried", "c-retry", "  ↻ "]]) {
      counts.append(sv("tspan", { class: "muted-pre" }, pre));
      spans[k] = sv("tspan", { class: "v-" + k + (cls ? " " + cls : "") }, "0");
      counts.append(spans[k]);
    }
    g.append(counts);
    const times = sv("text", { class: "times", x: 14, y: 50 }, "p50 –  ·  p99 –");
    g.append(times);
    g.append(sv("title", {}, n.name + " (" + n.type + "): entered counts states finished; p50/p99 from sampled executions"));
    st.states[n.name] = { g, spans, times };
    return g;
  }

  // smooth draws a polyline with rounded corners.
  function smooth(pts) {
    let d = `M${pts[0][0]},${pts[0][1]}`;
    for (let i = 1; i < pts.length; i++) {
      const p = pts[i];
      if (i < pts.length - 1) {
        const q = pts[i + 1], o = pts[i - 1];
        const r = 14;
        const a = shorten(p, o, r), b = shorten(p, q, r);
        d += ` L${a[0]},${a[1]} Q${p[0]},${p[1]} ${b[0]},${b[1]}`;
      } else d += ` L${p[0]},${p[1]}`;
    }
    return d;
  }
  function shorten(p, to, r) {
    const dx = to[0] - p[0], dy = to[1] - p[1], l = Math.hypot(dx, dy) || 1, k = Math.min(r, l / 2) / l;
    return [p[0] + dx * k, p[1] + dy * k];
  }

  async function refresh() {
    try {
      const s = await get(api + "/" + encodeURIComponent(st.name) + "/stats");
      update(s);
    } catch (e) {
      document.getElementById("updated").textContent = "disconnected";
    }
    setTimeout(refresh, 1000);
  }

  function update(s) {
    document.body.dataset.statsTime = s.time;
    document.getElementById("updated").textContent = s.time ? "updated " + time(s.time) : "";
    const ex = s.executions || {};
    const tot = document.getElementById("totals");
    tot.replaceChildren(
      el("span", {}, "executions"),
      el("b", { class: "ok" }, "✓ " + fmt(ex.SUCCEEDED || 0)),
      el("b", { class: "fail" }, "✗ " + fmt((ex.FAILED || 0) + (ex.TIMED_OUT || 0) + (ex.ABORTED || 0))));
    for (const name in st.states) {
      const f = s.states[name] || {};
      const o = st.states[name];
      for (const k of ["entered", "succeeded", "failed", "retried"]) {
        o.spans[k].textContent = fmt(f[k] || 0);
        o.g.dataset[k] = String(f[k] || 0);
      }
      o.g.classList.toggle("has-fail", (f.failed || 0) > 0);
      o.g.classList.toggle("has-retry", (f.retried || 0) > 0);
      o.times.textContent = f.samples ? `p50 ${dur(f.p50)}  ·  p99 ${dur(f.p99)}` : "p50 –  ·  p99 –";
    }
    const counts = {};
    for (const e of s.edges || []) counts[e.from + "\u0000" + e.to] = e.count;
    let maxC = 1;
    for (const k in counts) maxC = Math.max(maxC, counts[k]);
    for (const k in st.edges) {
      const e = st.edges[k], c = counts[k] || 0;
      e.text.textContent = fmt(c);
      e.label.dataset.count = String(c);
      e.label.classList.toggle("zero", c === 0);
      e.path.style.strokeWidth = c ? (1.4 + 3.2 * Math.log1p(c) / Math.log1p(maxC)).toFixed(2) : "";
    }
    chart(s.series || []);
    lag(s.lag || []);
    pool(s.pool || {});
    failed(s);
    deadLetters(s.deadLetters || []);
  }

  function chart(series) {
    const host = document.getElementById("chart");
    const W = Math.max(host.clientWidth, 260), H = 110, L = 40, B = 16;
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, height: H });
    const now = series.length ? series[series.length - 1].t : Date.now();
    // the span shown: what the series holds, from 1 to 5 minutes
    const span = Math.min(300000, Math.max(60000, series.length ? now - series[0].t : 0));
    let max = 1;
    for (const p of series) max = Math.max(max, p.in, p.out, p.dlq);
    const nice = niceMax(max);
    const x = (t) => L + (W - L - 6) * (1 - (now - t) / span);
    const y = (v) => 6 + (H - B - 6) * (1 - v / nice);
    for (const f of [0, 0.5, 1]) {
      svg.append(sv("line", { class: "grid", x1: L, x2: W - 6, y1: y(nice * f), y2: y(nice * f) }));
      svg.append(sv("text", { class: "axis", x: L - 4, y: y(nice * f) + 3, "text-anchor": "end" }, fmt(nice * f)));
    }
    for (const f of [1, 0.5, 0]) {
      const m = span * f, lab = m === 0 ? "now" : m >= 60000 ? "-" + (m / 60000).toFixed(m % 60000 ? 1 : 0) + " min" : "-" + Math.round(m / 1000) + " s";
      svg.append(sv("text", { class: "axis", x: x(now - m), y: H - 3, "text-anchor": f === 0 ? "end" : f === 1 ? "start" : "middle" }, lab));
    }
    for (const k of ["in", "out", "dlq"]) {
      if (!series.length) break;
      svg.append(sv("polyline", { class: "s-" + k, points: series.map((p) => x(p.t).toFixed(1) + "," + y(p[k]).toFixed(1)).join(" ") }));
    }
    host.replaceChildren(svg);
    const last = series.length ? series[series.length - 1] : { in: 0, out: 0, dlq: 0 };
    const r = document.getElementById("rates");
    r.replaceChildren();
    for (const [k, lab, c] of [["in", "in", "var(--path)"], ["out", "out", "var(--ok)"], ["dlq", "dead-lettered", "var(--fail)"]]) {
      const sp = el("span", { "data-rate": k });
      const i = el("i");
      i.style.background = c;
      sp.append(i, document.createTextNode(lab + " " + fmt(last[k]) + "/s"));
      r.append(sp);
    }
  }
  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function lag(ls) {
    const host = document.getElementById("lag");
    if (!ls.length) { host.replaceChildren(el("p", { class: "empty" }, "no partitions assigned")); return; }
    let max = 1, total = 0, oldest = 0;
    for (const l of ls) { max = Math.max(max, l.lag); total += l.lag; oldest = Math.max(oldest, l.seconds); }
    const W = Math.max(host.clientWidth, 200), H = 64, bw = Math.min(28, (W - 4) / ls.length);
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, height: H });
    ls.forEach((l, i) => {
      const h = l.lag ? Math.max(2, 40 * l.lag / max) : 1;
      const g = sv("g", { class: "lag-bar", "data-topic": l.topic, "data-partition": l.partition, "data-lag": l.lag });
      g.append(sv("rect", { x: i * bw + 2, y: 44 - h, width: bw - 4, height: h, fill: l.lag ? "#2563eb" : "#c7cdd8" }));
      g.append(sv("text", { class: "axis", x: i * bw + bw / 2, y: 58, "text-anchor": "middle" }, String(l.partition)));
      g.append(sv("title", {}, `${l.topic}/${l.partition}: lag ${l.lag}`));
      svg.append(g);
    });
    const sum = el("div", {}, `total ${fmt(total)} records · oldest unfinished ${oldest ? dur(oldest) : "–"} · ${ls.length} partitions`);
    host.replaceChildren(svg, sum);
  }
  function pool(p) {
    const host = document.getElementById("pool");
    const cap = p.capacity || 0, busy = p.busy || 0;
    const bar = el("div", { class: "bar" });
    const i = el("i");
    i.style.width = (cap ? Math.min(100, 100 * busy / cap) : 0) + "%";
    bar.append(i);
    const t = el("table");
    t.append(row(["workers busy", fmt(busy) + " / " + fmt(cap)]), row(["queued", fmt(p.queued || 0)]), row(["records in flight", fmt(p.inflight || 0)]));
    host.replaceChildren(bar, t);
  }
  function row(cells, tag) {
    const tr = el("tr");
    for (const c of cells) tr.append(el(tag || "td", {}, c));
    return tr;
  }

  function failed(s) {
    const list = document.getElementById("failed");
    const sampled = s.failed || [];
    document.getElementById("failed-note").textContent = `sampled with their history (up to ${s.sampleRate}/s)` + (s.data ? "" : "; inputs and outputs hidden (--log-execution-data is off)");
    st.failed = sampled;
    if (!st.userSel && sampled.length) st.sel = sampled[0].id;
    if (st.sel !== null && !sampled.some((f) => f.id === st.sel)) st.sel = sampled.length ? sampled[0].id : null;
    list.replaceChildren();
    for (const f of sampled) {
      const li = el("li", { class: "failed-exec" + (f.id === st.sel ? " sel" : ""), "data-id": f.id, title: f.execution });
      li.append(el("span", { class: "when" }, time(f.time)), el("span", { class: "err" }, f.error), el("span", { class: "cause" }, f.cause));
      li.addEventListener("click", () => { st.sel = f.id; st.userSel = true; failed(s); });
      list.append(li);
    }
    const others = (s.failures || []).filter((f) => !sampled.some((x) => x.execution === f.execution)).slice(0, 5);
    for (const f of others) {
      const li = el("li", { class: "failure", title: f.execution + " (not sampled: no history)" });
      li.append(el("span", { class: "when" }, time(f.time)), el("span", { class: "err" }, f.error), el("span", { class: "cause muted" }, f.cause));
      list.append(li);
    }
    if (!sampled.length && !others.length) list.append(el("li", { class: "empty" }, "none yet"));
    const cur = sampled.find((f) => f.id === st.sel);
    showPath(cur);
    detail(cur, s.data);
  }

  function showPath(f) {
    const svg = document.getElementById("graph-svg");
    if (!svg) return;
    svg.classList.toggle("dim", !!f);
    for (const n in st.states) st.states[n].g.classList.remove("on-path", "failed-state");
    for (const k in st.edges) {
      const e = st.edges[k];
      e.line.classList.remove("on-path");
      e.label.classList.remove("on-path");
      e.path.setAttribute("marker-end", e.kind === "catch" ? "url(#arrow-catch)" : "url(#arrow)");
    }
    if (!f) return;
    const path = f.path || [];
    for (const n of path) if (st.states[n]) st.states[n].g.classList.add("on-path");
    for (let i = 0; i + 1 < path.length; i++) {
      const e = st.edges[path[i] + "\u0000" + path[i + 1]];
      if (e) {
        e.line.classList.add("on-path");
        e.label.classList.add("on-path");
        e.path.setAttribute("marker-end", "url(#arrow-path)");
      }
    }
    const failedState = path.length ? path[path.length - 1] : f.state;
    if (st.states[failedState]) st.states[failedState].g.classList.add("failed-state");
  }

  function detail(f, data) {
    const host = document.getElementById("detail");
    if (!f) { host.replaceChildren(); return; }
    const head = el("div");
    head.append(el("span", { class: "err" }, f.error + " "), el("span", {}, f.cause));
    const meta = el("div", { class: "muted" }, `${f.execution} · ${f.topic}/${f.partition}@${f.offset} · path: ${(f.path || []).join(" → ")}`);
    const parts = [head, meta];
    if (data && f.input) parts.push(el("pre", { class: "input" }, "input: " + f.input));
    const t = el("table", { id: "history" });
    t.append(row(["id", "prev", "type", "time", "details"], "th"));
    const t0 = f.events.length ? f.events[0].timestamp : 0;
    for (const ev of f.events) {
      const tr = el("tr", { class: /Failed$/.test(ev.type) ? "failed" : "" });
      let det = "";
      for (const k in ev) if (/EventDetails$/.test(k)) det = JSON.stringify(ev[k]);
      tr.append(el("td", { class: "num" }, String(ev.id)), el("td", { class: "num" }, String(ev.previousEventId)),
        el("td", { class: "type" }, ev.type), el("td", { class: "num" }, "+" + Math.round((ev.timestamp - t0) * 1000) + " ms"), el("td", {}, det));
      t.append(tr);
    }
    parts.push(t);
    host.replaceChildren(...parts);
  }

  function deadLetters(ds) {
    const host = document.getElementById("dlq");
    if (!ds.length) { host.replaceChildren(el("p", { class: "empty" }, "none yet")); return; }
    const t = el("table", { id: "dlq-table" });
    t.append(row(["time", "key", "headers"], "th"));
    for (const d of ds.slice(0, 8)) {
      const hs = el("td");
      for (const h of d.headers || []) {
        const c = el("span", { class: "chip" });
        c.append(el("b", {}, h.key + "="), document.createTextNode(h.value));
        hs.append(c);
      }
      if (d.value) hs.append(el("pre", {}, d.value));
      const tr = el("tr", { class: "dead-letter" });
      tr.append(el("td", { class: "when" }, time(d.time)), el("td", {}, d.key), hs);
      t.append(tr);
    }
    host.replaceChildren(t);
  }

  start().catch((e) => {
    document.getElementById("graph").replaceChildren(el("p", { class: "empty" }, String(e)));
  });
})();
