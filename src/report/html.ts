/**
 * The self-contained HTML report of one check: verdict and statistics, and for a counterexample one
 * swimlane per actor with its steps in global order; selecting a step shows every layer's page
 * table and the page frames at that moment, then the kernel objects (state-tables.ts: notifiers,
 * HMM ranges, sequence numbers, locks and holders), with the cells that step changed marked. One
 * file, inline CSS and JS, no network (a Content-Security-Policy forbids it), works opened from disk.
 * The trace data travels as JSON in a `<script type="application/json">` block and is rendered
 * by the small script below; all text goes through `textContent` or `escapeHtml`. It renders the
 * trace it is handed (trace.ts) and replays nothing itself.
 */
import type { CheckResult } from '../check/run.js';
import type { Snapshot } from './snapshot.js';
import type { StateTable } from './state-tables.js';
import { checkedProperties, propertyDescription, type Trace } from './trace.js';
import { ENCODING_LEGEND, FIELD_LEGEND, SCHEDULE_SYNTAX } from './legend.js';
import { collisionBound } from '../engine/visited.js';

export type { LayerSpec, Snapshot } from './snapshot.js';

/** What the report shows: a check's result and, for a counterexample, its trace (`counterexampleTrace`). */
export interface ReportInput {
  readonly result: CheckResult;
  readonly trace?: Trace;
}

