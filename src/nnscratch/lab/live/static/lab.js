// nnscratch lab: the page. Plain JavaScript, no build, nothing fetched from elsewhere.
// State comes from the server: the run's config, its metrics records and frames of its model.
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const TOKEN = params.get("token");
const q = (path) => (TOKEN ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN) : path);
const PALETTE = ["#2b6cb0", "#d9822b", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#e8590c", "#5c940d", "#862e9c", "#495057"];
const lab = { sid: null, ws: null, scene: null, records: [], state: "connecting", config: null,
  step: null, watch: false, frames: 0, lastPrediction: null, run: 0,
  applied: 0, pending: [], pitfalls: {} }; // frames of settings whose scene has not come yet wait

function hex(c) { return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)); }
function bytes(b64) { const s = atob(b64); const a = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; }
function fmt(v) { if (v === null || v === undefined) return "–"; if (typeof v !== "number") return String(v);
  if (v === 0) return "0"; const a = Math.abs(v); return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(5).replace(/\.?0+$/, ""); }
function banner(text, info) { const b = $("banner"); b.hidden = !text; b.textContent = text || ""; b.className = info ? "banner info" : "banner"; }

// ---- settings form --------------------------------------------------------------------------
function fill(id, values, auto) {
  const s = $(id); s.innerHTML = "";
  if (auto) s.add(new Option("auto", ""));
  for (const v of values) s.add(new Option(v, v));
}
function layerInputs(sizes) {
  const box = $("layers"); box.innerHTML = "";
  for (const n of sizes) { const i = document.createElement("input"); i.type = "number"; i.min = 1; i.value = n; i.className = "layer"; box.append(i); }
}
function settingsFromForm() {
  const f = $("form"), out = {};
  const csv = $("data").value === "upload"; // the CSV options go with an uploaded file only
  for (const el of f.querySelectorAll("[name]")) {
    if (!csv && el.closest("#csv-options")) continue;
    if (el.type === "checkbox") { out[el.name] = el.checked; continue; }
    if (el.value === "" || el.value === undefined) continue;
    out[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  const sizes = [...document.querySelectorAll("#layers input")].map((i) => i.value.trim()).filter((v) => v !== "");
  if (out.model === "mlp" || (!out.model && sizes.length)) { if (sizes.length) out.hidden = sizes.join(","); }
  out.speed = Number($("speed").value);
  return out;
}
function clearErrors() {
  document.querySelectorAll(".field-error").forEach((e) => e.classList.remove("field-error"));
  document.querySelectorAll(".field-msg").forEach((e) => e.remove());
}
function showWarnings(list) { // the CSV reader's warnings and notes, at the upload, as train prints them
  for (const text of list) { const m = document.createElement("span"); m.className = "field-msg warn"; m.textContent = text; $("csv-options").after(m); }
}
function showError(body) {
  const field = body.field, message = body.error || "error";
  banner((field ? field + ": " : "") + message);
  const row = document.querySelector(`[data-field="${CSS.escape(field || "")}"]`);
  if (row) { // at the field, in view: the banner may be scrolled away
    row.classList.add("field-error"); const m = document.createElement("span"); m.className = "field-msg"; m.textContent = message; row.after(m);
    m.scrollIntoView({ block: "nearest" });
  }
}
let applying = Promise.resolve();
function apply(ev) { // one at a time, in order: a later click never races an earlier one
  if (ev) ev.preventDefault();
  applying = applying.then(applyNow, applyNow);
  return applying;
}
async function applyNow() {
  if (!lab.sid) return;
  clearErrors();
  const r = await fetch(q(`/api/session/${lab.sid}/settings`), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settingsFromForm()) });
  const body = await r.json();
  if (!r.ok) { showError(body); return false; }
  banner(""); showWarnings(body.warnings || []);
  lab.scene = body.scene; lab.config = body.config; newRun(body.run); lab.applied = body.applied;
  $("command").textContent = "";
  showPitfall(body.pitfall);
  const c = body.config; $("lr").placeholder = fmt(c.lr); document.querySelector("[name=epochs]").placeholder = c.epochs;
  document.querySelector("[name=batch_size]").placeholder = c.batch_size === null ? "full batch" : c.batch_size;
  if (c.hidden && !document.querySelector("#layers input")) layerInputs(c.hidden.split(","));
  $("scene-note").textContent = sceneNote(body.scene);
  renderNumbers(); drawScene(); drawCurves();
  const waiting = lab.pending.filter((m) => m.applied === body.applied); lab.pending = [];
  waiting.forEach(onFrame); // the new run's frames that came before its scene
  return true;
}
function showCommand(text) { // one box per argument: a line breaks between them, not in a name
  const box = $("command"); box.textContent = "";
  text.split(" ").forEach((word, i) => { if (i) box.append(" "); const w = document.createElement("span"); w.textContent = word; box.append(w); });
}
function showPitfall(pf) { $("pitfall-text").textContent = pf ? `${pf.summary}. Look for: ${pf.symptom}. Fix: ${pf.fix}.` : ""; }
function sceneNote(s) {
  const what = s.kind === "map" ? "the model's prediction under the points" : s.kind === "curve" ? "the fitted curve through the points" : `the first two of ${s.n_features} features (no map for more than two inputs)`;
  return `${s.n_train} training points (filled), ${s.n_test} test points (rings); ${what}; inputs as the model sees them${s.standardised ? " (standardised with the training part's mean and std)" : ""}.`;
}
async function upload() {
  const file = $("file").files[0]; if (!file || !lab.sid) return;
  clearErrors();
  const r = await fetch(q(`/api/session/${lab.sid}/upload?name=${encodeURIComponent(file.name)}`), { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
  const body = await r.json();
  if (!r.ok) { showError(body); return; }
  $("data").value = "upload"; await apply();
}

// ---- the socket -----------------------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(q(`${proto}//${location.host}/ws`)); lab.ws = ws;
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") { lab.sid = m.session; apply(); }
    else if (m.type === "watch") { lab.watch = true; lab.scene = m.scene; lab.config = m.config; readOnly(m); }
    else if (m.type === "refused") { setState("refused"); banner(m.message); }
    else if (m.type === "error") showError(m);
    else if (m.type === "frame") onFrame(m);
  };
  ws.onclose = () => { if (lab.state !== "refused") setState(lab.state === "done" ? "done" : "disconnected"); };
}
function send(type, extra) { // after the settings being applied: a click goes to the run it sees
  applying.then(() => { if (lab.ws && lab.ws.readyState === 1) lab.ws.send(JSON.stringify({ type, ...extra })); });
}
function setState(s) {
  lab.state = s; const b = $("state"); b.textContent = s; b.className = "badge " + s;
  const ended = ["done", "stopped", "diverged", "error", "refused", "disconnected"].includes(s);
  $("play").disabled = ended || s === "running"; $("pause").disabled = s !== "running";
  $("step").disabled = ended || s === "running"; $("phase").disabled = ended || s === "running";
  $("stop").disabled = ended;
  if (lab.watch) for (const id of ["play", "pause", "step", "phase", "reset", "stop", "speed"]) $(id).disabled = true; // the command line drives
  for (const id of ["download", "export-raw", "export-nn"]) $(id).classList.toggle("disabled", !ended);
  $("code").classList.toggle("running", s === "running");
}
function newRun(run) { // frames of a run that a newer one replaced are dropped
  if (run <= lab.run) return;
  lab.run = run; lab.records = []; lab.step = null; lab.lastPrediction = null;
  $("epoch").textContent = "0"; $("loss-value").textContent = "–"; $("metric").textContent = "";
}
function onFrame(m) {
  if (m.run < lab.run) return;
  if (m.applied > lab.applied) { lab.pending.push(m); return; } // drawn once its scene is here
  newRun(m.run);
  lab.frames++;
  if (m.records && m.records.length) { for (const r of m.records) lab.records.push(r); thin(); }
  if (m.state) setState(m.state);
  if (m.message && m.state !== "stopped") banner(m.message); else if (m.state === "stopped") banner("");
  const last = lab.records[lab.records.length - 1];
  if (last) {
    $("epoch").textContent = last.epoch; $("loss-value").textContent = fmt(last.train_loss);
    const v = last.val || {}; $("metric").textContent = v.accuracy !== undefined ? `val accuracy ${fmt(v.accuracy)}` : v.r2 !== undefined ? `val R² ${fmt(v.r2)}` : "";
  }
  if (m.prediction) lab.lastPrediction = m.prediction;
  if (m.network) drawNetwork(m.network);
  if (m.health) drawHealth(m.health);
  lab.step = m.step_mode || null;
  renderNumbers(); drawScene(); drawCurves();
  if (m.summary && m.summary.metrics) $("metric").textContent = summaryText(m.summary.metrics);
}
function summaryText(metrics) {
  const t = metrics.test || metrics.train || {}; const part = metrics.test ? "test" : "train";
  return t.accuracy !== undefined ? `${part} accuracy ${fmt(t.accuracy)}` : t.r2 !== undefined ? `${part} R² ${fmt(t.r2)}` : "";
}
function thin() { // keep the curves at most ~3000 points: every other old record goes
  if (lab.records.length > 4000) lab.records = lab.records.filter((r, i) => i % 2 === 0 || i > lab.records.length - 500);
}
function readOnly(m) {
  lab.applied = Infinity; // the scene came with this message
  document.querySelectorAll("#controls button, #controls select, #form *, #copy, #download").forEach((e) => (e.disabled = true));
  $("settings").classList.add("readonly"); showCommand(m.command || "");
  for (const id of ["form", "copy", "download", "export-raw", "export-nn"]) $(id).hidden = true; // the command line owns the run
  $("numbers").innerHTML = '<p class="note">Step mode belongs to the lab (nnscratch lab); this page only watches.</p>'; $("numbers").dataset.intro = $("numbers").innerHTML;
  banner("read-only: this page watches a command-line run (nnscratch train --live)", true);
  $("scene-note").textContent = m.scene ? sceneNote(m.scene) : "";
}

