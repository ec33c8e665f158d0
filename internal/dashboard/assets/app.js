// geoblob live dashboard. It listens to /_geoblob/ui/events (Server-Sent
// Events: one "snapshot", then a "tick" per interval) and drives the
// emulator through the control API, as geoblob fault and geoblob
// replication do. No libraries, no external resources.
"use strict";

(function () {
  const API = "../"; // /_geoblob/ relative to /_geoblob/ui/
  const MAX_TICKS = 240; // kept for the charts
  const MAX_STREAM = 1200; // reads drawn in the stream: the demo's 1000 fit
  const $ = (id) => document.getElementById(id);

  const state = { ticks: [], stream: "", transitions: [], status: null, intervalMs: 500, faults: [] };

  // ---- control API -------------------------------------------------------

  async function call(method, path, body) {
    const init = { method, headers: { "Accept": "application/json", "Content-Type": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) init.body = JSON.stringify(body);
    const resp = await fetch(API + path, init);
    let data = null;
    if (resp.status !== 204) {
      try { data = await resp.json(); } catch (e) { data = null; }
    }
    if (!resp.ok) {
      const msg = data && data.error ? data.error : resp.status + " " + resp.statusText;
      throw new Error(msg);
    }
    return data;
  }

  function say(msg, isErr) {
    const el = $("action-status");
    el.textContent = msg;
    el.classList.toggle("err", !!isErr);
  }

  function action(kind) {
    switch (kind) {
      case "hang": return { hang: true };
      case "refuse": return { refuse: true };
      default: return { status: 503, code: "ServerBusy", message: "Outage started from the geoblob dashboard." };
    }
  }

  async function startOutage(endpoint) {
    const kind = $(endpoint + "-kind").value;
    const st = await call("POST", "faults", { endpoint, action: action(kind) });
    say(endpoint + " outage started (" + kind + "), rule " + st.id + ".");
  }

  // An outage rule breaks its whole endpoint: no match, no limits.
  function isOutage(r, endpoint) {
    const m = r.match || {};
    const a = r.action || {};
    const l = r.limits || {};
    const none = (o) => Object.keys(o).length === 0;
    return r.endpoint === endpoint && none(m) && none(l) && !a.latency && !a.jitter && (a.status || a.hang || a.refuse);
  }

  async function endOutage(endpoint) {
    const list = await call("GET", "faults");
    const ids = list.faults.filter((r) => isOutage(r, endpoint)).map((r) => r.id);
    for (const id of ids) await call("DELETE", "faults/" + encodeURIComponent(id));
    say(ids.length ? endpoint + " outage ended (rules " + ids.join(", ") + " removed)." : "No " + endpoint + " outage rule to remove.");
  }

  function wire(id, fn) {
    $(id).addEventListener("click", async () => {
      const b = $(id);
      b.disabled = true;
      try { await fn(); } catch (e) { say(e.message, true); } finally { b.disabled = false; }
    });
  }

  wire("primary-outage", () => startOutage("primary"));
  wire("primary-end", () => endOutage("primary"));
  wire("secondary-outage", () => startOutage("secondary"));
  wire("secondary-end", () => endOutage("secondary"));
  wire("repl-pause", async () => { await call("POST", "replication/pause"); say("Replication paused."); });
  wire("repl-resume", async () => { await call("POST", "replication/resume"); say("Replication resumed."); });
  wire("failover-planned", async () => {
    const r = await call("POST", "failover", { type: "planned" });
    say("Planned failover: the primary endpoint now serves copy " + r.to + "; nothing lost.");
  });
  wire("failover-unplanned", async () => {
    if (!window.confirm("Unplanned failover: every write after LastSyncTime is lost. Go on?")) return;
    const r = await call("POST", "failover", { type: "unplanned" });
    const lost = (r.lost || []).map((l) => l.op + " " + [l.container, l.blob].filter(Boolean).join("/")).join(", ");
    say("Unplanned failover to copy " + r.to + ", account now " + r.redundancy + ". Lost " + (r.lost || []).length +
      " writes, " + r.lostBytes + " bytes" + (lost ? ": " + lost : "") + ".");
  });
  wire("geo-enable", async () => { await call("POST", "replication/enable"); say("Geo-redundancy enabled: the new secondary bootstraps."); });
  wire("recover", async () => {
    const r = await call("DELETE", "faults");
    say("Recovered: " + r.cleared + " fault rule" + (r.cleared === 1 ? "" : "s") + " removed.");
  });

  // ---- rendering ---------------------------------------------------------

  function fmtMs(v) { return v >= 100 ? v.toFixed(0) + " ms" : v.toFixed(1) + " ms"; }
  function fmtRate(v) { return v >= 10 ? v.toFixed(0) : v.toFixed(1); }
  function fmtSec(s) {
    if (s < 1) return (s * 1000).toFixed(0) + " ms";
    if (s < 120) return s.toFixed(1) + " s";
    return (s / 60).toFixed(1) + " min";
  }

  function canvasSize(c) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(50, Math.floor(c.clientWidth * dpr));
    const h = Math.floor(Number(c.getAttribute("height")) * dpr);
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    return { w, h, dpr };
  }

  // drawStacked draws one bar per tick, its parts stacked in order.
  function drawStacked(c, ticks, parts) {
    const { w, h, dpr } = canvasSize(c);
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const n = Math.min(ticks.length, Math.max(20, Math.floor(w / (6 * dpr))));
    const shown = ticks.slice(-n);
    let top = 1;
    for (const t of shown) {
      let sum = 0;
      for (const p of parts) sum += p.value(t);
      top = Math.max(top, sum);
    }
    const bw = w / n;
    const style = getComputedStyle(document.documentElement);
    shown.forEach((t, i) => {
      let y = h;
      for (const p of parts) {
        const v = p.value(t);
        if (!v) continue;
        const bh = (v / top) * (h - 12 * dpr);
        ctx.fillStyle = style.getPropertyValue(p.color).trim();
        ctx.fillRect(w - (n - i) * bw + 0.5, y - bh, Math.max(1, bw - 1), bh);
        y -= bh;
      }
    });
    ctx.fillStyle = "#5f6368";
    ctx.font = (10 * dpr) + "px system-ui, sans-serif";
    ctx.fillText("max " + top + " / " + (state.intervalMs / 1000) + " s", 4 * dpr, 10 * dpr);
  }

  const statusParts = (ep) => [
    { color: "--s2", value: (t) => t.endpoints[ep].s2xx },
    { color: "--s3", value: (t) => t.endpoints[ep].s3xx },
    { color: "--s4", value: (t) => t.endpoints[ep].s4xx },
    { color: "--s5", value: (t) => t.endpoints[ep].s5xx },
    { color: "--sr", value: (t) => t.endpoints[ep].reset },
  ];
  const readParts = [
    { color: "--p", value: (t) => t.reads.primary },
    { color: "--s", value: (t) => t.reads.secondary },
    { color: "--f", value: (t) => t.reads.failed },
  ];

  function drawCharts() {
    drawStacked($("primary-chart"), state.ticks, statusParts("primary"));
    drawStacked($("secondary-chart"), state.ticks, statusParts("secondary"));
    if (!$("client").hidden) drawStacked($("reads-chart"), state.ticks, readParts);
  }

  // Rates over the last few ticks, so that a single quiet tick does not
  // blank the table.
  function renderEndpoints() {
    const recent = state.ticks.slice(-4);
    for (const ep of ["primary", "secondary"]) {
      const row = $("ep-" + ep);
      let secs = 0, reqs = 0, errs = 0, sum = 0, p95 = 0;
      for (const t of recent) {
        const e = t.endpoints[ep];
        secs += t.seconds; reqs += e.requests; errs += e.s5xx + e.reset;
        sum += e.avgMs * e.requests; p95 = Math.max(p95, e.p95Ms);
      }
      row.querySelector(".rate").textContent = secs ? fmtRate(reqs / secs) : "–";
      row.querySelector(".erate").textContent = secs ? fmtRate(errs / secs) : "–";
      const pct = reqs ? (100 * errs) / reqs : 0;
      row.querySelector(".epct").textContent = reqs ? pct.toFixed(pct > 0 && pct < 10 ? 1 : 0) + " %" : "–";
      row.querySelector(".avg").textContent = reqs ? fmtMs(sum / reqs) : "–";
      row.querySelector(".p95").textContent = reqs ? fmtMs(p95) : "–";
    }
  }

  function renderStatus() {
    const st = state.status;
    if (!st) return;
    if (st.client) $("client").hidden = false;
    const b = $("breaker-state");
    b.textContent = st.breaker || "unknown";
    b.className = "state " + (st.breaker || "");
    const r = st.replication;
    if (r) {
      $("repl-status").textContent = r.status + (r.paused ? " (paused)" : "");
      $("repl-behind").textContent = fmtSec(r.behindSeconds);
      $("repl-pending").textContent = r.pending;
      $("repl-lag").textContent = r.lag;
      $("repl-roles").textContent = r.roles || "–";
      const sync = $("repl-sync");
      sync.textContent = r.lastSyncTime;
      sync.setAttribute("datetime", r.lastSyncTime);
    }
    renderFaults(st.faults || [], st.firings, st.moreFaults || 0);
  }

  function renderFaults(rules, firings, more) {
    const tb = $("faults");
    tb.replaceChildren();
    if (!rules.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 5; td.className = "muted"; td.textContent = "none";
      tr.append(td); tb.append(tr);
    }
    for (const r of rules) {
      const tr = document.createElement("tr");
      for (const v of [r.id, r.text, r.state, String(r.fired)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      const td = document.createElement("td");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = "Remove";
      btn.setAttribute("aria-label", "Remove rule " + r.id);
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try { await call("DELETE", "faults/" + encodeURIComponent(r.id)); say("Rule " + r.id + " removed."); }
        catch (e) { say(e.message, true); btn.disabled = false; }
      });
      td.append(btn); tr.append(td); tb.append(tr);
    }
    if (more) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 5; td.className = "muted"; td.textContent = "… and " + more + " more (geoblob fault list shows all)";
      tr.append(td); tb.append(tr);
    }
    if (firings) {
      $("firings").textContent = "Firings so far: primary " + (firings.primary || 0) + ", secondary " + (firings.secondary || 0) + ", both " + (firings.both || 0) + ".";
    }
  }

  function appendStream(s) {
    if (!s) return;
    const box = $("stream");
    const frag = document.createDocumentFragment();
    for (const ch of s) {
      const sp = document.createElement("span");
      sp.className = ch;
      frag.append(sp);
    }
    box.append(frag);
    while (box.childElementCount > MAX_STREAM) box.firstElementChild.remove();
    state.stream = (state.stream + s).slice(-MAX_STREAM);
    box.title = "last read: " + s[s.length - 1];
  }

  function renderCounts() {
    const c = (state.status && state.status.clientReads) || { primary: 0, secondary: 0, failed: 0 };
    $("reads-total").textContent = c.primary + c.secondary + c.failed;
    $("reads-primary").textContent = c.primary;
    $("reads-secondary").textContent = c.secondary;
    $("reads-failed").textContent = c.failed;
  }

  function appendTransitions(list) {
    const ol = $("transitions");
    for (const t of list || []) {
      const li = document.createElement("li");
      const at = new Date(t.at).toLocaleTimeString();
      li.textContent = at + " after read " + t.read + ": " + t.from + " → " + t.to + (t.reason ? " (" + t.reason + ")" : "");
      ol.append(li);
      state.transitions.push(t);
    }
    while (ol.childElementCount > 100) ol.firstElementChild.remove();
    ol.scrollTop = ol.scrollHeight;
  }

  function onSnapshot(snap) {
    state.ticks = snap.ticks || [];
    state.intervalMs = snap.intervalMs || 500;
    state.status = snap.status;
    state.stream = "";
    $("stream").replaceChildren();
    $("transitions").replaceChildren();
    state.transitions = [];
    appendStream(snap.stream);
    appendTransitions(snap.transitions);
    renderStatus(); renderEndpoints(); renderCounts(); drawCharts();
  }

  function onTick(t) {
    document.body.dataset.ticks = String(Number(document.body.dataset.ticks || 0) + 1);
    state.ticks.push(t);
    if (state.ticks.length > MAX_TICKS) state.ticks.shift();
    state.status = t.status;
    appendStream(t.stream);
    appendTransitions(t.transitions);
    renderStatus(); renderEndpoints(); renderCounts(); drawCharts();
  }

  // ---- event stream ------------------------------------------------------

  function connect() {
    const conn = $("conn");
    const es = new EventSource("events");
    es.addEventListener("open", () => { conn.textContent = "live"; conn.className = "conn live"; });
    es.addEventListener("error", () => {
      conn.textContent = "disconnected, retrying…";
      conn.className = "conn down";
      // The browser retries a dropped stream by itself, but not one that
      // was refused (503 when too many pages are open): try again later.
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
    es.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
    es.addEventListener("tick", (e) => onTick(JSON.parse(e.data)));
  }

  window.addEventListener("resize", drawCharts);
  connect();
})();