/** What a proof assumed (CheckResult.assumed), as a list the reader can open. */
function assumedHtml(r: CheckResult): string {
  if (!r.assumed) return '<p class="note" data-testid="assumed">Not audited: every step was trusted to be one atomic action.</p>';
  const items = (xs: readonly string[]) => xs.map((x) => `<li class="mono">${escapeHtml(x)}</li>`).join('');
  const { accesses, standIns } = r.assumed;
  return `<details class="note" data-testid="assumed"><summary>Assumed: sequential consistency for ${accesses.length} unprotected accesses (the kernel's memory model may reorder them where the C has no barrier)${standIns.length ? `, and ${standIns.length} model stand-ins for kernel data` : ''}</summary>
<ul data-testid="assumed-accesses">${items(accesses)}</ul>${standIns.length ? `<ul data-testid="assumed-standins">${items(standIns)}</ul>` : ''}</details>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a `<script>` element: no `<`, `>` or `&` survive literally, nor U+2028/9. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const CSS = `
:root { --bg:#fff; --fg:#1d2330; --mut:#667085; --line:#d9dee7; --sel:#dbe8ff; --selb:#2f6fdf; --bad:#b42318; --badbg:#fde8e6; --ok:#067647; --okbg:#e3f6ec; --inc:#93540b; --incbg:#fdf1dc; --chg:#ffe58a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
code, .mono, td, th, .step { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
header { padding: 12px 18px; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0 0 8px; }
h2 { font-size: 15px; margin: 14px 0 6px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; }
.verdict.violation { color: var(--bad); background: var(--badbg); }
.verdict.holds { color: var(--ok); background: var(--okbg); }
.verdict.incomplete { color: var(--inc); background: var(--incbg); }
dl.stats { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 8px 0; }
dl.stats div { display: flex; gap: 6px; } dl.stats dt { color: var(--mut); } dl.stats dd { margin: 0; font-weight: 600; }
.property { margin: 8px 0 0; padding: 8px 12px; border-left: 4px solid var(--bad); background: var(--badbg); }
.note { color: var(--mut); }
main { display: grid; grid-template-columns: minmax(380px, 1fr) minmax(460px, 1.1fr); gap: 0; height: calc(100vh - var(--head, 170px)); }
#lanes, #detail { overflow: auto; padding: 8px 14px; }
#lanes { border-right: 1px solid var(--line); padding-top: 0; }
table { border-collapse: collapse; font-size: 12px; }
.lane-row { display: grid; grid-template-columns: 3.5em repeat(var(--actors), minmax(0, 1fr)); font-size: 12px; content-visibility: auto; contain-intrinsic-size: auto 44px; }
.lane-row > * { padding: 1px 4px; border-left: 1px dashed var(--line); }
.lane-row > .idx { color: var(--mut); text-align: right; border-left: 0; }
.lane-head { position: sticky; top: 0; z-index: 1; background: var(--bg); border-bottom: 1px solid var(--line); font-weight: 600; content-visibility: visible; }
.lane-head > * { padding: 6px 4px 4px; }
.step { display: block; width: 100%; text-align: left; font-size: 11.5px; padding: 2px 5px; border: 1px solid var(--line); border-radius: 4px; background: #f7f8fa; cursor: pointer; overflow-wrap: anywhere; color: inherit; }
.step .at { display: block; color: var(--mut); font-size: 10.5px; }
.step.writes { background: #eef4ff; }
.step.selected { background: var(--sel); border-color: var(--selb); box-shadow: 0 0 0 1px var(--selb); }
.step.violating { border-color: var(--bad); }
table.layer { margin: 0 0 10px; }
table.layer caption { text-align: left; font-weight: 600; padding: 2px 0; font-family: system-ui, sans-serif; }
table.layer th, table.layer td { border: 1px solid var(--line); padding: 2px 7px; text-align: right; }
table.layer th { background: #f2f4f7; font-weight: 600; }
table.layer td.zero { color: #aab2c0; }
table.layer.state td { text-align: left; max-width: 36em; overflow-wrap: anywhere; }
table.layer td.changed { background: var(--chg); font-weight: 700; color: var(--fg); }
.layers { display: flex; flex-wrap: wrap; gap: 0 18px; align-items: flex-start; }
.explain { padding: 8px 12px; border-left: 4px solid var(--bad); background: var(--badbg); margin: 6px 0 10px; }
.bug { color: var(--bad); font-weight: 600; }
ul.changes { margin: 4px 0 10px; padding-left: 18px; font-size: 12px; }
.legend-changed { background: var(--chg); padding: 0 3px; }
.legend-racing { border-left: 4px solid var(--inc); padding: 0 3px; }
.kbd { border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; font-size: 11px; }
.step.racing { border-left: 4px solid var(--inc); }
.step .race { float: right; color: var(--inc); font-size: 10px; font-weight: 600; font-family: system-ui, sans-serif; }
details.about { margin: 6px 0 0; }
details.about summary { cursor: pointer; color: var(--mut); }
table.about { margin: 4px 0; font-size: 12px; }
table.about th, table.about td { border: 1px solid var(--line); padding: 2px 7px; text-align: left; vertical-align: top; }
table.about th { background: #f2f4f7; }
.step:focus-visible { outline: 2px solid var(--selb); outline-offset: 1px; }
/* Narrow windows (800 px and less): one column, the detail under the lanes, nothing cut off. */
@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); height: auto; }
  #lanes { border-right: 0; border-bottom: 1px solid var(--line); max-height: 60vh; }
  #detail { overflow-x: auto; }
  header, #lanes, #detail { max-width: 100vw; }
  code { overflow-wrap: anywhere; }
}
`;

/**
 * The client: builds the swimlanes from the JSON, selects a step on click and with the arrow keys,
 * and renders the layer tables of the selected step, marking cells that differ from the step before.
 */
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var steps = data.steps, layers = data.layers;
  if (!steps.length) return;
  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c != null) e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function fitToHeader() { document.documentElement.style.setProperty('--head', document.querySelector('header').offsetHeight + 'px'); }
  fitToHeader();
  window.addEventListener('resize', fitToHeader);

  // Swimlanes: one column per actor, one row per step in global order (rows lay out lazily).
  var lanes = el('div', { 'class': 'lanes', 'data-testid': 'swimlanes', style: '--actors: ' + data.actors.length });
  var hr = el('div', { 'class': 'lane-row lane-head' }, el('span', { 'class': 'idx' }, '#'));
  data.actors.forEach(function (a, i) { hr.appendChild(el('span', { 'data-testid': 'lane-' + i }, a)); });
  lanes.appendChild(hr);
  var buttons = [];
  steps.forEach(function (s, i) {
    if (!s.snapshot) s.snapshot = i ? steps[i - 1].snapshot : data.initial; // unchanged: sent once
    if (!s.tables) s.tables = i ? steps[i - 1].tables : data.initialTables;
    var row = el('div', { 'class': 'lane-row' }, el('span', { 'class': 'idx' }, s.index));
    data.actors.forEach(function (_, a) {
      var cell = el('div', { 'data-lane': a });
      if (a === s.actorIndex) {
        var racing = data.racing.indexOf(i) >= 0;
        var cls = 'step' + (s.changes.some(function (c) { return !/^[^.\\[]*:/.test(c.what); }) ? ' writes' : '') +
          (i === steps.length - 1 && data.violation ? ' violating' : '') + (racing ? ' racing' : '');
        var b = el('button', { 'class': cls, 'data-testid': 'step-' + i, 'aria-selected': 'false', title: s.actor + ' step ' + s.index + (racing ? ' (a racing step)' : '') },
          racing ? el('span', { 'class': 'race' }, 'racing') : null, s.where, el('span', { 'class': 'at' }, s.at));
        b.addEventListener('click', function () { select(i); });
        buttons.push(b);
        cell.appendChild(b);
      }
      row.appendChild(cell);
    });
    lanes.appendChild(row);
  });
  document.getElementById('lanes').appendChild(lanes);

  function fmt(layer, col, v) {
    return layer.hex && layer.hex.indexOf(col) >= 0 && v ? '0x' + v.toString(16) : String(v);
  }
  function layerTable(layer, now, before) {
    var t = el('table', { 'class': 'layer', 'data-testid': 'layer-' + layer.id }, el('caption', {}, layer.title));
    var hr = el('tr', {}, el('th', {}, layer.keyName));
    layer.columns.forEach(function (c) { hr.appendChild(el('th', {}, c)); });
    t.appendChild(hr);
    layer.keys.forEach(function (key, r) {
      var tr = el('tr', {}, el('th', {}, key));
      layer.columns.forEach(function (c, k) {
        var v = now[r][k], changed = before[r][k] !== v;
        var id = layer.id === 'frames' ? 'frame-' + key + '-' + c : 'cell-' + layer.id + '-' + key + '-' + c;
        var cls = (changed ? 'changed' : '') + (v === 0 ? ' zero' : '');
        tr.appendChild(el('td', { 'data-testid': id, 'class': cls.trim(), title: changed ? 'was ' + fmt(layer, c, before[r][k]) : '' }, fmt(layer, c, v)));
      });
      t.appendChild(tr);
    });
    return t;
  }

  var detail = document.getElementById('detail'), current = -1;
  function select(i) {
    i = Math.max(0, Math.min(steps.length - 1, i));
    if (current >= 0) { buttons[current].classList.remove('selected'); buttons[current].setAttribute('aria-selected', 'false'); }
    current = i;
    buttons[i].classList.add('selected');
    buttons[i].setAttribute('aria-selected', 'true');
    buttons[i].scrollIntoView({ block: 'nearest' });
    // Focus follows the selection, so the keys keep working from the step list and a screen reader says where it is.
    if (document.activeElement !== buttons[i]) buttons[i].focus({ preventScroll: true });
    var s = steps[i], before = i ? steps[i - 1].snapshot : data.initial;
    detail.textContent = '';
    detail.appendChild(el('h2', { 'data-testid': 'selected-step' }, 'Step ' + s.index + ' (of 0\u2013' + (steps.length - 1) + '): ' + s.actor + ' ' + s.where));
    detail.appendChild(el('p', { 'class': 'mono' }, s.at, el('br'), (s.outcome === 'sleep' || s.outcome === 'spin') ? 'blocked here (' + s.outcome + ')' : s.outcome + ' \\u2192 ' + s.next));
    s.bugs.forEach(function (b) { detail.appendChild(el('p', { 'class': 'bug' }, 'Kernel BUG: ' + b)); });
    if (i === steps.length - 1 && data.violation) {
      var v = data.violation;
      detail.appendChild(el('p', { 'class': 'explain', 'data-testid': 'violation-explanation' },
        'After this step the property ', el('b', {}, v.property), ' is violated. It requires that ' +
        (v.description || 'the model raises no such error') + '; here ' + v.message + '.'));
    }
    var ul = el('ul', { 'class': 'changes', 'data-testid': 'changes' });
    s.changes.forEach(function (c) { ul.appendChild(el('li', { 'class': 'mono' }, c.what + ': ' + c.from + ' \\u2192 ' + c.to)); });
    if (!s.changes.length) ul.appendChild(el('li', { 'class': 'note' }, 'no visible change'));
    detail.appendChild(ul);
    var box = el('div', { 'class': 'layers' });
    layers.forEach(function (l) { box.appendChild(layerTable(l, s.snapshot[l.id], before[l.id])); });
    detail.appendChild(box);
    var tablesBefore = i ? steps[i - 1].tables : data.initialTables;
    if (s.tables.length) {
      var sec = el('section', { 'data-testid': 'state-tables' }, el('h2', {}, 'Kernel objects after this step'));
      s.tables.forEach(function (t) { sec.appendChild(stateTable(t, tablesBefore)); });
      detail.appendChild(sec);
    }
  }
  // A row is the same object when its first two cells are (object and mm, counter or lock class).
  function rowKey(row) { return row[0] + '\u0000' + row[1]; }
  function stateTable(t, tablesBefore) {
    var old = {};
    (tablesBefore || []).forEach(function (b) { if (b.id === t.id) b.rows.forEach(function (row) { old[rowKey(row)] = row; }); });
    var tab = el('table', { 'class': 'layer state', 'data-testid': 'state-' + t.id }, el('caption', {}, t.title));
    var hr = el('tr', {});
    t.columns.forEach(function (c) { hr.appendChild(el('th', {}, c)); });
    tab.appendChild(hr);
    t.rows.forEach(function (row) {
      var was = old[rowKey(row)], tr = el('tr', {});
      row.forEach(function (x, k) {
        var changed = !was || was[k] !== x;
        tr.appendChild(el('td', { 'class': changed ? 'changed' : '', title: changed ? (was ? 'was ' + was[k] : 'new') : '' }, x));
      });
      tab.appendChild(tr);
    });
    return tab;
  }
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var to = { Home: 0, End: steps.length - 1 }[e.key];
    var d = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1, PageUp: -10, PageDown: 10 }[e.key];
    if (to === undefined && !d) return;
    e.preventDefault();
    select(to !== undefined ? to : current + d);
  });
  select(steps.length - 1);
})();
`;

/** Whether two snapshots (or state tables) hold the same cells (an unchanged one is sent as 0 and filled in by the client). */
function same(a: Snapshot | readonly StateTable[], b: Snapshot | readonly StateTable[] | undefined): boolean {
  return b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** The scenario of a trace: its description, and each actor with its schedule number and operations. */
function scenarioHtml(t: Trace): string {
  const rows = t.actors
    .map((a, i) => `<tr><td>${i}</td><td class="mono">${escapeHtml(a)}</td><td class="mono">${escapeHtml(t.operations?.[i]?.join('; ') || '(a daemon of the design)')}</td></tr>`)
    .join('');
  return `<details class="about" data-testid="scenario" open><summary>Scenario <span class="mono">${escapeHtml(t.scenario)}</span> and its actors</summary>
${t.description ? `<p data-testid="scenario-description">${escapeHtml(t.description)}</p>` : ''}
<table class="about" data-testid="actors-table"><tr><th>#</th><th>actor</th><th>operations</th></tr>${rows}</table></details>`;
}

/** What each column and encoded value of the tables means (legend.ts). */
function legendHtml(): string {
  const rows = (xs: readonly { name: string; meaning: string }[]) => xs.map((e) => `<tr><th class="mono">${escapeHtml(e.name)}</th><td>${escapeHtml(e.meaning)}</td></tr>`).join('');
  return `<details class="about" data-testid="legend"><summary>Legend: fields and encoded values</summary>
<table class="about"><tr><th colspan="2">fields</th></tr>${rows(FIELD_LEGEND)}<tr><th colspan="2">encoded values</th></tr>${rows(ENCODING_LEGEND)}</table></details>`;
}

/** The checks a proof covered. */
function checkedHtml(): string {
  const items = checkedProperties()
    .map((c) => `<li><b class="mono">${escapeHtml(c.name)}</b>: ${escapeHtml(c.description)}</li>`)
    .join('');
  return `<details class="about" data-testid="checked"><summary>Checked: ${checkedProperties().length} properties in every reachable state</summary><ul>${items}</ul></details>`;
}

/** With --max-violations: the other distinct violations the search found, each with its replay command. */
function othersHtml(r: CheckResult): string {
  const others = r.violations?.slice(1) ?? [];
  if (!others.length) return '';
  const items = others.map((o) => `<li><b>${escapeHtml(o.property)}</b>: ${escapeHtml(o.message)}<br><code>vmamirror replay '${escapeHtml(o.schedule)}'</code></li>`).join('');
  return `<details class="about" data-testid="other-violations"><summary>${others.length} other distinct violation${others.length === 1 ? '' : 's'} found</summary><ul>${items}</ul></details>`;
}

function stat(label: string, testid: string, value: string): string {
  return `<div><dt>${escapeHtml(label)}</dt><dd data-testid="${testid}">${escapeHtml(value)}</dd></div>`;
}

export function renderHtmlReport(input: ReportInput): string {
  const r = input.result;
  const t = input.trace;
  // The violation shown: the trace's, whose last step it follows (the shrunk schedule's message may
  // name another pfn than the search's); the search's when the trace has none (a deadlock or a
  // termination violation is about what follows the last step, not about its state).
  const v = t?.violated ?? r.violation;
  const description = v ? propertyDescription(v.property) : undefined;
  const title = `vmamirror — ${r.scenario}/${r.variant}: ${r.verdict}`;
  const stopReason = (r as { stopReason?: string }).stopReason;
  const stats = [
    stat('scenario', 'stat-scenario', r.scenario),
    stat('variant', 'stat-variant', r.variant),
    stat('states', 'stat-states', String(r.states)),
    stat('transitions', 'stat-transitions', String(r.transitions)),
    stat('depth', 'stat-depth', String(r.depth)),
    stat('time', 'stat-time', `${(r.elapsedMs / 1000).toFixed(2)} s`),
    // What "holds" means under hash compaction (visited.ts collisionBound); nothing to bound with --exact.
    r.verdict !== 'holds' ? '' : r.exact ? stat('states stored', 'stat-missed', 'whole (exact)') : stat('state missed, at most', 'stat-missed', collisionBound(r.states).toPrecision(2)),
    t ? stat('trace', 'stat-steps', `${t.steps.length} steps`) : '',
  ].join('');
  let summary = '';
  if (v) {
    const replay = t?.schedule ?? r.schedule;
    const original = t?.shrunkFrom
      ? `<div class="note">Shrunk to the fewest preemptions, then actors, then steps; the search found <code data-testid="original-schedule">${escapeHtml(t.shrunkFrom)}</code>, whose trace <code>vmamirror replay '${escapeHtml(t.shrunkFrom)}'</code> prints</div>`
      : '';
    summary = `<div class="property" data-testid="violation">
<div>Violated: <b data-testid="violation-property">${escapeHtml(v.property)}</b> — <span data-testid="violation-description">${escapeHtml(description ?? '')}</span></div>
<div>Here: <span class="mono" data-testid="violation-message">${escapeHtml(v.message)}</span></div>
${replay ? `<div class="note">Replay: <code data-testid="schedule">vmamirror replay '${escapeHtml(replay)}'</code></div><div class="note" data-testid="schedule-syntax">${escapeHtml(SCHEDULE_SYNTAX)}</div>` : ''}${original}${othersHtml(r)}
</div>`;
  } else if (r.verdict === 'holds') {
    summary = `<p class="note" data-testid="summary">Every interleaving of the actors was explored; no property is violated.</p>${checkedHtml()}${assumedHtml(r)}`;
  } else {
    summary = `<p class="note" data-testid="summary">A limit was reached${stopReason ? ` (${escapeHtml(stopReason)})` : ''} before every interleaving was explored: no violation was found in the states visited.</p>`;
  }
  const steps = t?.steps ?? [];
  const hasTrace = steps.length > 0;
  const problem = t?.replayError ? `<p class="bug" data-testid="replay-error">${escapeHtml(t.replayError)}</p>` : '';
  const initial = t?.initial ?? {};
  const data = {
    actors: t?.actors ?? [],
    layers: t?.layers ?? [],
    initial,
    initialTables: t?.initialTables ?? [],
    steps: steps.map((st, i) => ({
      ...st,
      snapshot: same(st.snapshot, i ? steps[i - 1].snapshot : initial) ? 0 : st.snapshot,
      tables: same(st.tables, i ? steps[i - 1].tables : t?.initialTables) ? 0 : st.tables,
    })),
    // The explanation on the last step: the trace's verdict after it, and only that.
    violation: t?.violated ? { property: t.violated.property, message: t.violated.message, description: description ?? '' } : null,
    racing: t?.racing ?? [],
  };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>vmamirror <span class="mono">${escapeHtml(`${r.scenario}/${r.variant}`)}</span> <span class="verdict ${escapeHtml(r.verdict)}" data-testid="verdict">${escapeHtml(r.verdict)}</span></h1>
<dl class="stats">${stats}</dl>
${summary}${problem}${t ? scenarioHtml(t) : ''}${hasTrace ? legendHtml() : ''}
${hasTrace ? '<p class="note">Click a step, or use <span class="kbd">←</span> <span class="kbd">→</span> (<span class="kbd">↑</span> <span class="kbd">↓</span>), <span class="kbd">Home</span> <span class="kbd">End</span> to move through the trace. Cells the selected step changed are <span class="legend-changed">highlighted</span>; the racing steps are marked <span class="legend-racing">racing</span>: the last step of each actor that wrote what the violation names, and the last step.</p>' : ''}
</header>
${hasTrace ? '<main><section id="lanes" aria-label="actors and their steps"></section><section id="detail" aria-label="layers at the selected step"></section></main>' : ''}
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