// ---- drawing: data and prediction ---------------------------------------------------------
function drawScene() {
  const cv = $("scene"), g = cv.getContext("2d"), W = cv.width, H = cv.height, s = lab.scene;
  g.clearRect(0, 0, W, H); if (!s) return;
  const [x0, x1, y0, y1] = s.kind === "curve" ? curveBounds(s) : s.bounds;
  const X = (x) => ((x - x0) / (x1 - x0)) * W, Y = (y) => H - ((y - y0) / (y1 - y0)) * H;
  const p = lab.lastPrediction;
  if (p && s.kind === "map" && Number.isInteger(p.n) && p.n > 0) {
    const n = p.n, img = g.createImageData(n, n);
    const cls = p.cls ? bytes(p.cls) : null, conf = p.conf ? bytes(p.conf) : null, val = p.value ? bytes(p.value) : null;
    for (let i = 0; i < n * n; i++) {
      let rgb, a;
      if (cls) { rgb = hex(PALETTE[cls[i] % PALETTE.length]); const c = conf[i] / 255; const k = s.n_classes || 2; a = Math.max(0, (c - 1 / k) / (1 - 1 / k)) * 150 + 20; }
      else { const t = val[i] / 255; rgb = [Math.round(217 * t + 43 * (1 - t)), Math.round(130 * t + 108 * (1 - t)), Math.round(43 * t + 176 * (1 - t))]; a = 110; }
      img.data.set([...rgb, a], i * 4);
    }
    const tmp = document.createElement("canvas"); tmp.width = n; tmp.height = n; tmp.getContext("2d").putImageData(img, 0, 0);
    g.imageSmoothingEnabled = true; g.drawImage(tmp, 0, 0, W, H);
  }
  axes(g, W, H, X, Y, x0, x1, y0, y1);
  for (const part of ["train", "test"]) {
    const d = s[part]; if (!d) continue;
    for (let i = 0; i < d.xy.length; i++) {
      const [a, b] = d.xy[i]; const color = s.task === "classification" ? PALETTE[d.y[i] % PALETTE.length] : "#333";
      g.beginPath(); g.arc(X(a), Y(b), part === "train" ? 3.5 : 4.5, 0, 2 * Math.PI);
      if (part === "train") { g.fillStyle = color; g.fill(); g.strokeStyle = "#fff"; g.lineWidth = 0.8; g.stroke(); }
      else { g.strokeStyle = color; g.lineWidth = 2; g.stroke(); }
    }
  }
  if (p && s.kind === "curve" && p.x) {
    g.beginPath(); g.strokeStyle = PALETTE[1]; g.lineWidth = 2.5;
    p.x.forEach((x, i) => (i ? g.lineTo(X(x), Y(p.y[i])) : g.moveTo(X(x), Y(p.y[i])))); g.stroke();
  }
  g.fillStyle = "#444"; g.font = "12px system-ui";
  const names = s.kind === "curve" ? [s.features[0], s.target] : s.features.slice(0, 2);
  g.fillText(names[0] || "x1", W - 8 - g.measureText(names[0] || "x1").width, H - 6);
  g.save(); g.translate(12, 8 + g.measureText(names[1] || "").width); g.rotate(-Math.PI / 2); g.fillText(names[1] || "", 0, 0); g.restore();
}
function curveBounds(s) {
  const pts = [...s.train.xy, ...(s.test ? s.test.xy : [])]; const p = lab.lastPrediction;
  let xs = pts.map((q) => q[0]), ys = pts.map((q) => q[1]);
  if (p && p.y) ys = ys.concat(p.y.filter((v) => isFinite(v) && Math.abs(v) < 1e6));
  const lo = (a) => Math.min(...a), hi = (a) => Math.max(...a);
  const px = (hi(xs) - lo(xs)) * 0.08 + 1e-6, py = (hi(ys) - lo(ys)) * 0.08 + 1e-6;
  return [lo(xs) - px, hi(xs) + px, lo(ys) - py, hi(ys) + py];
}
function axes(g, W, H, X, Y, x0, x1, y0, y1) {
  g.strokeStyle = "rgba(0,0,0,.12)"; g.lineWidth = 1;
  if (x0 < 0 && x1 > 0) { g.beginPath(); g.moveTo(X(0), 0); g.lineTo(X(0), H); g.stroke(); }
  if (y0 < 0 && y1 > 0) { g.beginPath(); g.moveTo(0, Y(0)); g.lineTo(W, Y(0)); g.stroke(); }
}

