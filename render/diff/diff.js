"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function dur(ns) {
    const a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + "ns";
    if (a < 1e6) return (ns / 1e3).toFixed(1) + "µs";
    if (a < 1e9) return (ns / 1e6).toFixed(2) + "ms";
    return (ns / 1e9).toFixed(3) + "s";
  }
  function signed(ns) {
    const r = Math.round(ns);
    return r > 0 ? "+" + dur(r) : r < 0 ? "-" + dur(-r) : "0";
  }
  function rel(a, b) {
    if (a > 0 && b === 0) return "gone";
    if (a > 0) { const p = (100 * (b - a)) / a; return (p >= 0 ? "+" : "") + p.toFixed(1) + "%"; }
    if (b > 0) return "new";
    return "";
  }
  function cls(a, b) { return b > a ? "slower" : b < a ? "faster" : ""; }
  // color: red when slower, blue when faster, stronger the larger the
  // relative change (saturating at 100%), grey when unchanged.
  function color(a, b) {
    const d = b - a;
    if (Math.round(d) === 0) return "hsl(0, 0%, 88%)";
    const r = a > 0 ? Math.min(Math.abs(d) / a, 1) : 1;
    const light = 92 - 42 * Math.sqrt(r);
    return d > 0 ? `hsl(4, 80%, ${light}%)` : `hsl(214, 82%, ${light}%)`;
  }
  function name(n) { return n.f ? n.n + "  " + n.f : n.n; }
  function details(n) {
    let s = name(n) + "\n";
    s += `before ${dur(n.a)} per request (self ${dur(n.as)}), after ${dur(n.b)} (self ${dur(n.bs)}): ${signed(n.b - n.a)} ${rel(n.a, n.b)}`;
    if (n.known) {
      const na = data.sides[0].n, nb = data.sides[1].n;
      s += `\nreached in ${n.ar} of ${na} requests before` + (n.ar ? `, median ${dur(n.am)}` : "");
      s += `; in ${n.br} of ${nb} after` + (n.br ? `, median ${dur(n.bm)}` : "");
    }
    return s;
  }

  // Summary.
  (function summary() {
    const [A, B] = data.sides;
    const t = el("table", "num");
    const head = el("tr");
    for (const h of ["", "before", "after", "change", ""]) head.appendChild(el("th", h === "" ? "name" : "", h));
    t.appendChild(head);
    const row = (label, a, b, plain) => {
      const tr = el("tr");
      tr.appendChild(el("td", "name", label));
      tr.appendChild(el("td", "", plain ? String(a) : dur(a)));
      tr.appendChild(el("td", "", plain ? String(b) : dur(b)));
      tr.appendChild(el("td", plain ? "" : cls(a, b), plain ? "" : signed(b - a)));
      tr.appendChild(el("td", plain ? "" : cls(a, b), plain ? "" : rel(a, b)));
      t.appendChild(tr);
    };
    row("profiles of", A.title, B.title, true);
    row("requests", A.n, B.n, true);
    row("duration mean", A.mean, B.mean);
    row("duration p50", A.p50, B.p50);
    row("duration p90", A.p90, B.p90);
    row("duration p99", A.p99, B.p99);
    row("duration max", A.max, B.max);
    row("CPU per request", A.cpu, B.cpu);
    row("waiting per request", A.waiting, B.waiting);
    for (const w of data.waits) row("  wait: " + w.r, w.a, w.b);
    $("summary").appendChild(t);
    $("type").textContent = data.type + ", per request" + (data.pruned ? ` (${data.pruned} nodes under ${data.minShare} of the total not shown)` : "");
  })();

  // Flame graph, top down, zoomable.
  const ROW = 19;
  let zoom = [data.root];
  function width(n) { return (n.a + n.b) / 2; }
  function drawFlame() {
    const flame = $("flame");
    flame.textContent = "";
    const root = zoom[zoom.length - 1];
    let depth = 0;
    const draw = (n, x, w, d) => {
      if (w < 0.0015) return;
      depth = Math.max(depth, d);
      const div = el("div", n.k ? "pseudo" : "", n.n + "  " + signed(n.b - n.a) + " " + rel(n.a, n.b));
      div.style.left = (100 * x) + "%";
      div.style.width = (100 * w) + "%";
      div.style.top = (d * ROW) + "px";
      div.style.background = color(n.a, n.b);
      div.title = details(n);
      div.addEventListener("mouseenter", () => { $("detail").textContent = details(n); });
      div.addEventListener("click", () => {
        if (n === root && zoom.length > 1) zoom.pop();
        else if (n !== root) zoom.push(n);
        drawFlame();
      });
      flame.appendChild(div);
      let cx = x;
      for (const c of n.c || []) {
        const cw = (w * width(c)) / (width(n) || 1);
        draw(c, cx, cw, d + 1);
        cx += cw;
      }
    };
    draw(root, 0, 1, 0);
    flame.style.height = ((depth + 1) * ROW + 2) + "px";
    const crumbs = $("crumbs");
    crumbs.textContent = "";
    zoom.forEach((z, i) => {
      if (i > 0) crumbs.appendChild(document.createTextNode(" › "));
      if (i === zoom.length - 1) { crumbs.appendChild(document.createTextNode(z.n)); return; }
      const a = el("a", "", z.n);
      a.addEventListener("click", () => { zoom = zoom.slice(0, i + 1); drawFlame(); });
      crumbs.appendChild(a);
    });
  }
  drawFlame();

  // Call tree table: rows expand on demand.
  const tbody = document.querySelector("#tree tbody");
  function treeRow(n, depth, after) {
    const tr = el("tr");
    const td = el("td", "name");
    td.style.paddingLeft = (10 + 16 * depth) + "px";
    const kids = n.c || [];
    const btn = el("button", "", kids.length ? "▸" : "");
    btn.setAttribute("aria-expanded", "false");
    if (!kids.length) btn.disabled = true;
    td.appendChild(btn);
    td.appendChild(el("span", n.k ? "pseudo" : "", name(n)));
    tr.appendChild(td);
    tr.appendChild(el("td", "", dur(n.a)));
    tr.appendChild(el("td", "", dur(n.b)));
    tr.appendChild(el("td", cls(n.a, n.b), signed(n.b - n.a)));
    tr.appendChild(el("td", cls(n.a, n.b), rel(n.a, n.b)));
    tr.appendChild(el("td", "", n.known ? `${n.ar} → ${n.br}` : ""));
    tr.appendChild(el("td", "", n.known ? `${n.ar ? dur(n.am) : "–"} → ${n.br ? dur(n.bm) : "–"}` : ""));
    tr.title = details(n);
    if (after) after.after(tr); else tbody.appendChild(tr);
    let open = [];
    btn.addEventListener("click", () => {
      if (open.length) {
        for (const r of open) r.remove();
        open = [];
        btn.textContent = "▸";
        btn.setAttribute("aria-expanded", "false");
        return;
      }
      let last = tr;
      for (const c of kids) {
        const rows = treeRow(c, depth + 1, last);
        open.push(...rows);
        last = rows[rows.length - 1];
      }
      btn.textContent = "▾";
      btn.setAttribute("aria-expanded", "true");
    });
    // The removal of a row must take its open descendants along.
    const self = [tr];
    const origRemove = tr.remove.bind(tr);
    tr.remove = () => { for (const r of open) r.remove(); open = []; origRemove(); };
    return self;
  }
  const rootRows = treeRow(data.root, 0, null);
  rootRows[0].querySelector("button").click();

  // Functions.
  const fbody = document.querySelector("#funcs tbody");
  for (const f of data.funcs) {
    const tr = el("tr");
    tr.appendChild(el("td", "name" + (f.k ? " pseudo" : ""), name(f)));
    tr.appendChild(el("td", "", dur(f.as)));
    tr.appendChild(el("td", "", dur(f.bs)));
    tr.appendChild(el("td", cls(f.as, f.bs), signed(f.bs - f.as)));
    tr.appendChild(el("td", cls(f.as, f.bs), rel(f.as, f.bs)));
    tr.appendChild(el("td", "", dur(f.ac)));
    tr.appendChild(el("td", "", dur(f.bc)));
    fbody.appendChild(tr);
  }
})();
