// blockscope's HTML report: findings, a timeline of blocking, and charts
// per primitive, drawn from the JSON document embedded in the page. No
// library, no network.
(function () {
  'use strict';

  const D = JSON.parse(document.getElementById('blockscope-data').textContent);
  // One timeline per trace; the page shows the one the address names
  // (#trace=N), the first by default.
  const HASH = new URLSearchParams(location.hash.slice(1));
  const TRACE = Math.min(Math.max(parseInt(HASH.get('trace') || '0', 10) || 0, 0), Math.max(D.timelines.length - 1, 0));
  const T = D.timelines[TRACE] || { path: '', timeline: { end_ns: 1, merged_below_ns: 0, reasons: [], ops: [], objects: [], frames: [], stacks: [], groups: [] }, locks: [], semaphores: [], singleflight: [], left_out: [] };
  const TL = T.timeline;
  const END = Math.max(TL.end_ns, 1);

  // ---------- helpers ----------

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids.flat()) {
      if (k === null || k === undefined || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  // fmtDur formats nanoseconds with three significant figures.
  function fmtDur(ns) {
    const a = Math.abs(ns);
    const f = (v, u) => {
      let s = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
      if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
      return s + u;
    };
    if (a >= 1e9) return f(ns / 1e9, 's');
    if (a >= 1e6) return f(ns / 1e6, 'ms');
    if (a >= 1e3) return f(ns / 1e3, 'µs');
    return Math.round(ns) + 'ns';
  }
  function base(file) { return file ? file.slice(file.lastIndexOf('/') + 1) : ''; }
  function shortLoc(f) { return f && f.file ? base(f.file) + ':' + f.line : (f && f.func) || '-'; }
  function shortFunc(fn) {
    if (!fn) return '';
    const slash = fn.lastIndexOf('/');
    return fn.slice(slash + 1);
  }
  // shortSite shortens the paths in a site's or a lock's name: packages
  // to their last element, files to their base name.
  function shortSite(s) {
    return s.replace(/(?:[\w.~-]+\/)+([\w-]+\.)/g, '$1').replace(/\S*\/([^\/\s]+:\d+)/g, '$1');
  }
  // siteLabel puts first what tells sites apart in a narrow column:
  // "go pkg.(*T).f at /x/y/file.go:12" → "file.go:12 · go (*T).f".
  function siteLabel(s) {
    const m = /^go (.*) at (\S+)$/.exec(s);
    if (!m) return shortSite(s);
    const fn = shortFunc(m[1]);
    return base(m[2]) + ' · go ' + fn.slice(fn.indexOf('.') + 1);
  }
  function plural(n, w) { return n === 1 ? '1 ' + w : n + ' ' + w + 's'; }

  // Frames of blockscope's annotation encoder and runtime/trace top every
  // primitive's stack: the page hides them, as the text report does.
  function trimStack(frames) {
    let i = 0;
    while (i < frames.length - 1 && (frames[i].func.startsWith('runtime/trace.') || frames[i].func.includes('blockscope/internal/wire.'))) i++;
    return frames.slice(i);
  }
  // stackView shows a stack; given userFrame (a finding's user_frame),
  // from the user's code on, its first frame in bold, the frames inside it
  // (the runtime's, sync's, blockscope's primitives') counted in a
  // collapsed row.
  function stackView(frames, cls, userFrame) {
    const box = el('div', { class: cls || 'stack' });
    frames = frames || [];
    const row = (f, c) => el('div', { class: c },
      el('div', { class: 'fn', text: f.func }),
      el('div', { class: 'file', text: f.file + ':' + f.line }));
    const from = userFrame > 0 && userFrame < frames.length ? userFrame : 0;
    if (from > 0) {
      const inner = trimStack(frames.slice(0, from));
      const hidden = el('details', { class: 'inner' },
        el('summary', { class: 'dim', text: inner.length + (inner.length === 1 ? ' inner frame' : ' inner frames') + ' (runtime, sync, blockscope\'s primitives)' }));
      for (const f of inner) hidden.append(row(f, 'dim'));
      box.append(hidden);
    }
    (from > 0 ? frames.slice(from) : trimStack(frames)).forEach((f, i) => box.append(row(f, i === 0 ? 'user' : '')));
    return box;
  }
  function stackFrames(i) {
    if (i < 0 || !TL.stacks[i]) return [];
    return TL.stacks[i].map(j => TL.frames[j]);
  }

  // ---------- colours ----------

  const REASON_COLORS = {
    'chan send': '#3b82f6', 'chan receive': '#06b6d4', 'select': '#8b5cf6',
    'sync': '#ef4444', 'sync.(*Cond).Wait': '#f97316', 'forever': '#7f1d1d',
    'sleep': '#b8c0cc', 'network': '#10b981', 'system goroutine wait': '#d1d5db',
    'unknown': '#9ca3af',
  };
  function reasonColor(r) {
    if (REASON_COLORS[r]) return REASON_COLORS[r];
    let h = 0;
    for (const c of r) h = (h * 31 + c.charCodeAt(0)) % 360;
    return 'hsl(' + h + ',55%,55%)';
  }
  const PRIM_COLORS = {
    mutex: '#b91c1c', rwmutex: '#c2410c', rmutex: '#9a3412', cond: '#a16207', once: '#4d7c0f',
    onceerr: '#4d7c0f', wg: '#0f766e', sema: '#1d4ed8', sf: '#7e22ce', eg: '#be185d', chan: '#0369a1',
  };
  const reasonColors = TL.reasons.map(reasonColor);

  // ---------- header ----------

  function header() {
    const sev = { error: 0, warning: 0, info: 0 };
    for (const f of D.findings) sev[f.severity] = (sev[f.severity] || 0) + 1;
    const box = document.getElementById('trace-summary');
    const t = D.traces[TRACE] || D.traces[0];
    if (D.traces.length > 1) box.append(el('span', {}, el('b', { text: D.traces.length }), ' traces'));
    if (t) {
      const p = t.program || t;
      box.append(
        el('span', { class: 'path', text: t.path }),
        el('span', {}, 'Go ', el('b', { text: t.go_version || '?' })),
        el('span', {}, el('b', { text: fmtDur(t.duration_ns) })),
        el('span', {}, el('b', { text: p.goroutines }), ' goroutines (', p.goroutines_created, ' created, ', p.goroutines_exited, ' exited, ', el('b', { text: p.goroutines_blocked_at_end }), ' blocked at end)'),
        el('span', {}, el('b', { text: t.events }), ' events'));
    }
    box.append(el('span', {}, el('b', { text: D.findings.length }), ' findings', D.findings.length ? ' (' + ['error', 'warning', 'info'].filter(s => sev[s]).map(s => sev[s] + ' ' + s).join(', ') + ')' : ''));
    const notices = document.getElementById('notices');
    D.traces.forEach(tr => {
      if (!tr.complete) notices.append(el('div', { class: 'notice warn' }, el('b', { text: 'Incomplete trace ' + tr.path + ': ' }), tr.error || 'the trace was not read whole', '. This report covers only what was read.'));
      for (const w of tr.warnings || []) notices.append(el('div', { class: 'notice warn', text: 'warning: ' + w }));
    });
  }

  // ---------- findings ----------

  function findings() {
    const list = document.getElementById('finding-list');
    if (D.findings.length === 0) {
      list.append(el('div', { class: 'notice ok', text: 'No findings: nothing leaked, deadlocked or waited past the thresholds.' }));
      return;
    }
    // errors first, then warnings, then the rest, each in the report's order
    const rank = { error: 0, warning: 1 };
    const order = D.findings.map((f, i) => i).sort((a, b) => ((rank[D.findings[a].severity] ?? 2) - (rank[D.findings[b].severity] ?? 2)) || a - b);
    order.forEach((i, pos) => {
      const f = D.findings[i];
      const gotoBtn = el('button', {
        type: 'button', class: 'goto', 'data-finding': i, title: 'Show its goroutines on the timeline',
        onclick: ev => { ev.preventDefault(); ev.stopPropagation(); showFinding(i); },
      }, 'Show on timeline →');
      const summary = el('summary', {},
        el('span', { class: 'sev', text: f.severity }),
        el('span', { class: 'kind', text: f.kind + (f.confidence ? ' (' + f.confidence + ')' : '') }),
        el('span', { class: 'loc', text: shortLoc(f.location) + ' · ' + plural(f.goroutines.length, 'goroutine') + (f.duration_ns ? ' · ' + fmtDur(f.duration_ns) : '') + (D.traces.length > 1 ? ' · ' + plural((f.traces || []).length, 'trace') : '') }),
        gotoBtn,
        el('span', { class: 'msg', text: f.message }));
      const body = el('div', { class: 'finding-body' });
      if (f.hint) body.append(el('div', { class: 'hint' }, el('b', { text: 'Hint: ' }), f.hint));
      body.append(el('div', { class: 'meta' },
        el('span', { text: 'evidence: ' + f.evidence }),
        f.reason ? el('span', { text: 'reason: ' + f.reason }) : null,
        f.test ? el('span', { text: 'test: ' + f.test }) : null,
        f.object ? el('span', { text: 'object: ' + f.object }) : null,
        f.total_ns ? el('span', { text: 'total: ' + fmtDur(f.total_ns) }) : null));
      const gs = el('div', { class: 'meta' }, 'goroutines: ');
      f.goroutines.slice(0, 40).forEach((g, k) => { if (k) gs.append(', '); gs.append(glink(g)); });
      if (f.goroutines.length > 40) gs.append(' … (' + (f.goroutines.length - 40) + ' more)');
      body.append(gs);
      if (f.stats && Object.keys(f.stats).length) {
        const tb = el('table', { class: 'stats' });
        for (const k of Object.keys(f.stats).sort()) {
          const v = f.stats[k];
          tb.append(el('tr', {}, el('th', { text: k }), el('td', { class: 'num', text: k.endsWith('_ns') ? fmtDur(v) : v })));
        }
        body.append(tb);
      }
      body.append(el('h3', { text: 'Stack at ' + shortLoc(f.location) }), stackView(f.stack, undefined, f.user_frame));
      if (f.related && f.related.length) {
        body.append(el('h3', { text: 'Related goroutines' }));
        for (const r of f.related) {
          body.append(el('details', { class: 'related' },
            el('summary', {}, el('b', { text: r.role }), r.goroutine ? [' ', glink(r.goroutine)] : '', ' at ', el('span', { class: 'loc', text: shortLoc(r.location) + ' ' + shortFunc(r.location.func) })),
            stackView(r.stack, undefined, r.user_frame)));
        }
      }
      list.append(el('details', { class: 'finding sev-' + f.severity, 'data-kind': f.kind, id: 'finding-' + (i + 1), open: pos === 0 }, summary, body));
    });
  }

  function glink(g) {
    return el('button', { type: 'button', class: 'glink', title: 'Show goroutine ' + g + ' on the timeline', onclick: () => selectG(g, true) }, 'G' + g);
  }

  // ---------- timeline model ----------

  const lanesByG = new Map();   // g → lane
  const groups = TL.groups.map((g, gi) => {
    const grp = { data: g, index: gi, open: false, lanes: g.lanes, union: null };
    for (const l of g.lanes) {
      l.group = grp;
      if (l.g >= 0) lanesByG.set(l.g, l);
    }
    return grp;
  });
  // A collapsed site draws the union of its lanes' intervals.
  function unionOf(grp) {
    if (grp.union) return grp.union;
    const all = [];
    for (const l of grp.lanes) for (const iv of l.iv) all.push(iv);
    all.sort((a, b) => a[0] - b[0]);
    const out = [];
    for (const iv of all) {
      const p = out[out.length - 1];
      if (p && iv[0] <= p[1]) {
        if (iv[1] > p[1]) p[1] = iv[1];
        p[6] = (p[6] || 1) + (iv[6] || 1);
        p[7] = (p[7] !== undefined ? p[7] : p[1] - p[0]) + (iv.length === 8 ? iv[7] : iv[1] - iv[0]);
        if (iv[5]) p[5] = 1;
      } else {
        out.push([iv[0], iv[1], iv[2], iv[3], -1, iv[5] || 0, iv[6] || 1, iv.length === 8 ? iv[7] : iv[1] - iv[0]]);
      }
    }
    grp.union = out;
    return out;
  }
  // Wakes given, per waker: what to draw from a selected goroutine.
  const wakesBy = new Map();
  for (const grp of groups) for (const l of grp.lanes) for (const iv of l.iv) {
    if (iv[4] >= 0) {
      if (!wakesBy.has(iv[4])) wakesBy.set(iv[4], []);
      wakesBy.get(iv[4]).push([l, iv]);
    }
  }
  // Primitive operations by (object, op, seq) and (object, op, ref), to
  // pair releases with the acquires they enable.
  const OP = Object.fromEntries(TL.ops.map((n, i) => [n, i]));
  const marksBySeq = new Map(), marksByRef = new Map();
  for (const grp of groups) for (const l of grp.lanes) for (const m of l.marks || []) {
    const ks = m[1] + '|' + m[2] + '|' + m[3], kr = m[1] + '|' + m[2] + '|' + m[4];
    if (!marksBySeq.has(ks)) marksBySeq.set(ks, []);
    marksBySeq.get(ks).push([l, m]);
    if (m[4]) { if (!marksByRef.has(kr)) marksByRef.set(kr, []); marksByRef.get(kr).push([l, m]); }
  }
  // HB rules between annotated operations: from op, to op, how the
  // target's seq (or ref) follows from the source's seq.
  const HB_RULES = [
    ['unlock', 'lock', 'seq', 1], ['unlock', 'rlock', 'seq', 0], ['runlock', 'lock', 'seq', 1],
    ['release', 'acquire', 'ref', 0], ['return', 'wake', 'seq', 0], ['signal', 'wake', 'seq', 0],
    ['send', 'recv', 'seq', 0],
  ].filter(r => OP[r[0]] !== undefined && OP[r[1]] !== undefined);

  function hbEdges(lane) {
    const out = [];
    for (const m of lane.marks || []) {
      const obj = m[1], op = TL.ops[m[2]], seq = m[3];
      for (const [from, to, by, d] of HB_RULES) {
        if (op === from) {
          const key = obj + '|' + OP[to] + '|' + (seq + d);
          for (const [l2, m2] of (by === 'ref' ? marksByRef : marksBySeq).get(key) || []) out.push([lane, m[0], l2, m2[0], from + '→' + to]);
        }
        if (op === to) {
          const src = by === 'ref' ? m[4] : seq - d;
          for (const [l2, m2] of marksBySeq.get(obj + '|' + OP[from] + '|' + src) || []) out.push([l2, m2[0], lane, m[0], from + '→' + to]);
        }
      }
    }
    return out;
  }

  // ---------- timeline view ----------

  const LANE_H = 22, GROUP_H = 26, LABEL_W = 300;
  const view = { t0: 0, t1: END, selected: -1, related: new Set(), rows: [], rowY: [], height: 0 };
  const scroller = document.getElementById('tl-scroll');
  const body = document.getElementById('tl-body');
  const labels = document.getElementById('tl-labels');
  const plot = document.getElementById('tl-plot');
  const canvas = document.getElementById('tl-canvas');
  const axis = document.getElementById('tl-axis');
  const tooltip = document.getElementById('tooltip');
  const frame = document.getElementById('tl-frame');

  // Open the stuck goroutines and small sites; collapse big ones.
  let totalLanes = 0;
  for (const g of groups) totalLanes += g.lanes.length;
  for (const g of groups) g.open = g.data.stuck || g.lanes.length <= 8 || (totalLanes <= 60);

  function buildRows() {
    const rows = [];
    for (const g of groups) {
      rows.push({ kind: 'group', group: g, h: GROUP_H });
      if (g.open) for (const l of g.lanes) rows.push({ kind: 'lane', lane: l, group: g, h: LANE_H });
    }
    view.rows = rows;
    view.rowY = [];
    let y = 0;
    for (const r of rows) { view.rowY.push(y); y += r.h; }
    view.height = y;
    body.style.height = y + 'px';
    plot.style.height = y + 'px';
    labels.replaceChildren(...rows.map(rowLabel));
    resize();
  }

  function laneName(l) {
    if (l.g < 0) return plural(l.shared, 'more goroutine') + ' of this site';
    return l.entry ? shortFunc(l.entry) : '';
  }

  function rowLabel(r, i) {
    if (r.kind === 'group') {
      const g = r.group;
      return el('div', {
        class: 'row group' + (g.data.stuck ? ' stuck' : ''), 'data-group': g.index, title: g.data.site,
        onclick: () => { g.open = !g.open; buildRows(); },
      }, el('span', { class: 'caret', text: g.open ? '▾' : '▸' }),
      el('span', { class: 'site', text: siteLabel(g.data.site) }),
      el('span', { class: 'count', text: '(' + g.data.goroutines + ')' }));
    }
    const l = r.lane;
    const cls = 'row lane' + (l.stuck ? ' stuck' : '') + (l.g === view.selected ? ' selected' : '') + (view.related.has(l.g) ? ' related-lane' : '');
    const title = l.g < 0 ? l.shared + ' goroutines drawn together' : 'goroutine ' + l.g + (l.entry ? ' · ' + l.entry : '') + (l.site ? ' · ' + l.site : '') + ' · ' + l.state + ' at end';
    return el('div', { class: cls, 'data-g': l.g >= 0 ? l.g : null, title, onclick: () => { if (l.g >= 0) selectG(l.g, false); } },
      el('span', { class: 'gid', text: l.g >= 0 ? 'G' + l.g : '…' }),
      l.stuck ? el('span', { class: 'badge', text: l.stuck }) : null,
      el('span', { class: 'entry', text: laneName(l) }));
  }

  function resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = plot.clientWidth || 600;
    const h = Math.min(scroller.clientHeight || 400, Math.max(view.height, 1));
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    canvas.style.width = w + 'px'; canvas.style.height = h + 'px';
    const aw = axis.clientWidth || w;
    axis.width = Math.round(aw * dpr); axis.height = Math.round(28 * dpr);
    axis.style.height = '28px';
    draw();
  }

  const xOf = (t, w) => (t - view.t0) / (view.t1 - view.t0) * w;
  const tOf = (x, w) => view.t0 + x / w * (view.t1 - view.t0);

  function niceStep(span, px) {
    const raw = span / Math.max(px / 110, 1);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawAxis() {
    const dpr = window.devicePixelRatio || 1;
    const ctx = axis.getContext('2d');
    const w = axis.width / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, 28);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#656d76'; ctx.strokeStyle = '#c4cbd3';
    const step = niceStep(view.t1 - view.t0, w);
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const x = Math.round(xOf(t, w)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, 18); ctx.lineTo(x, 28); ctx.stroke();
      ctx.fillText(fmtDur(t), x + 3, 14);
    }
  }

  function rowOfG(g) {
    const l = lanesByG.get(g);
    if (!l) return -1;
    for (let i = 0; i < view.rows.length; i++) {
      const r = view.rows[i];
      if (r.kind === 'lane' && r.lane === l) return i;
      if (r.kind === 'group' && r.group === l.group && !l.group.open) return i;
    }
    return -1;
  }
  function rowOfLane(l) {
    if (l.g >= 0) return rowOfG(l.g);
    for (let i = 0; i < view.rows.length; i++) {
      const r = view.rows[i];
      if ((r.kind === 'lane' && r.lane === l) || (r.kind === 'group' && r.group === l.group && !l.group.open)) return i;
    }
    return -1;
  }

  function draw() {
    drawAxis();
    const dpr = window.devicePixelRatio || 1;
    const ctx = canvas.getContext('2d');
    const w = canvas.width / dpr, h = canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const top = scroller.scrollTop;
    // grid
    ctx.strokeStyle = '#eef1f4';
    const step = niceStep(view.t1 - view.t0, w);
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const x = Math.round(xOf(t, w)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
    }
    for (let i = 0; i < view.rows.length; i++) {
      const y = view.rowY[i] - top, r = view.rows[i];
      if (y + r.h < 0) continue;
      if (y > h) break;
      drawRow(ctx, r, y, w);
    }
    // the trace's end
    const xe = xOf(END, w);
    if (xe >= 0 && xe <= w) { ctx.strokeStyle = '#8c959f'; ctx.setLineDash([3, 3]); ctx.beginPath(); ctx.moveTo(xe - 0.5, 0); ctx.lineTo(xe - 0.5, h); ctx.stroke(); ctx.setLineDash([]); }
    if (view.selected >= 0) drawArrows(ctx, w, top);
  }

  function drawRow(ctx, r, y, w) {
    if (r.kind === 'group') {
      ctx.fillStyle = r.group.data.stuck ? '#fff5f4' : '#f6f8fa';
      ctx.fillRect(0, y, w, r.h);
      ctx.fillStyle = '#d8dee4'; ctx.fillRect(0, y + r.h - 1, w, 1);
      if (!r.group.open) drawIntervals(ctx, unionOf(r.group), y + 6, r.h - 12, w, 0.75);
      return;
    }
    const l = r.lane;
    if (l.g === view.selected) { ctx.fillStyle = '#fff3bf'; ctx.fillRect(0, y, w, r.h); }
    else if (view.related.has(l.g)) { ctx.fillStyle = '#fffbeb'; ctx.fillRect(0, y, w, r.h); }
    ctx.fillStyle = '#eef1f4'; ctx.fillRect(0, y + r.h - 1, w, 1);
    // lifetime: a thin line from creation to exit (or the end)
    if (l.g >= 0) {
      const a = Math.max(xOf(l.created_ns, w), 0), b = Math.min(xOf(l.exited_ns >= 0 ? l.exited_ns : END, w), w);
      if (b > a) { ctx.fillStyle = '#c4cbd3'; ctx.fillRect(a, y + r.h / 2 - 0.5, b - a, 1); }
      if (l.exited_ns >= 0) { const x = xOf(l.exited_ns, w); if (x >= 0 && x <= w) { ctx.fillStyle = '#8c959f'; ctx.fillRect(x - 1, y + 6, 2, r.h - 12); } }
    }
    drawIntervals(ctx, l.iv, y + 4, r.h - 9, w, l.g < 0 ? 0.7 : 1);
    if (l.stuck) {
      // the stuck goroutine's last block runs off the end: say so
      const last = l.iv[l.iv.length - 1];
      if (last && last[5]) {
        const x = Math.min(xOf(END, w), w);
        ctx.fillStyle = '#cf222e';
        ctx.beginPath(); ctx.moveTo(x - 9, y + 3); ctx.lineTo(x, y + r.h / 2 - 1); ctx.lineTo(x - 9, y + r.h - 5); ctx.closePath(); ctx.fill();
      }
    }
    if (l.marks) {
      for (const m of l.marks) {
        const x = xOf(m[0], w);
        if (x < -4 || x > w + 4) continue;
        const o = TL.objects[m[1]];
        ctx.fillStyle = PRIM_COLORS[o.kind] || '#444';
        ctx.beginPath(); ctx.moveTo(x, y + 1); ctx.lineTo(x + 3.5, y + 4.5); ctx.lineTo(x, y + 8); ctx.lineTo(x - 3.5, y + 4.5); ctx.closePath(); ctx.fill();
      }
    }
  }

  function drawIntervals(ctx, ivs, y, h, w, alpha) {
    ctx.globalAlpha = alpha;
    let lastX = -1, lastColor = -1;
    for (const iv of ivs) {
      if (iv[1] < view.t0 || iv[0] > view.t1) continue;
      let x0 = xOf(iv[0], w), x1 = xOf(iv[1], w);
      x0 = Math.max(x0, -2); x1 = Math.min(x1, w + 2);
      if (x1 - x0 < 1) { if (Math.floor(x0) === lastX && iv[2] === lastColor) continue; x1 = x0 + 1; }
      lastX = Math.floor(x0); lastColor = iv[2];
      ctx.fillStyle = reasonColors[iv[2]] || '#999';
      ctx.fillRect(x0, y, x1 - x0, h);
      if (iv.length === 8 && iv[6] > 1 && x1 - x0 > 3) {
        // merged: a lighter band says several blocks are drawn as one
        ctx.fillStyle = 'rgba(255,255,255,0.35)';
        ctx.fillRect(x0, y + h * 0.6, x1 - x0, h * 0.4);
      }
    }
    ctx.globalAlpha = 1;
  }

  // Arrows of the selected goroutine: its creation, the wakes it got and
  // gave, and the happens-before edges of its primitive operations.
  function arrowsOf(g) {
    const l = lanesByG.get(g);
    const out = [];
    if (!l) return out;
    if (l.creator >= 0 && lanesByG.has(l.creator)) out.push([lanesByG.get(l.creator), l.created_ns, l, l.created_ns, 'go', '#2da44e']);
    for (const iv of l.iv) if (iv[4] >= 0 && lanesByG.has(iv[4])) out.push([lanesByG.get(iv[4]), iv[1], l, iv[1], 'wake', '#57606a']);
    for (const [l2, iv] of wakesBy.get(g) || []) out.push([l, iv[1], l2, iv[1], 'wake', '#57606a']);
    for (const [a, ta, b, tb, label] of hbEdges(l)) out.push([a, ta, b, tb, label, '#8250df']);
    for (const x of lanesByG.values()) if (x.creator === g) out.push([l, x.created_ns, x, x.created_ns, 'go', '#2da44e']);
    return out;
  }

  function drawArrows(ctx, w, top) {
    const arrows = arrowsOf(view.selected);
    ctx.lineWidth = 1.5;
    for (const [a, ta, b, tb, label, color] of arrows) {
      const ra = rowOfLane(a), rb = rowOfLane(b);
      if (ra < 0 || rb < 0 || ra === rb) continue;
      const x1 = xOf(ta, w), x2 = xOf(tb, w);
      if ((x1 < 0 && x2 < 0) || (x1 > w && x2 > w)) continue;
      const y1 = view.rowY[ra] - top + view.rows[ra].h / 2, y2 = view.rowY[rb] - top + view.rows[rb].h / 2;
      ctx.strokeStyle = color; ctx.fillStyle = color;
      ctx.setLineDash(label === 'wake' ? [4, 3] : []);
      const bend = Math.min(40, Math.abs(y2 - y1) / 3);
      ctx.beginPath(); ctx.moveTo(x1, y1);
      ctx.bezierCurveTo(x1 + bend, y1, x2 - bend, y2, x2, y2);
      ctx.stroke(); ctx.setLineDash([]);
      const dir = y2 > y1 ? 1 : -1;
      ctx.beginPath(); ctx.moveTo(x2, y2); ctx.lineTo(x2 - 4, y2 - 7 * dir); ctx.lineTo(x2 + 4, y2 - 7 * dir); ctx.closePath(); ctx.fill();
      ctx.beginPath(); ctx.arc(x1, y1, 2.5, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.lineWidth = 1;
  }

  // ---------- interaction ----------

  function setView(t0, t1) {
    const minSpan = 1000; // 1µs
    let span = Math.max(t1 - t0, minSpan);
    const pad = END * 0.02;
    span = Math.min(span, END + 2 * pad);
    t0 = Math.max(-pad, Math.min(t0, END + pad - span));
    view.t0 = t0; view.t1 = t0 + span;
    frame.dataset.view = Math.round(view.t0) + ' ' + Math.round(view.t1); // the shown window, in ns
    draw();
  }
  function zoom(factor, atX) {
    const w = canvas.width / (window.devicePixelRatio || 1);
    const at = atX === undefined ? (view.t0 + view.t1) / 2 : tOf(atX, w);
    setView(at - (at - view.t0) * factor, at + (view.t1 - at) * factor);
  }
  function pan(frac) {
    const span = view.t1 - view.t0;
    setView(view.t0 + span * frac, view.t1 + span * frac);
  }
  function reset() { setView(0, END); }

  function selectG(g, fromLink) {
    const l = lanesByG.get(g);
    view.selected = g;
    if (l && !l.group.open) { l.group.open = true; }
    buildRows();
    const sel = document.getElementById('tl-selection');
    if (!l) {
      sel.hidden = false;
      sel.replaceChildren('Goroutine ' + g + ' has no lane on this timeline (it never blocked, or see what this page leaves out).');
      if (fromLink) document.getElementById('timeline').scrollIntoView({ block: 'start' });
      return;
    }
    const arrows = arrowsOf(g);
    sel.hidden = false;
    const site = l.site || (l.group.data.stuck ? '' : l.group.data.site);
    const count = kind => arrows.filter(a => (a[4] === 'go' || a[4] === 'wake' ? a[4] : 'hb') === kind).length;
    sel.replaceChildren(el('b', { text: 'G' + g + ' ' }), shortSite(l.entry || ''), site ? ' · ' + shortSite(site) : '',
      ' · ' + l.state + ' at end · ' + plural(l.iv.length, 'block') + ' · arrows: ',
      el('span', { class: 'arrows-go', style: 'color:#2da44e', text: count('go') + ' go statement' }), ', ',
      el('span', { class: 'arrows-wake', style: 'color:#57606a', text: count('wake') + ' wake (dashed)' }), ', ',
      el('span', { class: 'arrows-hb', style: 'color:#8250df', text: count('hb') + ' happens-before from annotations' }), ' ',
      el('button', { type: 'button', onclick: () => { view.selected = -1; view.related.clear(); sel.hidden = true; buildRows(); } }, 'Clear'));
    if (fromLink) revealLane(g);
  }

  // revealLane scrolls the page to the timeline and the timeline to g's lane.
  function revealLane(g) {
    const i = rowOfG(g);
    if (i < 0) return;
    const rowTop = view.rowY[i];
    const vis = scroller.clientHeight;
    if (rowTop < scroller.scrollTop || rowTop + LANE_H > scroller.scrollTop + vis) scroller.scrollTop = Math.max(0, rowTop - vis / 3);
    const y = document.getElementById('timeline').getBoundingClientRect().top + window.scrollY - 8;
    window.scrollTo({ top: y, behavior: 'instant' });
    draw();
  }

  function showFinding(i) {
    const f = D.findings[i];
    const tr = (f.traces || [TRACE])[0];
    if (tr !== TRACE && D.timelines[tr]) {
      // its goroutines are on another trace's timeline
      location.hash = 'trace=' + tr + '&finding=' + i;
      location.reload();
      return;
    }
    view.related = new Set(f.goroutines);
    for (const r of f.related || []) if (r.goroutine) view.related.add(r.goroutine);
    const g = f.goroutines.find(x => lanesByG.has(x));
    if (g === undefined) {
      if (f.goroutines.length) selectG(f.goroutines[0], true);
      else { buildRows(); document.getElementById('timeline').scrollIntoView({ block: 'start' }); }
      return;
    }
    // zoom to what the finding is about: the block its goroutine is stuck
    // in, or else its longest
    const l = lanesByG.get(g);
    let best = null;
    for (const iv of l.iv) if (!best || iv[1] - iv[0] > best[1] - best[0]) best = iv;
    const last = l.iv[l.iv.length - 1];
    if (last && last.length === 8 && last[5]) best = last;
    if (best) {
      const span = Math.max(best[1] - best[0], END / 50);
      setView(Math.max(0, best[0] - span * 0.3), Math.min(END, best[1]) + span * 0.15);
    }
    selectG(g, true);
  }

  function hit(ev) {
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top + scroller.scrollTop;
    const w = rect.width;
    let i = view.rowY.length - 1;
    while (i >= 0 && view.rowY[i] > y) i--;
    if (i < 0) return null;
    const r = view.rows[i];
    const t = tOf(x, w), slack = (view.t1 - view.t0) / w * 3;
    const ivs = r.kind === 'lane' ? r.lane.iv : r.group.open ? [] : unionOf(r.group);
    if (r.kind === 'lane' && r.lane.marks && y - view.rowY[i] < 10) {
      for (const m of r.lane.marks) if (Math.abs(m[0] - t) <= slack) return { row: r, mark: m };
    }
    let found = null;
    for (const iv of ivs) if (t >= iv[0] - slack && t <= iv[1] + slack) { if (!found || iv[1] - iv[0] < found[1] - found[0]) found = iv; }
    return { row: r, iv: found, t };
  }

  function tipStack(i) {
    const frames = trimStack(stackFrames(i)).slice(0, 14);
    if (!frames.length) return null;
    return el('div', { class: 't-stack' }, frames.map(f => el('div', { class: f.user ? 'user' : '' }, shortFunc(f.func) + '  ' + base(f.file) + ':' + f.line)));
  }

  function showTip(ev) {
    const h = hit(ev);
    if (!h || (!h.iv && !h.mark)) { tooltip.hidden = true; return; }
    const who = h.row.kind === 'lane' ? (h.row.lane.g >= 0 ? 'G' + h.row.lane.g : plural(h.row.lane.shared, 'goroutine')) : h.row.group.data.site;
    let kids;
    if (h.mark) {
      const m = h.mark, o = TL.objects[m[1]];
      kids = [el('div', { class: 't-head', text: o.kind + ' ' + o.id + (o.name ? ' "' + o.name + '"' : '') + ' ' + TL.ops[m[2]] + ' ' + m[3] }),
        el('div', { class: 't-muted', text: who + ' at ' + fmtDur(m[0]) }), tipStack(m[5])];
    } else {
      const iv = h.iv, merged = iv.length === 8 && iv[6] > 1, open = iv.length === 8 && iv[5];
      const blocked = iv.length === 8 ? iv[7] : iv[1] - iv[0];
      kids = [
        el('div', { class: 't-head' }, TL.reasons[iv[2]], ' · ', fmtDur(merged ? blocked : iv[1] - iv[0]), merged ? ' blocked in ' + iv[6] + ' blocks over ' + fmtDur(iv[1] - iv[0]) : ''),
        el('div', { class: 't-muted', text: who + ' · from ' + fmtDur(iv[0]) + ' to ' + fmtDur(iv[1]) + (open ? ' (still blocked at the end of the trace)' : iv[4] >= 0 ? ' · woken by G' + iv[4] : merged ? '' : ' · woken by a timer, the network or the runtime') }),
        tipStack(iv[3])];
    }
    tooltip.replaceChildren(...kids.filter(Boolean));
    tooltip.hidden = false;
    const tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    let x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tw > window.innerWidth - 8) x = ev.clientX - tw - 14;
    if (y + th > window.innerHeight - 8) y = Math.max(8, ev.clientY - th - 14);
    tooltip.style.left = x + 'px'; tooltip.style.top = y + 'px';
  }

  let drag = null;
  canvas.addEventListener('mousedown', ev => { drag = { x: ev.clientX, t0: view.t0, t1: view.t1, moved: false }; canvas.classList.add('dragging'); ev.preventDefault(); frame.focus({ preventScroll: true }); });
  window.addEventListener('mousemove', ev => {
    if (drag) {
      const dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      const w = canvas.getBoundingClientRect().width;
      const dt = dx / w * (drag.t1 - drag.t0);
      setView(drag.t0 - dt, drag.t1 - dt);
      tooltip.hidden = true;
    }
  });
  window.addEventListener('mouseup', ev => {
    if (!drag) return;
    const moved = drag.moved;
    drag = null; canvas.classList.remove('dragging');
    if (!moved && ev.target === canvas) {
      const h = hit(ev);
      if (h && h.row.kind === 'lane' && h.row.lane.g >= 0) selectG(h.row.lane.g, false);
      else if (h && h.row.kind === 'group') { h.row.group.open = true; buildRows(); }
    }
  });
  canvas.addEventListener('mousemove', ev => { if (!drag) showTip(ev); });
  canvas.addEventListener('mouseleave', () => { tooltip.hidden = true; });
  canvas.addEventListener('dblclick', ev => {
    const h = hit(ev);
    if (h && h.iv) { const span = h.iv[1] - h.iv[0]; setView(h.iv[0] - span * 0.2, h.iv[1] + span * 0.2); }
  });
  canvas.addEventListener('wheel', ev => {
    const rect = canvas.getBoundingClientRect();
    if (ev.ctrlKey || ev.metaKey || ev.altKey) {
      ev.preventDefault();
      zoom(Math.exp(ev.deltaY * 0.002), ev.clientX - rect.left);
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      pan((ev.shiftKey ? ev.deltaY : ev.deltaX) / rect.width);
    }
  }, { passive: false });
  scroller.addEventListener('scroll', () => { tooltip.hidden = true; draw(); });
  window.addEventListener('resize', resize);
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key;
    if (k === 'w' || k === 'W' || k === '+' || k === '=') zoom(0.7);
    else if (k === 's' || k === 'S' || k === '-') zoom(1 / 0.7);
    else if (k === 'a' || k === 'A' || k === 'ArrowLeft') pan(-0.15);
    else if (k === 'd' || k === 'D' || k === 'ArrowRight') pan(0.15);
    else if (k === '0' || k === 'Home') reset();
    else if (k === 'Escape') { view.selected = -1; view.related.clear(); document.getElementById('tl-selection').hidden = true; buildRows(); }
    else return;
    ev.preventDefault();
  }
  frame.addEventListener('keydown', onKey);
  document.getElementById('tl-zoom-in').onclick = () => zoom(0.6);
  document.getElementById('tl-zoom-out').onclick = () => zoom(1 / 0.6);
  document.getElementById('tl-reset').onclick = reset;
  const expandBtn = document.getElementById('tl-expand');
  expandBtn.onclick = () => {
    const open = !groups.every(g => g.open);
    for (const g of groups) g.open = open || g.data.stuck;
    expandBtn.textContent = open ? 'Collapse sites' : 'Expand all';
    buildRows();
  };

  function legend() {
    const box = document.getElementById('tl-legend');
    const used = new Set();
    for (const g of groups) for (const l of g.lanes) for (const iv of l.iv) used.add(iv[2]);
    for (const i of [...used].sort((a, b) => TL.reasons[a].localeCompare(TL.reasons[b]))) {
      box.append(el('span', {}, el('i', { style: 'background:' + reasonColors[i] }), TL.reasons[i]));
    }
    const kinds = new Set(TL.objects.map(o => o.kind));
    for (const k of kinds) box.append(el('span', {}, el('i', { class: 'diamond', style: 'background:' + (PRIM_COLORS[k] || '#444') }), k + ' operation'));
    box.append(el('span', {}, el('i', { style: 'background:#cf222e;width:8px;clip-path:polygon(0 0,100% 50%,0 100%)' }), 'still blocked at the end'));
    if (TL.merged_below_ns > 0) box.append(el('span', { text: 'blocks shorter than ' + fmtDur(TL.merged_below_ns) + ' are merged (lighter lower band)' }));
    if (!D.timelines.length) box.append(el('span', { text: 'No timeline: this report was merged from reports, not made from the traces.' }));
    else if (!groups.length) box.append(el('span', { text: 'No goroutine blocked in this trace.' }));
  }

  // With several traces, a menu picks the one whose timeline is drawn.
  function traceMenu() {
    if (D.timelines.length < 2) return;
    const sel = el('select', { id: 'tl-trace', title: 'The trace whose timeline is drawn', onchange: () => { location.hash = 'trace=' + sel.value; location.reload(); } },
      D.timelines.map((t, i) => el('option', { value: i, selected: i === TRACE }, t.path)));
    document.querySelector('#timeline .toolbar').prepend(sel);
  }

  // ---------- per primitive ----------

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
    for (const k of kids.flat()) if (k) e.append(k);
    return e;
  }
  function title(text) { return svg('title', { text }); }

  function lockCard(lk) {
    const B = D.wait_buckets_ns, W = 440, H = 160, L = 34, R = 8, T = 24, Bot = 28;
    const n = lk.hist.length, bw = (W - L - R) / n, maxC = Math.max(...lk.hist, 1);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'wait histogram of ' + lk.name });
    s.append(svg('line', { x1: L, y1: H - Bot, x2: W - R, y2: H - Bot, stroke: '#8c959f' }));
    s.append(svg('text', { x: L - 4, y: T + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: maxC }));
    s.append(svg('text', { x: L - 4, y: H - Bot, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: 0 }));
    lk.hist.forEach((c, i) => {
      const hgt = c / maxC * (H - T - Bot);
      const lo = i === 0 ? 0 : B[i - 1], hi = i < B.length ? B[i] : Infinity;
      const over = lo >= 1e6;
      s.append(svg('rect', { x: L + i * bw + 1, y: H - Bot - hgt, width: bw - 2, height: hgt, fill: over ? '#ef4444' : '#6e9bd6' },
        title(c + ' waits ' + (hi === Infinity ? 'over ' + fmtDur(lo) : fmtDur(lo) + '–' + fmtDur(hi)))));
    });
    B.forEach((b, i) => {
      if (i % 3 !== 0 && b !== 1e6) return;
      s.append(svg('text', { x: L + (i + 1) * bw, y: H - Bot + 12, 'text-anchor': 'middle', 'font-size': 9.5, fill: '#656d76', text: fmtDur(b) }));
    });
    const i1 = B.indexOf(1e6);
    if (i1 >= 0) {
      const x = L + (i1 + 1) * bw;
      s.append(svg('line', { x1: x, y1: 6, x2: x, y2: H - Bot, stroke: '#cf222e', 'stroke-dasharray': '4 3', 'stroke-width': 1.5 }));
      s.append(svg('text', { x: x + 4, y: 12, 'font-size': 10, fill: '#cf222e', text: '1 ms: sync.Mutex starvation' }));
    }
    s.append(svg('text', { x: (W + L) / 2, y: H - 3, 'text-anchor': 'middle', 'font-size': 10, fill: '#656d76', text: 'wait time (log scale)' }));
    const holders = el('table', { class: 'stats' }, el('tr', {}, el('th', { text: 'holder released at' }), el('th', { text: 'G', title: 'one goroutine that released it there' }), el('th', { text: 'waits', title: 'waits its releases ended' }), el('th', { text: 'waited', title: 'time those waits took' })));
    for (const h of lk.holders) holders.append(el('tr', {}, el('td', { class: 'mono', title: h.location.func + ' ' + h.location.file + ':' + h.location.line, text: shortFunc(h.location.func) + ' ' + shortLoc(h.location) }), el('td', {}, glink(h.goroutine)), el('td', { class: 'num', text: h.waits }), el('td', { class: 'num', text: fmtDur(h.total_ns) })));
    return el('div', { class: 'card lock' },
      el('h4', { text: shortSite(lk.name), title: lk.name }),
      el('div', { class: 'meta' }, el('span', { text: plural(lk.waits, 'wait') }), el('span', { text: lk.over_1ms + ' over 1 ms' }), el('span', { text: 'longest ' + fmtDur(lk.max_ns) }), el('span', { text: 'total ' + fmtDur(lk.total_ns) }), lk.no_wait_since_first ? el('span', { text: lk.no_wait_since_first + ' more took it without waiting (since the first wait)' }) : null, el('span', { text: 'evidence: ' + lk.evidence })),
      s, lk.holders.length ? [el('div', { class: 'meta', text: 'Holders blamed (whose release ended the waits):' }), holders] : null);
  }

  function semaCard(sm) {
    const W = 440, H = 130, L = 34, R = 8, T = 10, Bot = 22;
    const x = t => L + t / END * (W - L - R), y = d => H - Bot - d / Math.max(sm.max_depth, 1) * (H - T - Bot);
    let d = `M ${L} ${y(0)}`, prev = 0;
    for (const [t, dep] of sm.points) { d += ` L ${x(t)} ${y(prev)} L ${x(t)} ${y(dep)}`; prev = dep; }
    d += ` L ${x(END)} ${y(prev)}`;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'queue depth of ' + sm.name },
      svg('line', { x1: L, y1: H - Bot, x2: W - R, y2: H - Bot, stroke: '#8c959f' }),
      svg('path', { d: d + ` L ${x(END)} ${y(0)} Z`, fill: '#1d4ed833', stroke: 'none' }),
      svg('path', { d, fill: 'none', stroke: '#1d4ed8', 'stroke-width': 1.5 }),
      svg('text', { x: L - 4, y: T + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: sm.max_depth }),
      svg('text', { x: L - 4, y: H - Bot, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: 0 }),
      svg('text', { x: L, y: H - 6, 'font-size': 10, fill: '#656d76', text: '0' }),
      svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: fmtDur(END) }),
      svg('text', { x: (W + L) / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 10, fill: '#656d76', text: 'waiters queued over the trace' }));
    return el('div', { class: 'card sema' }, el('h4', { text: shortSite(sm.name), title: sm.name }),
      el('div', { class: 'meta' }, el('span', { text: 'queue up to ' + plural(sm.max_depth, 'waiter') }), el('span', { text: 'evidence: ' + sm.evidence })), s);
  }

  function flightCard(fl) {
    const W = 440, H = 130, L = 34, R = 8, T = 10, Bot = 22;
    const maxF = Math.max(...fl.flights.map(f => f[3]), 1);
    const x = t => L + t / END * (W - L - R), y = n => H - Bot - n / maxF * (H - T - Bot);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'fan-in per flight of ' + fl.name },
      svg('line', { x1: L, y1: H - Bot, x2: W - R, y2: H - Bot, stroke: '#8c959f' }),
      svg('text', { x: L - 4, y: T + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#656d76', text: maxF }),
      svg('text', { x: (W + L) / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 10, fill: '#656d76', text: 'followers per flight, over the trace' }));
    for (const [st, en, leader, n, stalled] of fl.flights) {
      const x0 = x(st), x1 = Math.max(x(en), x0 + 2);
      s.append(svg('rect', { x: x0, y: y(n), width: x1 - x0, height: H - Bot - y(n), fill: stalled ? '#cf222e' : '#8250df', opacity: 0.75 },
        title(plural(n, 'follower') + (leader >= 0 ? ' behind leader G' + leader : '') + ', ' + fmtDur(st) + '–' + fmtDur(en) + (stalled ? ' (stalled: still in flight at the end)' : ''))));
    }
    const stalled = fl.flights.filter(f => f[4]).length;
    return el('div', { class: 'card flight' }, el('h4', { text: shortSite(fl.name), title: fl.name }),
      el('div', { class: 'meta' }, el('span', { text: plural(fl.flights.length, 'flight') + (fl.more ? ' (+' + fl.more + ' not listed)' : '') }), el('span', { text: 'largest fan-in ' + maxF }), stalled ? el('span', { text: stalled + ' stalled' }) : null, el('span', { text: 'evidence: ' + fl.evidence })), s);
  }

  function primitives() {
    // The worst few are shown (the data lists them worst first), the rest
    // behind a "more" row.
    const FIRST = 6;
    const sec = (id, head, items, card, none) => {
      const box = document.getElementById(id);
      box.append(el('h3', { text: head }));
      if (!items.length) { box.append(el('div', { class: 'empty', text: none })); return; }
      box.append(el('div', { class: 'cards' }, items.slice(0, FIRST).map(card)));
      if (items.length > FIRST) {
        const more = el('details', { class: 'more' }, el('summary', { text: (items.length - FIRST) + ' more' }));
        more.addEventListener('toggle', () => {
          if (more.open && more.children.length === 1) more.append(el('div', { class: 'cards' }, items.slice(FIRST).map(card)));
        });
        box.append(more);
      }
    };
    sec('prim-locks', 'Locks: wait times', T.locks, lockCard, 'No lock was waited on.');
    sec('prim-semas', 'Semaphores: queue depth', T.semaphores, semaCard, 'No semaphore queued.');
    sec('prim-flights', 'Singleflight: fan-in per flight', T.singleflight, flightCard, 'No singleflight flight had followers.');
  }

  function leftOut() {
    const ul = document.getElementById('left-out-list');
    if (!D.timelines.length) ul.append(el('li', { text: 'The timeline and the charts: this report was made from reports, not from the traces.' }));
    else if (!T.left_out.length) ul.append(el('li', { text: 'Nothing: every goroutine that blocked has its lane and every block is drawn.' }));
    for (const s of T.left_out) ul.append(el('li', { text: s }));
  }

  header();
  findings();
  traceMenu();
  legend();
  primitives();
  leftOut();
  buildRows();
  reset();
  if (HASH.has('finding')) {
    const i = parseInt(HASH.get('finding'), 10);
    history.replaceState(null, '', '#trace=' + TRACE);
    if (D.findings[i]) showFinding(i);
  }
  document.body.setAttribute('data-ready', '1');
})();