// ---- drawing: the network -------------------------------------------------------------------
const SVGNS = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) { const e = document.createElementNS(SVGNS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.append(e); return e; }
function unitImage(b64, n) {
  const v = bytes(b64), c = document.createElement("canvas"); c.width = n; c.height = n;
  const g = c.getContext("2d"), img = g.createImageData(n, n);
  for (let i = 0; i < n * n; i++) { const t = v[i] / 255; img.data.set([Math.round(255 - 212 * t), Math.round(255 - 147 * t), Math.round(255 - 79 * t), 255], i * 4); }
  g.putImageData(img, 0, 0); return c.toDataURL();
}
function drawNetwork(net) {
  const svg = $("network"); svg.innerHTML = ""; const W = 420, MAXN = 12;
  const sizes = net.sizes, L = sizes.length;
  const H = Math.max(110, Math.min(300, 40 + 24 * Math.max(...sizes.map((n) => Math.min(n, MAXN))))); // as tall as the widest layer
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const xs = sizes.map((_, i) => 30 + (i * (W - 60)) / Math.max(L - 1, 1));
  const pos = sizes.map((n, i) => { const k = Math.min(n, MAXN); return Array.from({ length: k }, (_, j) => [xs[i], H / 2 + (j - (k - 1) / 2) * Math.min(24, (H - 30) / k)]); });
  let maxw = 1e-12; for (const l of net.layers) if (l.w) for (const w of l.w) maxw = Math.max(maxw, Math.abs(w));
  const edges = el("g", {}, svg);
  net.layers.forEach((l, li) => {
    if (!l.w) return; const nin = sizes[li];
    for (let o = 0; o < pos[li + 1].length; o++) for (let i = 0; i < pos[li].length; i++) {
      const w = l.w[o * nin + i], [ax, ay] = pos[li][i], [bx, by] = pos[li + 1][o];
      const e = el("line", { x1: ax, y1: ay, x2: bx, y2: by, stroke: w >= 0 ? "#2b6cb0" : "#d9822b", "stroke-width": 0.4 + 4 * Math.abs(w) / maxw, "stroke-opacity": 0.75, class: "edge" }, edges);
      const gr = l.gw ? l.gw[o * nin + i] : null;
      el("title", {}, e).textContent = `weight [${li}] ${o}←${i} = ${fmt(w)}; gradient ${fmt(gr)}`;
    }
  });
  const units = lab.lastPrediction && lab.lastPrediction.units ? lab.lastPrediction.units : null;
  pos.forEach((col, li) => col.forEach(([x, y], j) => {
    const grp = el("g", { class: "node" }, svg);
    const map = units && li > 0 && li < L - 1 && units[li - 1] ? units[li - 1][j] : null;
    const r = 9;
    if (map && Number.isInteger(lab.lastPrediction.unit_n)) { el("image", { href: unitImage(map, lab.lastPrediction.unit_n), x: x - r, y: y - r, width: 2 * r, height: 2 * r }, grp); el("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: "none", stroke: "#555" }, grp); }
    else el("circle", { cx: x, cy: y, r: 7, fill: li === 0 ? "#f1f3f5" : "#fff", stroke: "#555" }, grp);
    const l = li > 0 ? net.layers[li - 1] : null;
    const name = li === 0 ? (lab.scene && lab.scene.features[j]) || `x${j + 1}` : li === L - 1 ? `output ${j}` : `hidden ${li}.${j}`;
    el("title", {}, grp).textContent = l && l.b ? `${name}: bias = ${fmt(l.b[j])}; gradient ${fmt(l.gb ? l.gb[j] : null)}` : name;
  }));
  sizes.forEach((n, i) => { if (n > MAXN) el("text", { x: xs[i] - 12, y: H - 4, "font-size": 10 }, svg).textContent = `${MAXN} of ${n}`; });
  const total = net.layers.reduce((a, l) => a + (l.w ? l.w.length : 0), 0);
  $("net-note").textContent = `${sizes.join(" → ")}${net.activation ? " · " + net.activation : ""} · blue: positive, orange: negative, width: |w|` + (net.layers.some((l) => !l.w) ? " · too many weights to draw; norms: " + net.layers.map((l) => fmt(l.norm)).join(", ") : total ? "" : "");
}

// ---- drawing: curves ------------------------------------------------------------------------
function drawCurves() {
  const cv = $("curves"), g = cv.getContext("2d"), W = cv.width, H = cv.height; g.clearRect(0, 0, W, H);
  const R = lab.records; if (!R.length) { $("legend").innerHTML = ""; return; }
  const metric = R[0].val && R[0].val.accuracy !== undefined ? "accuracy" : R[0].val && R[0].val.r2 !== undefined ? "r2" : null;
  const series = [
    { name: "train loss", color: "#2b6cb0", top: true, log: true, get: (r) => r.train_loss },
    { name: "val loss", color: "#d9822b", top: true, log: true, get: (r) => (r.val ? r.val.loss : null) },
    { name: metric === "r2" ? "val R²" : "val accuracy", color: "#2f9e44", top: false, get: (r) => (metric && r.val ? r.val[metric] : null) },
    { name: "learning rate (scaled)", color: "#7048e8", top: false, scale: true, get: (r) => r.lr },
    { name: "gradient norm (scaled)", color: "#868e96", top: false, scale: true, get: (r) => r.grad_norm },
  ];
  const h = H / 2 - 10, ex = R[R.length - 1].epoch || 1;
  const X = (e) => 40 + ((e - 1) / Math.max(ex - 1, 1)) * (W - 50);
  let lo = Infinity, hi = -Infinity;
  for (const r of R) for (const s of series.slice(0, 2)) { const v = s.get(r); if (v > 0 && isFinite(v)) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); } }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  g.font = "10px system-ui"; g.fillStyle = "#666"; g.strokeStyle = "#eee";
  for (const [y, t] of [[5, 10 ** hi], [5 + h, 10 ** lo]]) { g.fillText(fmt(t), 2, y + 8); }
  g.fillText("loss (log scale)", 110, 12); g.fillText("0…1: accuracy, R²; lr, ‖g‖ scaled", 110, H / 2 + 14);
  g.beginPath(); g.moveTo(0, H / 2); g.lineTo(W, H / 2); g.stroke();
  for (const s of series) {
    let smax = 1e-12; if (s.scale) for (const r of R) { const v = s.get(r); if (isFinite(v)) smax = Math.max(smax, Math.abs(v)); }
    const Y = s.top ? (v) => 5 + h - ((Math.log10(v) - lo) / (hi - lo)) * h : (v) => H - 5 - Math.max(0, Math.min(1, s.scale ? 0.9 * v / smax : v)) * (h - 10);
    g.beginPath(); g.strokeStyle = s.color; g.lineWidth = 1.6; let started = false;
    for (const r of R) { const v = s.get(r); if (v === null || v === undefined || !isFinite(v) || (s.top && v <= 0)) continue; const x = X(r.epoch), y = Y(v); started ? g.lineTo(x, y) : g.moveTo(x, y); started = true; }
    g.stroke();
  }
  g.fillStyle = "#666"; g.fillText(`epoch ${ex}`, W - 60, H - 2);
  $("legend").innerHTML = series.filter((s) => R.some((r) => s.get(r) !== null && s.get(r) !== undefined)).map((s) => `<span><i style="background:${s.color}"></i>${s.name}</span>`).join("");
}

// ---- the five steps -------------------------------------------------------------------------
const PHASES = ["forward", "loss", "backward", "update", "reset"];
function values(rec) { if (!rec) return "None"; if (rec.numel <= 6 && rec.complete) return "[" + rec.values.map(fmt).join(", ") + "]"; return `‖·‖ = ${fmt(rec.norm)} (${rec.shape.join("×")})` + hist(rec); }
function hist(rec) {
  if (!rec.complete || rec.numel < 8) return "";
  const v = rec.values, lo = Math.min(...v), hi = Math.max(...v), B = 16, c = new Array(B).fill(0);
  for (const x of v) c[Math.min(B - 1, Math.floor(((x - lo) / (hi - lo || 1)) * B))]++;
  const m = Math.max(...c); return ` <svg class="hist" width="64" height="14" viewBox="0 0 64 14">` + c.map((k, i) => `<rect x="${i * 4}" y="${14 - (14 * k) / m}" width="3" height="${(14 * k) / m}" fill="#868e96"/>`).join("") + `</svg>`;
}
function row(cells) { return "<tr>" + cells.map((c) => `<td>${c}</td>`).join("") + "</tr>"; }
function renderNumbers() {
  document.querySelectorAll("#code span").forEach((s) => s.classList.remove("active"));
  const st = lab.step, box = $("numbers");
  if (!st) { if (!box.dataset.intro) box.dataset.intro = box.innerHTML; else box.innerHTML = box.dataset.intro; return; }
  const ph = st.phase, r = st.record; document.querySelector(`#code [data-line=${ph}]`).classList.add("active");
  let h = `<p><b>step-mode phase ${st.index + 1}/5: ${ph}</b></p><table>`;
  if (ph === "forward") { for (const [n, p] of Object.entries(r.forward.parameters)) h += row([n, values(p)]); h += row(["ŷ = model(X)", values(r.forward.y_pred)]); }
  if (ph === "loss") h += row([r.loss.name, `${r.loss.formula || ""}`]) + row(["loss", `<b id="step-loss">${fmt(r.loss.value)}</b>`]);
  if (ph === "backward") {
    for (const [n, g] of Object.entries(r.backward.grads)) {
      const a = r.backward.analytic ? r.backward.analytic[n] : null;
      h += row([`${n}.grad`, values(g), a ? `${r.backward.beside === "autograd" ? "autograd" : "hand-derived"} ${a.formula || ""} = ${values(a.value)} <span class="${a.agrees ? "ok" : "bad"}">${a.agrees ? "agrees" : "differs"}</span>` : ""]);
    }
    h += row(["parameters unchanged", r.backward.parameters_unchanged ? '<span class="ok">yes</span>' : '<span class="bad">no</span>']);
  }
  if (ph === "update") for (const [n, u] of Object.entries(r.update.parameters)) h += row([n, `${values(u.old)} → ${values(u.new)}`, u.lr !== null ? `old − ${fmt(u.lr)}·grad = ${values(u.expected)} <span class="${u.exact ? "ok" : "bad"}">${u.exact ? "exact" : "differs"}</span>` : r.update.optimizer]);
  if (ph === "reset") { for (const [n, g] of Object.entries(r.reset.grads)) h += row([`${n}.grad`, `${values(g.before)} → ${values(g.after)}`]); h += row(["loss after the step", fmt(r.loss_after)]); }
  box.innerHTML = h + "</table>";
}

// step 3 of the code panel as the chosen backward computes it (train --backward)
const BACKWARD_LINE = {
  autograd: ["    loss.backward()", "# 3. backward"],
  engine: ["    loss.backward()", "# 3. backward: nnscratch.autograd"],
  manual: ["    loss_and_grads(model, loss_fn, xb, yb)", "# 3. by hand: nnscratch.backprop"],
};
function showBackward() {
  const [code, note] = BACKWARD_LINE[$("backward").value] || BACKWARD_LINE.autograd;
  const line = document.querySelector("#code [data-line=backward]");
  line.querySelector("b").textContent = code; line.querySelector("i").textContent = note;
}

// ---- wiring ---------------------------------------------------------------------------------
async function start() {
  const o = await (await fetch(q("/api/options"))).json();
  fill("data", o.data); fill("model", o.models, true); fill("activation", o.activations); fill("loss", o.losses, true);
  fill("optimizer", o.optimizers, true); fill("backward", o.backwards); fill("scheduler", o.schedulers); fill("pitfall", Object.keys(o.pitfalls));
  lab.pitfalls = o.pitfalls; $("pitfall").onchange = () => showPitfall(lab.pitfalls[$("pitfall").value]);
  $("backward").onchange = showBackward; showBackward();
  for (const [name, pairs] of Object.entries(o.csv)) { // the CLI's choices and defaults
    const s = $(name); s.innerHTML = ""; for (const [v, shown] of pairs) s.add(new Option(shown, v));
    s.value = o.defaults[name] === null ? "" : o.defaults[name];
  }
  document.querySelector("[name=skip_rows]").value = o.defaults.skip_rows; document.querySelector("[name=header]").checked = o.defaults.header;
  $("data").value = "synthetic"; layerInputs([]);
  $("form").addEventListener("submit", apply);
  $("file").addEventListener("change", upload);
  $("add-layer").onclick = () => { const s = [...document.querySelectorAll("#layers input")].map((i) => i.value); s.push(8); layerInputs(s); if (!$("model").value) $("model").value = "mlp"; };
  $("remove-layer").onclick = () => { const s = [...document.querySelectorAll("#layers input")].map((i) => i.value); s.pop(); layerInputs(s); };
  for (const b of ["play", "pause", "step", "phase", "reset", "stop"]) $(b).onclick = () => { send(b); };
  $("speed").onchange = () => send("speed", { value: Number($("speed").value) });
  $("copy").onclick = async () => {
    const r = await fetch(q(`/api/session/${lab.sid}/command`)); const t = await r.text();
    if (!r.ok) { showError(JSON.parse(t)); return; }
    showCommand(t); try { await navigator.clipboard.writeText(t); } catch (e) { /* shown above */ }
  };
  const fetchFile = (path, name) => async (ev) => {
    ev.preventDefault(); const r = await fetch(q(`/api/session/${lab.sid}/${path}`));
    if (!r.ok) { showError(await r.json()); return; }
    const url = URL.createObjectURL(await r.blob()), a = document.createElement("a"); a.href = url; a.download = name;
    document.body.append(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 60000); // the download reads it first
  };
  $("download").onclick = fetchFile("download", "nnscratch-run.zip");
  $("export-raw").onclick = fetchFile("export?style=raw", "train_raw.py");
  $("export-nn").onclick = fetchFile("export?style=nn", "train_nn.py");
  connect();
}
start();

// ---- the health panel (nnscratch.lab.live.health_panel): text, as `nnscratch health` --------
function drawHealth(h) {
  const pct = (v) => (v === null || v === undefined ? "" : `${(100 * v).toFixed(0)}%`);
  const lines = [`step ${h.step}`];
  for (const l of h.layers) lines.push(`${l.name.padEnd(6)} ${l.kind.padEnd(8)} std ${fmt(l.std).padEnd(8)} ${l.kind === "relu" ? "dead" : l.kind === "tanh" || l.kind === "sigmoid" ? "saturated" : ""} ${pct(l.share)}`);
  for (const u of h.updates) lines.push(`${u.name.padEnd(15)} log10 update/data ${u.log10 === null ? "–" : u.log10.toFixed(2)} (≈ −3 is the rule of thumb)`);
  lines.push(h.findings.length ? "findings: " + h.findings.map((f) => `${f.id} at ${f.layer}`).join(", ") : "findings: none");
  $("health").textContent = lines.join("\n");
  $("health-panel").hidden = false;
}
