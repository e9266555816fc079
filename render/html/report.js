// reqprof's HTML report: plain JavaScript, no dependencies, no network.
// It reads the JSON model in #reqprof-data (see model.go) and draws the
// header, the call tree, the flame graph, the timeline and the top tables.
(function () {
  "use strict";

  const M = JSON.parse(document.getElementById("reqprof-data").textContent);
  const host = document.getElementById("rp-report");
  const FR = M.frames; // [name, file, line, kind]
  const KINDS = M.kinds;
  const K = {};
  KINDS.forEach(function (k, i) { K[k] = i; });

  // --- helpers ---------------------------------------------------------------

  function el(tag, props) {
    const e = document.createElement(tag);
    if (props) {
      for (const k in props) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === "text") e.textContent = v;
        else if (k === "cls") e.className = v;
        else if (k === "on") for (const ev in v) e.addEventListener(ev, v[ev]);
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      e.append(c);
    }
    return e;
  }
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // dur formats nanoseconds like the text renderer: 850ns, 12.3µs, 4.56ms, 1.234s.
  function dur(ns) {
    if (ns < 1e3) return Math.round(ns) + "ns";
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + "µs";
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + "ms";
    return (ns / 1e9).toFixed(3) + "s";
  }
  // ms formats nanoseconds as milliseconds for the tree's columns.
  function ms(ns) {
    const v = ns / 1e6;
    if (v >= 100) return v.toFixed(1);
    if (v >= 1) return v.toFixed(2);
    if (v >= 0.001) return v.toFixed(3);
    return ns > 0 ? "<0.001" : "0";
  }
  function pct(x, total) {
    if (!(total > 0)) return "–";
    const p = 100 * x / total;
    return (p >= 10 || p === 0 ? p.toFixed(1) : p.toFixed(2)) + "%";
  }
  function pkgOf(fn) {
    const slash = fn.lastIndexOf("/");
    const dot = fn.indexOf(".", slash + 1);
    return dot < 0 ? fn : fn.slice(0, dot);
  }
  // shortFunc drops the directories of a function's package path.
  function shortFunc(fn) {
    const pkg = pkgOf(fn);
    const i = pkg.lastIndexOf("/");
    return i >= 0 ? fn.slice(i + 1) : fn;
  }
  function base(file) {
    const i = file.lastIndexOf("/");
    return i >= 0 ? file.slice(i + 1) : file;
  }
  function kindOf(f) { return KINDS[FR[f][3]]; }
  function waitReason(name) {
    const m = /^\[wait: (.*)\]$/.exec(name);
    return m ? m[1] : "";
  }
  // label is how a frame is shown.
  function label(f) {
    const fr = FR[f], k = KINDS[fr[3]];
    if (k === "user" || k === "lib" || k === "runtime") return shortFunc(fr[0]);
    if (k === "via") {
      const m = /^\[via goroutine (\d+): (.*)\]$/.exec(fr[0]);
      if (m) return "[via goroutine " + m[1] + ": " + shortFunc(m[2]) + "]";
    }
    return fr[0];
  }
  function place(f) {
    const fr = FR[f];
    return fr[1] ? base(fr[1]) + ":" + fr[2] : "";
  }

  // Colours: the stylesheet's variables, and a palette for wait reasons.
  const css = getComputedStyle(document.documentElement);
  function cvar(n, dflt) { return (css.getPropertyValue(n) || "").trim() || dflt; }
  const KC = {
    root: "#6b7385", user: cvar("--user", "#4e79a7"), lib: cvar("--lib", "#9fb3c8"), runtime: cvar("--runtime", "#c3c7cf"),
    region: cvar("--region", "#b07aa1"), sql: cvar("--sql", "#8c4fa3"), via: cvar("--via", "#5fa8a3"),
    reqprof: cvar("--reqprof", "#d0d0d0"), unsampled: cvar("--unsampled", "#a9d39e"),
    syscall: cvar("--syscall", "#9c755f"), runnable: cvar("--runnable", "#e9c143"), wait: cvar("--wait", "#e8833a"),
  };
  const LIGHT = { lib: 1, runtime: 1, reqprof: 1, unsampled: 1, runnable: 1 };
  const WAITC = {
    "network": "#d9534f", "sync": "#f28e2b", "sync.(*Cond).Wait": "#f5a35c", "select": "#e8a33d",
    "chan receive": "#f4b183", "chan send": "#e39a6f", "sleep": "#c9a66b", "system goroutine wait": "#d8b4a0",
    "GC assist wait": "#d37295", "GC background sweeper wait": "#d37295", "forever": "#a0522d", "preempted": "#d6a2e8",
  };
  const EXTRA = ["#ff9d9a", "#d37295", "#e39c6e", "#d4a373", "#f1a7a0", "#c98b6b"];
  function waitColor(reason) {
    if (WAITC[reason]) return WAITC[reason];
    let h = 0;
    for (let i = 0; i < reason.length; i++) h = (h * 31 + reason.charCodeAt(i)) >>> 0;
    return EXTRA[h % EXTRA.length];
  }
  function frameColor(f) {
    const k = kindOf(f);
    return k === "wait" ? waitColor(waitReason(FR[f][0])) : KC[k];
  }
  const TL = M.timeline;
  const STATE_LABEL = ["running", "running, unsampled", "runnable", "syscall"];
  function codeColor(c) {
    if (c === 0) return cvar("--running", "#59a14f");
    if (c === 1) return KC.unsampled;
    if (c === 2) return KC.runnable;
    if (c === 3) return KC.syscall;
    return waitColor(TL.reasons[c - 4] || "");
  }
  function codeLabel(c) { return c < 4 ? STATE_LABEL[c] : "waiting: " + TL.reasons[c - 4]; }
  const TAGS = { region: "region", sql: "SQL", wait: "wait", syscall: "syscall", runnable: "runnable", via: "via", reqprof: "reqprof", unsampled: "unsampled" };

  // --- state -----------------------------------------------------------------

  const THRESHOLDS = [0, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
  const S = {
    tab: "tree",
    view: M.initial.view || "critical",
    group: !M.initial.noGroup,
    timeOrder: !!M.initial.timeOrder,
    threshold: M.initial.threshold,
    query: "",
    sel: -1,
    focus: -1,
    expanded: {}, // tree key → Set of expanded node indexes
    openHidden: {}, // tree key → Set of nodes whose hidden frames are listed
    focusTree: false,
  };
  if (!M.views.some(function (v) { return v.kind === S.view; })) S.view = M.views[0].kind;

  function viewData() { return M.views.find(function (v) { return v.kind === S.view; }); }
  function canTimeOrder() { return !!viewData().timeOrder; }
  function treeKey() { return S.view + (S.timeOrder && canTimeOrder() ? ":time" : ":merged") + (S.group ? ":grouped" : ":all"); }
  function curTree() {
    const v = viewData();
    const to = S.timeOrder && canTimeOrder();
    const t = S.group ? (to ? v.timeOrder : v.merged) : (to ? v.timeOrderNoGroup : v.mergedNoGroup);
    return prep(t);
  }
  // prep adds parents, subtree ends and roots to a tree.
  function prep(t) {
    if (t.parent) return t;
    const n = t.f.length;
    const parent = new Int32Array(n), end = new Int32Array(n);
    const stack = [], roots = [];
    for (let i = 0; i < n; i++) {
      while (stack.length && t.d[stack[stack.length - 1]] >= t.d[i]) end[stack.pop()] = i;
      parent[i] = stack.length ? stack[stack.length - 1] : -1;
      if (parent[i] < 0) roots.push(i);
      stack.push(i);
    }
    while (stack.length) end[stack.pop()] = n;
    t.parent = parent; t.end = end; t.roots = roots;
    t.lower = t.f.map(function (f) { return (FR[f][0] + " " + FR[f][1]).toLowerCase(); });
    return t;
  }
  function kids(t, i) {
    const out = [];
    for (let j = i + 1; j < t.end[i]; j = t.end[j]) out.push(j);
    return out;
  }
  function expandedSet() {
    const k = treeKey();
    if (!S.expanded[k]) S.expanded[k] = defaultExpansion(curTree());
    return S.expanded[k];
  }
  function hiddenSet() {
    const k = treeKey();
    return S.openHidden[k] || (S.openHidden[k] = new Set());
  }
  function minNs() { return S.threshold * viewData().total; }

  // defaultExpansion opens the heaviest nodes first, about 120 rows' worth.
  function defaultExpansion(t) {
    const set = new Set();
    const total = viewData().total, min = Math.max(minNs(), 0.01 * total);
    const order = [];
    for (let i = 0; i < t.f.length; i++) if (t.t[i] >= min && t.end[i] > i + 1) order.push(i);
    order.sort(function (a, b) { return t.t[b] - t.t[a] || a - b; });
    let rows = t.roots.length;
    for (const i of order) {
      const p = t.parent[i];
      if (p >= 0 && !set.has(p)) continue;
      const n = kids(t, i).filter(function (j) { return t.t[j] >= minNs(); }).length;
      if (rows + n > 120 && set.size > 0) continue;
      set.add(i);
      rows += n;
    }
    return set;
  }

  // --- header ----------------------------------------------------------------

  function header() {
    const m = M.meta, sum = M.summary;
    const h = el("header", { cls: "rp-head" });
    if (M.set) return setHeader(h);
    const title = el("h1", null, el("span", { text: m.name || "(unnamed)" }));
    if (m.status) {
      const st = +m.status;
      title.append(el("span", { cls: "rp-status" + (st >= 500 || m.attrs.some(function (a) { return a[0] === "panic"; }) ? " err" : ""), text: m.status, title: "response status" }));
    }
    h.append(title);
    if (m.url) h.append(el("div", { cls: "rp-url", text: (m.method ? m.method + " " : "") + m.url }));
    const facts = el("div", { cls: "rp-facts" });
    function fact(k, v, tip) { facts.append(el("span", { title: tip }, k + " ", el("b", { text: v }))); }
    fact("wall", dur(m.duration), "the work's wall-clock time");
    if (m.start) fact("start", m.start.replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("Z", " UTC"));
    fact("goroutines", String(m.goroutines) + (m.outsiders ? " (+" + m.outsiders + " outside)" : ""),
      "the root and every goroutine it started; outside: goroutines of no request that woke one of its own");
    if (m.route) fact("route", m.route);
    if (m.goVersion) fact("Go", m.goVersion);
    if (m.host) fact("host", m.host);
    cpuFact(fact, sum);
    if (sum.reqprof > 0 || sum.reqprofBefore > 0) {
      fact("reqprof's own cost", dur(sum.reqprofBefore) + " before the window, " + dur(sum.reqprof) + " inside",
        "before: the time reqprof added to the request before its window (starting the recorder, waiting for a slot); inside: the critical-path time in the profiler's own frames ([reqprof]), " + pct(sum.reqprof, sum.total) + " of the wall time");
    }
    h.append(facts);

    h.append(el("div", { cls: "rp-hint", text: "Where the " + dur(sum.total) + " went, on the critical path:" }));
    splitBar(h, sum);
    const notes = el("ul", { cls: "rp-notes" });
    for (const w of m.warnings) notes.append(el("li", { cls: "warn", text: "note: " + w }));
    if (notes.childElementCount) h.append(notes);
    if (M.notes.length) {
      const ul = el("ul", { cls: "rp-notes" });
      for (const n of M.notes) ul.append(el("li", { text: n }));
      h.append(el("details", { cls: "rp-condensed" }, el("summary", { text: "Large profile: this page shows a condensed version (" + M.notes.length + " note" + (M.notes.length > 1 ? "s" : "") + ")" }), ul));
    }
    const other = m.attrs.filter(function (a) { return ["method", "route", "url", "status"].indexOf(a[0]) < 0; });
    if (other.length) {
      const dl = el("dl", { cls: "rp-facts" });
      for (const a of other) dl.append(el("span", null, a[0] + " ", el("b", { text: a[1] })));
      h.append(dl);
    }
    return h;
  }

  // cpuFact adds the running time to the header's facts, with the share of
  // it that CPU samples observed (the rest is inferred: "running,
  // unsampled").
  function cpuFact(fact, sum) {
    if (!(sum.cpu > 0)) return;
    const sampled = sum.cpu - sum.unsampled;
    let tip = "running time: " + dur(sampled) + " where CPU samples looked, " + dur(sum.unsampled) + " inferred (no sample near it)";
    if (sum.samples > 0) tip += "; " + sum.samples + " CPU sample" + (sum.samples > 1 ? "s" : "") + (sum.samplePeriod > 0 ? ", one per " + dur(sum.samplePeriod) + " of running time" : "");
    fact("CPU", dur(sum.cpu) + " (" + pct(sampled, sum.cpu) + " sampled, " + pct(sum.unsampled, sum.cpu) + " unsampled)", tip);
  }

  // splitBar draws how the header's total divides by state, and its legend.
  function splitBar(h, sum) {
    const bar = el("div", { cls: "rp-split", role: "img", "aria-label": sum.parts.map(function (p) { return p.label + " " + pct(p.ns, sum.total); }).join(", ") });
    const legend = el("div", { cls: "rp-legend" });
    for (const p of sum.parts) {
      const share = p.ns / sum.total;
      const light = p.code === 1 || p.code === 2;
      const d = el("div", { cls: light ? "light" : "", title: p.label + ": " + dur(p.ns) + " (" + pct(p.ns, sum.total) + ")", "data-code": p.code, "data-ns": p.ns });
      d.style.width = (100 * share) + "%";
      d.style.background = codeColor(p.code);
      if (share >= 0.09) d.textContent = p.label + " " + pct(p.ns, sum.total);
      bar.append(d);
      const sw = el("span", { cls: "sw" });
      sw.style.background = codeColor(p.code);
      legend.append(el("span", null, sw, p.label + " ", el("b", { text: dur(p.ns) }), " " + pct(p.ns, sum.total)));
    }
    h.append(bar, legend);
  }

  // setHeader is the header of a stack set's page (many profiles merged):
  // its name, the set's own lines, and the split of its critical path.
  function setHeader(h) {
    const m = M.meta, sum = M.summary;
    h.append(el("h1", null, el("span", { text: m.name || "(unnamed)" })));
    const facts = el("div", { cls: "rp-facts" });
    facts.append(el("span", { title: "the summed wall-clock time of the work the set holds" }, "wall, summed ", el("b", { text: dur(m.duration) })));
    if (m.start) facts.append(el("span", null, "from ", el("b", { text: m.start.replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("Z", " UTC") })));
    cpuFact(function (k, v, tip) { facts.append(el("span", { title: tip }, k + " ", el("b", { text: v }))); }, sum);
    if (sum.reqprof > 0) facts.append(el("span", { title: "time in the profiler's own frames ([reqprof]), summed" }, "reqprof's own cost ", el("b", { text: dur(sum.reqprof) })));
    h.append(facts);
    if (M.set.comments.length) {
      const ul = el("ul", { cls: "rp-notes rp-comments" });
      for (const c of M.set.comments) ul.append(el("li", { text: c }));
      h.append(ul);
    }
    if (sum.total > 0) {
      const v = M.views.find(function (x) { return x.kind === M.set.split; });
      h.append(el("div", { cls: "rp-hint", text: "Where the " + dur(sum.total) + " went (" + (v ? v.label : M.set.split).toLowerCase() + ", summed):" }));
      splitBar(h, sum);
    }
    if (M.notes.length) {
      const ul = el("ul", { cls: "rp-notes" });
      for (const n of M.notes) ul.append(el("li", { text: n }));
      h.append(ul);
    }
    return h;
  }

  // --- tabs and toolbar ---------------------------------------------------------

  // A stack set has no timeline.
  const TABS = [["tree", "Call tree"], ["flame", "Flame graph"], ["timeline", "Timeline"], ["top", "Top functions"]].filter(function (t) { return !M.set || t[0] !== "timeline"; });
  const panels = {};
  let tabButtons = [];

  function tabs() {
    const bar = el("div", { cls: "rp-tabs", role: "tablist", "aria-label": "Report views" });
    tabButtons = TABS.map(function (tb, i) {
      const b = el("button", {
        id: "rp-tab-" + tb[0], role: "tab", "aria-controls": "rp-panel-" + tb[0], "data-tab": tb[0], text: tb[1],
        on: {
          click: function () { setTab(tb[0]); },
          keydown: function (e) {
            let j = -1;
            if (e.key === "ArrowRight") j = (i + 1) % TABS.length;
            if (e.key === "ArrowLeft") j = (i + TABS.length - 1) % TABS.length;
            if (j >= 0) { e.preventDefault(); setTab(TABS[j][0]); tabButtons[j].focus(); }
          },
        },
      });
      bar.append(b);
      return b;
    });
    return bar;
  }

  function setTab(name) {
    S.tab = name;
    for (const b of tabButtons) {
      const on = b.dataset.tab === name;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    for (const k in panels) panels[k].hidden = k !== name;
    toolbar.hidden = name === "timeline";
    draw();
  }

  let toolbar, viewButtons, groupBox, timeBox, timeLabel, thrInput, thrLabel, searchInput, countOut;
  function makeToolbar() {
    toolbar = el("div", { cls: "rp-bar", role: "toolbar", "aria-label": "Tree options" });
    const seg = el("div", { cls: "rp-seg", role: "group", "aria-label": "View" });
    viewButtons = M.views.map(function (v) {
      const b = el("button", { type: "button", "data-view": v.kind, text: v.label, "aria-pressed": "false",
        title: { critical: "the root goroutine's time, waits explained by the goroutines that ended them (sums to the wall time)", goroutines: "each goroutine's own time", all: "every goroutine's time under the stack that started it (sums to goroutine-time)",
          wall: "every goroutine's time under the stack that started it (sums to goroutine-time)", cpu: "the running part of all goroutines' time", cpu_sampled: "CPU profile samples, each weighted by the sampling period (an estimate)" }[v.kind] || "",
        on: { click: function () { S.view = v.kind; S.sel = -1; S.focus = -1; sync(); draw(); } } });
      seg.append(b);
      return b;
    });
    groupBox = el("input", { type: "checkbox", id: "rp-group", on: { change: function () { S.group = groupBox.checked; S.sel = -1; S.focus = -1; draw(); } } });
    timeBox = el("input", { type: "checkbox", id: "rp-time", on: { change: function () { S.timeOrder = timeBox.checked; S.sel = -1; S.focus = -1; draw(); } } });
    timeLabel = el("label", { for: "rp-time", title: "keep calls in the order they happened instead of merging repeated calls" }, timeBox, "time order");
    thrInput = el("input", { type: "range", id: "rp-thr", min: 0, max: THRESHOLDS.length - 1, step: 1, "aria-label": "Hide nodes under this share of the total",
      on: { input: function () { S.threshold = THRESHOLDS[+thrInput.value]; sync(); draw(); } } });
    thrLabel = el("output", { for: "rp-thr", cls: "rp-count" });
    searchInput = el("input", { type: "search", id: "rp-search", placeholder: "search functions, files…", "aria-label": "Search frames",
      on: {
        input: function () { setQuery(searchInput.value); },
        keydown: function (e) { if (e.key === "Enter") { e.preventDefault(); nextMatch(e.shiftKey ? -1 : 1); } },
      } });
    countOut = el("output", { cls: "rp-count", "aria-live": "polite", for: "rp-search" });
    toolbar.append(
      el("span", null, "View "), seg,
      el("label", { for: "rp-group", title: "fold library and runtime frames into [N frames hidden] groups" }, groupBox, "group library frames"),
      timeLabel,
      el("label", { for: "rp-thr" }, "hide under ", thrInput, thrLabel),
      el("label", { for: "rp-search" }, searchInput), countOut);
    return toolbar;
  }

  function sync() {
    for (const b of viewButtons) b.setAttribute("aria-pressed", b.dataset.view === S.view ? "true" : "false");
    // A server's download links follow the view shown.
    for (const a of document.querySelectorAll("nav.rp-nav a[href*='view=']")) a.setAttribute("href", a.getAttribute("href").replace(/([?&]view=)[^&]*/, "$1" + S.view));
    groupBox.checked = S.group;
    const can = canTimeOrder();
    timeBox.disabled = !can;
    timeBox.checked = S.timeOrder && can;
    timeLabel.className = can ? "" : "off";
    timeLabel.title = can ? "keep calls in the order they happened instead of merging repeated calls" : M.set ? "time order needs one timeline per tree: not for a merged set" : "time order needs one timeline per tree: not for all goroutines";
    let k = THRESHOLDS.indexOf(S.threshold);
    if (k < 0) { k = THRESHOLDS.findIndex(function (x) { return x >= S.threshold; }); if (k < 0) k = THRESHOLDS.length - 1; S.threshold = THRESHOLDS[k]; }
    thrInput.value = k;
    thrLabel.textContent = (S.threshold * 100) + "%";
  }

  // --- search ------------------------------------------------------------------

  function matches(t) {
    if (!S.query) return null;
    const q = S.query.toLowerCase(), out = [];
    for (let i = 0; i < t.f.length; i++) if (t.lower[i].indexOf(q) >= 0) out.push(i);
    return out;
  }
  function setQuery(q) {
    S.query = q.trim();
    const t = curTree(), hits = matches(t);
    if (hits) {
      const set = expandedSet();
      for (const i of hits.slice(0, 200)) for (let p = t.parent[i]; p >= 0; p = t.parent[p]) set.add(p);
    }
    draw();
  }
  function nextMatch(dir) {
    const t = curTree(), hits = matches(t);
    if (!hits || !hits.length) return;
    const visible = hits.filter(function (i) { return t.t[i] >= minNs() || t.parent[i] < 0; });
    if (!visible.length) return;
    let k = visible.findIndex(function (i) { return dir > 0 ? i > S.sel : false; });
    if (dir < 0) { k = -1; for (let j = visible.length - 1; j >= 0; j--) if (visible[j] < S.sel) { k = j; break; } }
    if (k < 0) k = dir > 0 ? 0 : visible.length - 1;
    S.sel = visible[k];
    if (S.tab === "tree") { drawTree(); const r = treeBox.querySelector('[data-i="' + S.sel + '"]'); if (r) r.scrollIntoView({ block: "nearest" }); }
  }
  function highlight(text) {
    if (!S.query) return document.createTextNode(text);
    const q = S.query.toLowerCase(), lo = text.toLowerCase();
    const frag = document.createDocumentFragment();
    let at = 0;
    for (let i = lo.indexOf(q); i >= 0 && q; i = lo.indexOf(q, at)) {
      frag.append(text.slice(at, i), el("mark", { text: text.slice(i, i + q.length) }));
      at = i + q.length;
    }
    frag.append(text.slice(at));
    return frag;
  }

  // --- call tree ---------------------------------------------------------------

  let treeBox;
  function makeTree() {
    treeBox = el("div", { cls: "rp-tree", role: "tree", "aria-label": "Call tree", "aria-multiselectable": "false" });
    treeBox.addEventListener("click", onTreeClick);
    treeBox.addEventListener("keydown", onTreeKey);
    treeBox.addEventListener("focusin", function () { S.focusTree = true; });
    treeBox.addEventListener("focusout", function (e) { if (!treeBox.contains(e.relatedTarget)) S.focusTree = false; });
    return el("div", null,
      el("div", { cls: "rp-hint", text: "Click a row to fold it, alt-click to fold everything under it; keyboard: ↑ ↓ move, → ← open and close, alt+→ open all under, Enter fold, h library frames." }),
      treeBox);
  }

  function drawTree() {
    const t = curTree(), v = viewData(), total = v.total, min = minNs();
    const set = expandedSet(), hid = hiddenSet();
    const hits = matches(t);
    const hit = hits ? new Set(hits) : null;
    // Re-rendering removes the focused row: keep the focus in the tree.
    const refocus = S.focusTree || treeBox.contains(document.activeElement);
    const rows = [];
    const frag = document.createDocumentFragment();
    frag.append(el("div", { cls: "rp-thead", role: "none", "aria-hidden": "true" },
      el("span", { text: "total ms" }), el("span", { text: "%" }), el("span", { text: "" }), el("span", { text: "self ms" }), el("span", { text: "frame" })));
    function row(i, level, pos, size) {
      const f = t.f[i], k = KINDS[FR[f][3]];
      const ch = kids(t, i), shown = ch.filter(function (j) { return t.t[j] >= min; });
      const open = set.has(i) && shown.length > 0;
      const r = el("div", {
        cls: "rp-row k-" + k + (i === S.sel ? " sel" : ""), role: "treeitem", "aria-level": level, "aria-posinset": pos, "aria-setsize": size,
        "aria-selected": i === S.sel ? "true" : "false", "aria-expanded": ch.length ? (open ? "true" : "false") : null,
        "data-i": i, tabindex: -1, "data-kind": k,
      });
      r.append(el("span", { cls: "rp-num", text: ms(t.t[i]) }), el("span", { cls: "rp-num", text: pct(t.t[i], total) }));
      const bar = el("span", { cls: "rp-pbar", "aria-hidden": "true" });
      const w = Math.min(100, 100 * t.t[i] / (total || 1)), u = Math.min(t.u[i], t.t[i]);
      const solid = el("span"), hatched = el("span", { cls: "uns" });
      const color = frameColor(f);
      const uw = k === "unsampled" ? 0 : w * u / (t.t[i] || 1);
      solid.style.width = (w - uw) + "%";
      solid.style.background = color;
      hatched.style.width = uw + "%";
      hatched.style.background = KC.unsampled;
      bar.append(solid, hatched);
      r.append(bar, el("span", { cls: "rp-num rp-self", text: t.s[i] > 0 && ch.length ? ms(t.s[i]) : "" }));
      const name = el("span", { cls: "rp-name" });
      name.append(indent(level - 1), el("span", { cls: "tw", "aria-hidden": "true", text: ch.length ? (open ? "▾" : "▸") : "" }));
      if (TAGS[k]) {
        const tag = el("span", { cls: "rp-tag", text: TAGS[k] });
        tag.style.background = color;
        if (LIGHT[k]) tag.style.color = "#1d2330";
        name.append(tag);
      }
      const fn = el("span", { cls: "fn", title: FR[f][0] + (FR[f][1] ? "\n" + FR[f][1] + ":" + FR[f][2] : "") });
      fn.append(hit && hit.has(i) ? highlight(label(f)) : label(f));
      name.append(fn);
      if (t.c[i] > 1 && (k === "wait" || k === "syscall" || k === "runnable" || k === "via" || k === "sql" || k === "region")) name.append(el("span", { cls: "cnt", text: "×" + t.c[i], title: t.c[i] + " separate stretches merged" }));
      if (k === "unsampled") name.append(el("span", { cls: "fl", text: "running where no CPU sample looked: attributed to the frame above" }));
      const pl = place(f);
      if (pl) name.append(el("span", { cls: "fl", text: pl }));
      if (t.h[i] >= 0) {
        const hl = t.hl[t.h[i]], n = hl[0], list = hl.slice(1);
        const pkgs = [];
        for (const hf of list) { const p = pkgOf(FR[hf][0]); if (pkgs.indexOf(p) < 0) pkgs.push(p); }
        name.append(el("button", { cls: "hid", type: "button", "data-hidden": i, "aria-expanded": hid.has(i) ? "true" : "false", tabindex: -1,
          title: "library and runtime frames folded into this node; click to list them",
          text: "[" + n + " frame" + (n > 1 ? "s" : "") + " hidden] " + pkgs.slice(0, 4).join(", ") + (pkgs.length > 4 ? ", +" + (pkgs.length - 4) : "") }));
      }
      r.append(name);
      frag.append(r);
      rows.push(i);
      if (t.h[i] >= 0 && hid.has(i)) {
        // In the frame column, under the row's frame.
        const ul = el("ul", { cls: "rp-hidden-list", role: "group", "aria-label": "hidden library frames" });
        const hl = t.hl[t.h[i]];
        for (const hf of hl.slice(1)) ul.append(el("li", { role: "treeitem", "aria-level": level + 1, title: FR[hf][0] }, shortFunc(FR[hf][0]), el("span", { cls: "fl", text: place(hf) })));
        if (hl[0] > hl.length - 1) ul.append(el("li", { text: "… and " + (hl[0] - hl.length + 1) + " more" }));
        frag.append(el("div", { cls: "rp-row rp-hrow", role: "none" }, el("span"), el("span"), el("span"), el("span", { cls: "rp-self" }),
          el("span", { cls: "rp-name" }, indent(level), ul)));
      }
      if (open) {
        shown.forEach(function (j, n) { row(j, level + 1, n + 1, shown.length); });
        const rest = ch.length - shown.length;
        if (rest > 0) {
          let ns = 0;
          for (const j of ch) if (t.t[j] < min) ns += t.t[j];
          const more = el("div", { cls: "rp-row rp-more", role: "none" }, el("span", { cls: "rp-num", text: ms(ns) }), el("span", { cls: "rp-num", text: pct(ns, total) }), el("span"), el("span"));
          more.append(el("span", { cls: "rp-name" }, indent(level), el("span", { cls: "tw" }), el("span", { cls: "fn", text: "… " + rest + " smaller node" + (rest > 1 ? "s" : "") + " under " + (S.threshold * 100) + "%" })));
          frag.append(more);
        }
      }
    }
    t.roots.forEach(function (r, n) { row(r, 1, n + 1, t.roots.length); });
    if (!t.f.length) frag.append(el("p", { cls: "rp-hint", text: "(empty profile: nothing was captured)" }));
    treeBox.replaceChildren(frag);
    treeBox.dataset.rows = rows.length;
    if (S.sel < 0 || rows.indexOf(S.sel) < 0) S.sel = rows.length ? rows[0] : -1;
    const sel = treeBox.querySelector('[data-i="' + S.sel + '"]');
    if (sel) { sel.tabIndex = 0; sel.classList.add("sel"); sel.setAttribute("aria-selected", "true"); if (refocus) { sel.focus({ preventScroll: false }); S.focusTree = true; } }
    if (hits) {
      const shownHits = hits.filter(function (i) { return t.t[i] >= min || t.parent[i] < 0; }).length;
      countOut.textContent = hits.length + " matching frame" + (hits.length === 1 ? "" : "s") + (shownHits < hits.length ? " (" + (hits.length - shownHits) + " under the threshold)" : "");
    } else countOut.textContent = "";
    treeBox.dataset.matches = hits ? hits.length : "";
  }

  // indent is the space before a frame at a depth: it shrinks before the
  // frame's name does on a narrow window.
  function indent(levels) {
    const sp = el("span", { cls: "ind", "aria-hidden": "true" });
    sp.style.width = (Math.min(levels, 40) * 14) + "px";
    return sp;
  }

  function toggle(i, deep) {
    const t = curTree(), set = expandedSet();
    const open = !set.has(i);
    if (deep) { for (let j = i; j < t.end[i]; j++) if (open) set.add(j); else set.delete(j); }
    else if (open) set.add(i); else set.delete(i);
  }
  function onTreeClick(e) {
    const hb = e.target.closest("button.hid");
    if (hb) {
      const i = +hb.dataset.hidden, hs = hiddenSet();
      if (hs.has(i)) hs.delete(i); else hs.add(i);
      S.sel = i;
      drawTree();
      return;
    }
    const r = e.target.closest(".rp-row[data-i]");
    if (!r) return;
    const i = +r.dataset.i;
    S.sel = i;
    if (r.hasAttribute("aria-expanded")) toggle(i, e.altKey);
    S.focusTree = true;
    drawTree();
  }
  function onTreeKey(e) {
    const t = curTree(), set = expandedSet();
    const rows = Array.prototype.map.call(treeBox.querySelectorAll(".rp-row[data-i]"), function (r) { return +r.dataset.i; });
    const at = rows.indexOf(S.sel);
    const hasKids = S.sel >= 0 && t.end[S.sel] > S.sel + 1;
    let handled = true;
    switch (e.key) {
      case "ArrowDown": if (at + 1 < rows.length) S.sel = rows[at + 1]; break;
      case "ArrowUp": if (at > 0) S.sel = rows[at - 1]; break;
      case "Home": S.sel = rows[0]; break;
      case "End": S.sel = rows[rows.length - 1]; break;
      case "ArrowRight":
        if (e.altKey) { toggle(S.sel, false); set.delete(S.sel); toggle(S.sel, true); }
        else if (hasKids && !set.has(S.sel)) set.add(S.sel);
        else if (at + 1 < rows.length && t.parent[rows[at + 1]] === S.sel) S.sel = rows[at + 1];
        break;
      case "ArrowLeft":
        if (e.altKey) { set.add(S.sel); toggle(S.sel, true); }
        else if (hasKids && set.has(S.sel)) set.delete(S.sel);
        else if (t.parent[S.sel] >= 0) S.sel = t.parent[S.sel];
        break;
      case "Enter": case " ": if (hasKids) toggle(S.sel, e.altKey); break;
      case "*": for (const j of (t.parent[S.sel] >= 0 ? kids(t, t.parent[S.sel]) : t.roots)) set.add(j); break;
      case "h": if (t.h[S.sel] >= 0) { const hs = hiddenSet(); if (hs.has(S.sel)) hs.delete(S.sel); else hs.add(S.sel); } break;
      default: handled = false;
    }
    if (!handled) return;
    e.preventDefault();
    S.focusTree = true;
    drawTree();
    const r = treeBox.querySelector('[data-i="' + S.sel + '"]');
    if (r) r.scrollIntoView({ block: "nearest" });
  }

  // --- tooltip -------------------------------------------------------------------

  const tip = el("div", { cls: "rp-tip", role: "tooltip", hidden: true });
  function showTip(e, nodes) {
    tip.replaceChildren.apply(tip, nodes);
    tip.hidden = false;
    const pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
    let x = e.clientX + pad, y = e.clientY + pad;
    if (x + w > window.innerWidth - 4) x = Math.max(4, e.clientX - w - pad);
    if (y + h > window.innerHeight - 4) y = Math.max(4, e.clientY - h - pad);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.hidden = true; }

  // --- flame graph -----------------------------------------------------------------

  let flameBox, crumbs, flameSvg;
  const ROW = 18;
  function makeFlame() {
    crumbs = el("nav", { cls: "rp-crumbs", "aria-label": "Zoom" });
    flameSvg = svg("svg", { class: "rp-flame", role: "img", tabindex: 0, "aria-label": "Flame graph (icicle): click a frame to zoom, Escape to zoom out" });
    flameSvg.addEventListener("click", function (e) {
      const g = e.target.closest("g[data-i]");
      if (!g) return;
      const i = +g.dataset.i;
      S.focus = i === S.focus ? curTree().parent[i] : i;
      drawFlame();
    });
    flameSvg.addEventListener("mousemove", function (e) {
      const g = e.target.closest("g[data-i]");
      if (!g) { hideTip(); return; }
      const t = curTree(), i = +g.dataset.i, f = t.f[i], v = viewData();
      const lines = [el("div", { cls: "t", text: FR[f][0] })];
      if (FR[f][1]) lines.push(el("div", { cls: "d", text: FR[f][1] + ":" + FR[f][2] }));
      lines.push(el("div", { text: dur(t.t[i]) + " · " + pct(t.t[i], v.total) + " of " + v.label + (t.s[i] > 0 && t.end[i] > i + 1 ? " · self " + dur(t.s[i]) : "") }));
      const k = kindOf(f);
      lines.push(el("div", { cls: "d", text: ({ user: "your code", lib: "library code", runtime: "Go runtime", region: "region", sql: "SQL statement", wait: "waiting", syscall: "system call", runnable: "runnable: waiting for a CPU", via: "what the goroutine that ended the wait did meanwhile", reqprof: "the profiler's own work", unsampled: "running, no CPU sample: attributed to the frame above", root: "" })[k] + (t.c[i] > 1 ? " · ×" + t.c[i] : "") + (t.u[i] > 0 && k !== "unsampled" ? " · " + dur(t.u[i]) + " unsampled" : "") }));
      showTip(e, lines);
    });
    flameSvg.addEventListener("mouseleave", hideTip);
    flameSvg.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Backspace") && S.focus >= 0) { e.preventDefault(); S.focus = curTree().parent[S.focus]; drawFlame(); }
    });
    const legend = el("div", { cls: "rp-legend" });
    const present = {};
    for (const f of FR) present[KINDS[f[3]]] = true;
    [["user", "your code"], ["lib", "library"], ["runtime", "runtime"], ["wait", "waiting (by reason)"], ["syscall", "syscall"], ["runnable", "runnable"],
      ["sql", "SQL"], ["region", "region"], ["via", "explained by another goroutine"], ["unsampled", "running, unsampled"]].forEach(function (k) {
      if (!present[k[0]]) return;
      const sw = el("span", { cls: "sw" });
      sw.style.background = KC[k[0]];
      legend.append(el("span", null, sw, k[1]));
    });
    flameBox = el("div", null, el("div", { cls: "rp-hint", text: "Each bar is a frame, as wide as its time, its callees below it. Click a frame to zoom into it, click it again or the path above to zoom out; hover for details." }), legend, crumbs, flameSvg);
    return flameBox;
  }

  function drawFlame() {
    const t = curTree(), v = viewData();
    const W = Math.max(flameBox.clientWidth || 0, 300);
    let nodes = 0, maxDepth = 0;
    flameSvg.replaceChildren();
    // The focus and its ancestors; -1 is the view itself.
    if (S.focus >= t.f.length) S.focus = -1;
    const anc = [];
    for (let p = S.focus; p >= 0; p = t.parent[p]) anc.unshift(p);
    const q = S.query ? S.query.toLowerCase() : "";
    function rect(i, x, y, w, cls) {
      const f = t.f[i], k = kindOf(f);
      const g = svg("g", { "data-i": i, "data-f": f, class: cls || "" });
      g.append(svg("rect", { x: x.toFixed(1), y: y, width: Math.max(w, 0.5).toFixed(1), height: ROW - 1, fill: frameColor(f) }));
      if (w > 28) {
        const maxc = Math.floor((w - 6) / 6.3);
        let s = label(f);
        if (s.length > maxc) s = s.slice(0, Math.max(maxc - 1, 1)) + "…";
        const tx = svg("text", { x: (x + 3).toFixed(1), y: y + 12.5, class: LIGHT[k] ? "dark" : "" });
        tx.textContent = s;
        g.append(tx);
      }
      if (q) g.classList.add(t.lower[i].indexOf(q) >= 0 ? "hit" : "dim");
      flameSvg.append(g);
      nodes++;
    }
    let y = 0;
    for (const a of anc.slice(0, -1)) { rect(a, 0, y, W, "anc"); y += ROW; }
    function layout(i, x, w, y) {
      rect(i, x, y, w, "");
      maxDepth = Math.max(maxDepth, y);
      let cx = x;
      const scale = w / (t.t[i] || 1);
      for (const j of kids(t, i)) {
        const cw = t.t[j] * scale;
        if (cw >= 0.5) layout(j, cx, cw, y + ROW);
        cx += cw;
      }
    }
    if (S.focus >= 0) layout(S.focus, 0, W, y);
    else {
      const total = t.roots.reduce(function (s, r) { return s + t.t[r]; }, 0) || 1;
      let x = 0;
      for (const r of t.roots) { const w = W * t.t[r] / total; if (w >= 0.5) layout(r, x, w, y); x += w; }
    }
    const H = maxDepth + ROW;
    flameSvg.setAttribute("viewBox", "0 0 " + W + " " + H);
    flameSvg.setAttribute("width", W);
    flameSvg.setAttribute("height", H);
    flameSvg.dataset.nodes = nodes;
    // Breadcrumb.
    crumbs.replaceChildren();
    const all = el("button", { type: "button", text: v.label, on: { click: function () { S.focus = -1; drawFlame(); } } });
    if (S.focus < 0) all.setAttribute("aria-current", "true");
    crumbs.append(all);
    anc.forEach(function (a, n) {
      const b = el("button", { type: "button", text: label(t.f[a]), title: FR[t.f[a]][0], on: { click: function () { S.focus = a; drawFlame(); } } });
      if (n === anc.length - 1) b.setAttribute("aria-current", "true");
      crumbs.append(" › ", b);
    });
    if (S.focus >= 0) crumbs.append(el("span", { cls: "rp-hint", text: " " + dur(t.t[S.focus]) + " · " + pct(t.t[S.focus], v.total) }));
  }

  // --- timeline ------------------------------------------------------------------

  const LH = 26, AXIS = 24, REG = 9, SPAN = 11; // lane height, axis, region strip, spans' top
  let tlCanvas, tlLabels, tlShow, tlInfo;
  const TS = { t0: 0, t1: TL.duration || 1, critical: true, spawns: true, wakes: true };
  function makeTimeline() {
    tlLabels = el("div", { cls: "rp-tl-labels", "aria-hidden": "true" });
    tlLabels.append(el("div", { cls: "axis", text: TL.lanes.length + " lane" + (TL.lanes.length === 1 ? "" : "s") }));
    TL.lanes.forEach(function (l) {
      const name = l.n > 1 ? shortFunc(l.entry || "?") + " ×" + l.n : "#" + l.g[0] + " " + (l.root ? M.meta.name + " (root)" : shortFunc(l.entry || "?"));
      tlLabels.append(el("div", { cls: (l.root ? "root" : "") + (l.member ? "" : " out"), title: l.name + (l.n > 1 ? "\ngoroutines " + l.g.join(", ") + (l.n > l.g.length ? ", …" : "") : ""), text: name }));
    });
    tlCanvas = el("canvas", { tabindex: 0, role: "img", "aria-label": "Timeline: one lane per goroutine, coloured by state. Wheel or + and − zoom, drag or ← → pan, 0 resets." });
    const wrap = el("div", { cls: "rp-tl-canvas" }, tlCanvas);
    function box(name, prop, text) {
      const b = el("input", { type: "checkbox", id: "rp-tl-" + name, checked: TS[prop], on: { change: function () { TS[prop] = b.checked; drawTimeline(); } } });
      return el("label", { for: "rp-tl-" + name }, b, text);
    }
    const legend = el("div", { cls: "rp-legend" });
    const codes = [0, 1, 2, 3].concat(TL.reasons.map(function (_, i) { return i + 4; }));
    for (const c of codes) {
      const sw = el("span", { cls: "sw" });
      sw.style.background = codeColor(c);
      legend.append(el("span", null, sw, codeLabel(c)));
    }
    const rsw = el("span", { cls: "sw" }); rsw.style.background = KC.sql;
    legend.append(el("span", null, rsw, "region / SQL (strip on top)"));
    tlInfo = el("span", { cls: "rp-count" });
    tlShow = el("div", { cls: "rp-bar" },
      el("span", { cls: "rp-zoom" },
        el("button", { type: "button", text: "+", "aria-label": "zoom in", on: { click: function () { zoom(0.5, 0.5); } } }), " ",
        el("button", { type: "button", text: "−", "aria-label": "zoom out", on: { click: function () { zoom(2, 0.5); } } }), " ",
        el("button", { type: "button", text: "reset", on: { click: function () { TS.t0 = 0; TS.t1 = TL.duration || 1; drawTimeline(); } } })),
      box("crit", "critical", "critical path"), box("spawn", "spawns", "spawns"), box("wake", "wakes", "wake-ups"), tlInfo);
    tlCanvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      const r = tlCanvas.getBoundingClientRect(), at = (e.clientX - r.left) / r.width;
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.deltaX || e.deltaY) / r.width);
      else zoom(Math.pow(1.0015, e.deltaY), at);
    }, { passive: false });
    let drag = null;
    tlCanvas.addEventListener("pointerdown", function (e) { drag = { x: e.clientX, t0: TS.t0, t1: TS.t1 }; tlCanvas.setPointerCapture(e.pointerId); tlCanvas.classList.add("drag"); });
    tlCanvas.addEventListener("pointermove", function (e) {
      if (drag) {
        const r = tlCanvas.getBoundingClientRect(), dt = (e.clientX - drag.x) / r.width * (drag.t1 - drag.t0);
        setWindow(drag.t0 - dt, drag.t1 - dt);
        hideTip();
        return;
      }
      hoverTimeline(e);
    });
    tlCanvas.addEventListener("pointerup", function () { drag = null; tlCanvas.classList.remove("drag"); });
    tlCanvas.addEventListener("pointerleave", hideTip);
    tlCanvas.addEventListener("keydown", function (e) {
      const k = e.key;
      if (k === "+" || k === "=") zoom(0.5, 0.5);
      else if (k === "-" || k === "_") zoom(2, 0.5);
      else if (k === "ArrowLeft") pan(-0.1);
      else if (k === "ArrowRight") pan(0.1);
      else if (k === "0" || k === "Home") { TS.t0 = 0; TS.t1 = TL.duration || 1; drawTimeline(); }
      else return;
      e.preventDefault();
    });
    return el("div", null, tlShow, legend,
      el("div", { cls: "rp-hint", text: "One lane per goroutine (same-entry goroutines grouped ×N, drawn as how many were in each state); the strip on top of a lane is a region; dark outline: the critical path; green arrows: spawns; blue arrows: wake-ups. Wheel or +/− zoom, drag or ←/→ pan, 0 resets." }),
      el("div", { cls: "rp-tl" }, tlLabels, wrap));
  }
  function setWindow(t0, t1) {
    const D = TL.duration || 1, w = Math.max(t1 - t0, Math.min(D, 1000));
    t0 = Math.max(0, Math.min(t0, D - w));
    TS.t0 = t0; TS.t1 = Math.min(D, t0 + w);
    drawTimeline();
  }
  function zoom(f, at) {
    const w = TS.t1 - TS.t0, c = TS.t0 + at * w, nw = w * f;
    setWindow(c - at * nw, c - at * nw + nw);
  }
  function pan(frac) { const w = TS.t1 - TS.t0; setWindow(TS.t0 + frac * w, TS.t1 + frac * w); }

  // first returns the first index of sorted-by-start spans that ends after t.
  function first(l, t) {
    let lo = 0, hi = l.s.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (l.s[m] + l.d[m] <= t) lo = m + 1; else hi = m; }
    return lo;
  }
  function niceStep(span, px) {
    const raw = span / Math.max(px / 110, 1);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawTimeline() {
    const W = Math.max(tlCanvas.parentElement.clientWidth || 0, 200);
    const H = AXIS + TL.lanes.length * LH;
    const dpr = window.devicePixelRatio || 1;
    tlCanvas.width = Math.round(W * dpr);
    tlCanvas.height = Math.round(H * dpr);
    tlCanvas.style.height = H + "px";
    const c = tlCanvas.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, W, H);
    const t0 = TS.t0, t1 = TS.t1, sc = W / (t1 - t0);
    const X = function (t) { return (t - t0) * sc; };
    // Axis.
    c.fillStyle = "#f6f7fa"; c.fillRect(0, 0, W, AXIS);
    c.font = "11px system-ui, sans-serif"; c.textBaseline = "middle";
    const step = niceStep(t1 - t0, W);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = Math.round(X(t)) + 0.5;
      c.fillStyle = "#e2e5ec"; c.fillRect(x, AXIS, 1, H - AXIS);
      const txt = dur(t);
      if (x + 3 + c.measureText(txt).width < W) { c.fillStyle = "#5f6878"; c.fillText(txt, x + 3, AXIS / 2); }
    }
    let drawn = 0, inView = 0, buckets = 0;
    TL.lanes.forEach(function (l, li) {
      const y = AXIS + li * LH;
      if (li % 2) { c.fillStyle = "rgba(0,0,0,0.018)"; c.fillRect(0, y, W, LH); }
      const top = y + SPAN, h = LH - SPAN - 2;
      if (l.s) {
        let px = -1, pxCode = 0, pxBest = 0;
        const flush = function () { if (px >= 0) { c.fillStyle = codeColor(pxCode); c.fillRect(px, top, 1, h); drawn++; } px = -1; pxBest = 0; };
        for (let i = first(l, t0); i < l.s.length && l.s[i] < t1; i++) {
          inView++;
          const x0 = X(Math.max(l.s[i], t0)), x1 = X(Math.min(l.s[i] + l.d[i], t1));
          if (x1 - x0 >= 1) {
            flush();
            c.fillStyle = codeColor(l.k[i]);
            c.fillRect(x0, top, x1 - x0, h);
            drawn++;
            continue;
          }
          const p = Math.floor(x0);
          if (p !== px) { flush(); px = p; }
          if (l.d[i] > pxBest) { pxBest = l.d[i]; pxCode = l.k[i]; }
        }
        flush();
      } else if (l.density) {
        const b0 = Math.max(0, Math.floor(t0 / l.b)), b1 = Math.min(l.density[0].length, Math.ceil(t1 / l.b));
        const order = [0, 1, 3, 2], colors = [codeColor(0), KC.runnable, KC.wait, KC.syscall];
        for (let b = b0; b < b1; b++) {
          const x0 = X(b * l.b), x1 = Math.max(X((b + 1) * l.b), x0 + 1);
          let yy = top + h;
          for (const k of order) {
            const share = l.density[k][b] / (l.b * l.n);
            if (share <= 0) continue;
            const hh = Math.max(share * h, 0.5);
            c.fillStyle = colors[k];
            c.fillRect(x0, yy - hh, x1 - x0, hh);
            yy -= hh;
            drawn++;
          }
          buckets++;
        }
      }
    });
    // Regions: a strip on top of their lane.
    let regions = 0;
    for (let i = 0; i < TL.regions.l.length; i++) {
      const s = TL.regions.s[i], e = TL.regions.e[i];
      if (e < t0 || s > t1) continue;
      const x0 = X(Math.max(s, t0)), x1 = Math.max(X(Math.min(e, t1)), x0 + 1), y = AXIS + TL.regions.l[i] * LH + 1;
      c.fillStyle = frameColor(TL.regions.f[i]);
      c.fillRect(x0, y, x1 - x0, REG);
      if (x1 - x0 > 40) {
        c.save();
        c.beginPath(); c.rect(x0, y, x1 - x0, REG); c.clip();
        c.fillStyle = "#fff"; c.font = "9px system-ui, sans-serif"; c.textBaseline = "middle";
        c.fillText(FR[TL.regions.f[i]][0].replace(/\s+/g, " "), x0 + 3, y + REG / 2 + 0.5);
        c.restore();
      }
      regions++;
    }
    // The critical path: outlined stretches and the hops between lanes.
    let crit = 0;
    if (TS.critical) {
      const C = TL.critical;
      c.strokeStyle = "#1d2330"; c.lineWidth = 1.6;
      for (let i = 0; i < C.l.length; i++) {
        if (C.e[i] < t0 || C.s[i] > t1) continue;
        const x0 = X(Math.max(C.s[i], t0)), x1 = X(Math.min(C.e[i], t1)), y = AXIS + C.l[i] * LH + SPAN - 1;
        c.strokeRect(x0, y, Math.max(x1 - x0, 1), LH - SPAN);
        crit++;
        if (i > 0 && C.l[i - 1] !== C.l[i] && C.s[i] >= t0) {
          const ya = AXIS + C.l[i - 1] * LH + LH / 2, yb = AXIS + C.l[i] * LH + LH / 2;
          c.setLineDash([3, 2]);
          c.beginPath(); c.moveTo(x0, ya); c.lineTo(x0, yb); c.stroke();
          c.setLineDash([]);
        }
      }
    }
    // Spawn and wake-up arrows.
    let edges = 0;
    const E = TL.edges;
    for (let i = 0; i < E.k.length; i++) {
      if ((E.k[i] === 0 && !TS.spawns) || (E.k[i] === 1 && !TS.wakes)) continue;
      if (E.t[i] < t0 || E.t[i] > t1) continue;
      const x = X(E.t[i]) + 0.5, ya = AXIS + E.from[i] * LH + LH / 2, yb = AXIS + E.to[i] * LH + LH / 2;
      c.strokeStyle = E.k[i] === 0 ? "#2f8f46" : "#4a64a8";
      c.fillStyle = c.strokeStyle;
      c.lineWidth = 1;
      c.beginPath(); c.moveTo(x, ya); c.lineTo(x, yb); c.stroke();
      const d = yb > ya ? -1 : 1;
      c.beginPath(); c.moveTo(x, yb); c.lineTo(x - 3, yb + 5 * d); c.lineTo(x + 3, yb + 5 * d); c.closePath(); c.fill();
      edges++;
    }
    const ds = tlCanvas.dataset;
    ds.lanes = TL.lanes.length; ds.drawn = drawn; ds.spans = inView; ds.buckets = buckets; ds.regions = regions; ds.edges = edges; ds.critical = crit;
    ds.t0 = Math.round(t0); ds.t1 = Math.round(t1);
    tlInfo.textContent = "showing " + dur(t0) + " – " + dur(t1) + (TL.bucket ? " · resampled: stretches under " + dur(TL.bucket) + " merged" : "");
  }

  function hoverTimeline(e) {
    const r = tlCanvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const li = Math.floor((y - AXIS) / LH);
    const l = TL.lanes[li];
    if (!l || y < AXIS) { hideTip(); return; }
    const t = TS.t0 + x / r.width * (TS.t1 - TS.t0);
    const lines = [el("div", { cls: "t", text: l.name + (l.n > 1 && !l.member ? " (outside the work)" : "") }), el("div", { cls: "d", text: "at " + dur(t) })];
    const yin = y - AXIS - li * LH;
    if (yin < SPAN) {
      for (let i = 0; i < TL.regions.l.length; i++) {
        if (TL.regions.l[i] === li && TL.regions.s[i] <= t && t < TL.regions.e[i]) {
          lines.push(el("div", { text: kindOf(TL.regions.f[i]) === "sql" ? "SQL" : "region" }), el("div", { cls: "t", text: FR[TL.regions.f[i]][0] }), el("div", { cls: "d", text: dur(TL.regions.e[i] - TL.regions.s[i]) + " from " + dur(TL.regions.s[i]) }));
          showTip(e, lines);
          return;
        }
      }
    }
    if (l.s) {
      const i = first(l, t);
      if (i >= l.s.length || l.s[i] > t) { hideTip(); return; }
      lines.push(el("div", { text: codeLabel(l.k[i]) + " · " + dur(l.d[i]) + " (" + dur(l.s[i]) + " – " + dur(l.s[i] + l.d[i]) + ")" }));
      const C = TL.critical;
      for (let j = 0; j < C.l.length; j++) if (C.l[j] === li && C.s[j] <= t && t < C.e[j]) { lines.push(el("div", { cls: "d", text: "on the critical path" })); break; }
      const frames = [];
      for (let p = l.p[i]; p > 0; p = TL.paths.p[p]) frames.push(TL.paths.f[p]);
      if (frames.length) {
        const ol = el("ol");
        frames.slice(0, 14).forEach(function (f) { ol.append(el("li", { cls: kindOf(f) === "wait" || kindOf(f) === "syscall" || kindOf(f) === "runnable" ? "p" : "", text: label(f) + (place(f) ? "  " + place(f) : "") })); });
        if (frames.length > 14) ol.append(el("li", { text: "… " + (frames.length - 14) + " more" }));
        lines.push(ol);
      }
    } else if (l.density) {
      const b = Math.floor(t / l.b);
      const names = ["running", "runnable", "waiting", "syscall"];
      const parts = [];
      for (let k = 0; k < 4; k++) { const v = l.density[k][b] || 0; if (v > 0) parts.push(names[k] + " " + (v / l.b).toFixed(1)); }
      lines.push(el("div", { text: l.n + " goroutines · " + (parts.join(", ") || "none alive") + " (average goroutines in each state over " + dur(l.b) + ")" }));
    }
    showTip(e, lines);
  }

  // --- top functions ---------------------------------------------------------------

  let topBox;
  const TOPSORT = {};
  function makeTop() { topBox = el("div"); return topBox; }
  function drawTop() {
    const v = viewData(), top = M.top[v.top], total = v.total;
    topBox.replaceChildren(el("p", { cls: "rp-hint", text: "For " + (v.top === "critical" ? "the critical path" : "all goroutines' time") + ". A function's total counts each stack once, however deep the recursion; self is its own running time." }));
    const grid = el("div", { cls: "rp-tops" });
    function table(id, title, rows, cols) {
      const st = TOPSORT[id] || (TOPSORT[id] = { col: cols.findIndex(function (c) { return c.dflt; }), asc: false });
      const sorted = rows.slice().sort(function (a, b) {
        const c = cols[st.col], x = c.v(a), y = c.v(b);
        const r = typeof x === "string" ? x.localeCompare(y) : x - y;
        return st.asc ? r : -r;
      });
      const tb = el("table", { cls: "rp-table", id: "rp-top-" + id });
      const tr = el("tr");
      cols.forEach(function (c, ci) {
        const th = el("th", { cls: c.num ? "n" : "", scope: "col", "aria-sort": ci === st.col ? (st.asc ? "ascending" : "descending") : null });
        th.append(el("button", { type: "button", text: c.name, on: { click: function () { if (st.col === ci) st.asc = !st.asc; else { st.col = ci; st.asc = !c.num; } drawTop(); } } }));
        tr.append(th);
      });
      tb.append(el("thead", null, tr));
      const body = el("tbody");
      for (const r of sorted.slice(0, 100)) {
        const row = el("tr");
        cols.forEach(function (c) {
          if (c.num) { row.append(el("td", { cls: "n", text: c.fmt(r) })); return; }
          const sw = el("span", { cls: "sw" });
          sw.style.background = frameColor(r[0]);
          row.append(el("td", { title: FR[r[0]][0] + (FR[r[0]][1] ? "\n" + FR[r[0]][1] : "") }, sw, label(r[0])));
        });
        body.append(row);
      }
      if (!rows.length) body.append(el("tr", null, el("td", { colspan: cols.length, cls: "rp-hint", text: "none" })));
      tb.append(body);
      grid.append(el("section", null, el("h3", { text: title }), tb));
    }
    const name = { name: "name", v: function (r) { return label(r[0]); } };
    const self = { name: "self", num: true, v: function (r) { return r[1]; }, fmt: function (r) { return dur(r[1]); } };
    const selfp = { name: "self %", num: true, v: function (r) { return r[1]; }, fmt: function (r) { return pct(r[1], total); } };
    const tot = { name: "total", num: true, v: function (r) { return r[2]; }, fmt: function (r) { return dur(r[2]); } };
    const totp = { name: "total %", num: true, v: function (r) { return r[2]; }, fmt: function (r) { return pct(r[2], total); } };
    const cnt = { name: "count", num: true, v: function (r) { return r[3]; }, fmt: function (r) { return String(r[3]); } };
    table("funcs", "Functions", top.funcs, [Object.assign({}, name, { name: "function" }), Object.assign({ dflt: true }, self), selfp, tot, totp]);
    table("waits", "Waits, by reason (and other states)", top.waits, [Object.assign({}, name, { name: "state" }), Object.assign({ dflt: true }, tot), totp, cnt]);
    table("regions", "SQL statements and regions", top.regions, [Object.assign({}, name, { name: "statement / region" }), Object.assign({ dflt: true }, tot), totp, cnt]);
    if (top.via.length) table("via", "Waits explained by other goroutines", top.via, [Object.assign({}, name, { name: "goroutine" }), Object.assign({ dflt: true }, tot), totp, cnt]);
    topBox.append(grid);
    if (top.cut) topBox.append(el("p", { cls: "rp-hint", text: top.cut + " smaller rows are not embedded." }));
  }

  // --- assembly ----------------------------------------------------------------------

  function panel(name, content) {
    const p = el("section", { cls: "rp-panel", id: "rp-panel-" + name, role: "tabpanel", "aria-labelledby": "rp-tab-" + name }, content);
    panels[name] = p;
    return p;
  }

  let raf = 0;
  function draw() {
    sync();
    if (S.tab === "tree") drawTree();
    else if (S.tab === "flame") drawFlame();
    else if (S.tab === "timeline") drawTimeline();
    else if (S.tab === "top") drawTop();
  }

  function init() {
    const frag = document.createDocumentFragment();
    frag.append(header(), tabs(), makeToolbar(), panel("tree", makeTree()), panel("flame", makeFlame()));
    if (!M.set) frag.append(panel("timeline", makeTimeline()));
    frag.append(panel("top", makeTop()));
    host.append(frag);
    document.body.append(tip);
    const want = (location.hash || "").replace("#", "");
    setTab(TABS.some(function (t) { return t[0] === want; }) ? want : "tree");
    window.addEventListener("resize", function () {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(function () { if (S.tab === "flame") drawFlame(); if (S.tab === "timeline") drawTimeline(); });
    });
    window.addEventListener("beforeprint", function () { drawTree(); drawFlame(); if (!M.set) drawTimeline(); drawTop(); });
    document.documentElement.dataset.reqprofReadyMs = Math.round(performance.now());
    document.documentElement.dataset.reqprofReady = "1";
  }

  try {
    init();
  } catch (err) {
    host.append(el("p", { cls: "rp-notes", text: "reqprof: the report failed to draw: " + err }));
    throw err;
  }
})();
