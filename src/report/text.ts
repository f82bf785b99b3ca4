/** Plain-text renderings: the verdict table, a single result, and a trace (`vmamirror replay`). */
import { OUTCOME } from '../check/outcome.js';
import type { CheckResult, LockOrderSummary } from '../check/run.js';
import { KERNEL_BUG, LOCK_ORDER, witnessText } from '../engine/verdict.js';
import { collisionBound } from '../engine/visited.js';
import { formatTrace } from '../world/runner.js';
import type { Trace } from './trace.js';
import type { StateTable } from './state-tables.js';
import { legendFor, SCHEDULE_SYNTAX } from './legend.js';

function cell(r: CheckResult | undefined): string {
  if (!r) return '-';
  if (r.verdict === 'holds') return 'holds';
  if (r.verdict === 'incomplete') return `incomplete (${r.stopReason ?? 'limit'})`;
  return `✗ ${r.violation!.property}`;
}

/** `rows` (the first the header) as lines of aligned columns, a line of dashes under the header. */
function aligned(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map(
    (row) =>
      indent +
      row
        .map((x, c) => x.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
  );
  lines.splice(1, 0, indent + widths.map((wd) => '-'.repeat(wd)).join('  '));
  return lines;
}

/** Scenarios down, variants across; then one line per counterexample with its replayable schedule. */
export function verdictTable(results: readonly CheckResult[]): string {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const variants = [...new Set(results.map((r) => r.variant))];
  const at = (s: string, v: string) => results.find((r) => r.scenario === s && r.variant === v);
  const lines = aligned([['scenario', ...variants], ...scenarios.map((s) => [s, ...variants.map((v) => cell(at(s, v)))])]);
  const states = results.reduce((n, r) => n + r.states, 0);
  const transitions = results.reduce((n, r) => n + r.transitions, 0);
  const ms = results.reduce((n, r) => n + r.elapsedMs, 0);
  lines.push('', `${results.length} checks, ${states} states, ${transitions} transitions, ${(ms / 1000).toFixed(1)} s`);
  const proofs = results.filter((r) => r.verdict === 'holds');
  if (proofs.length) {
    const accesses = new Set(proofs.flatMap((r) => r.assumed?.accesses ?? []));
    const standIns = new Set(proofs.flatMap((r) => r.assumed?.standIns ?? []));
    const unaudited = proofs.filter((r) => !r.assumed).length;
    const hashed = proofs.filter((r) => !r.exact);
    if (hashed.length) {
      const largest = hashed.reduce((a, b) => (b.states > a.states ? b : a));
      lines.push(
        `Every "holds" is a proof up to the chance that a 64-bit fingerprint collision hid a state: at most ${collisionBound(largest.states).toPrecision(2)} for the largest (${largest.scenario}/${largest.variant}, ${largest.states} states).`,
      );
    } else lines.push(EXACT_NOTE);
    lines.push(
      `Every "holds" assumed sequential consistency for the ${accesses.size} unprotected accesses its steps made, one at a time (the kernel's memory model may reorder them; --json lists each)` +
        (standIns.size ? `, and ${standIns.size} model stand-ins for kernel data` : '') +
        (unaudited ? `; ${unaudited} proofs were not audited` : '') +
        '.',
    );
  }
  const cex = results.filter((r) => r.verdict === 'violation');
  if (cex.length) {
    lines.push('', 'Counterexamples (replay with `vmamirror replay SCHEDULE`):', `  (${SCHEDULE_SYNTAX})`);
    for (const r of cex) {
      for (const v of r.violations ?? [{ ...r.violation!, schedule: r.schedule }]) lines.push(`  ${r.scenario}/${r.variant}: ${v.message}`, `    ${v.schedule}`);
    }
  }
  const inc = results.filter((r) => r.verdict === 'incomplete');
  for (const r of inc) lines.push(`  ${r.scenario}/${r.variant}: incomplete after ${r.states} states (${r.stopReason ?? 'limit reached'})`);
  lines.push(...recursionNotes(results));
  return lines.join('\n');
}

/**
 * The recursions the lock-order graphs saw (a class taken while held: lockdep's "possible recursive
 * locking"), grouped by class and step over the cells: not a verdict, a note under the table.
 */
function recursionNotes(results: readonly CheckResult[]): string[] {
  const by = new Map<string, string[]>();
  for (const r of results) {
    for (const x of r.lockOrder?.recursions ?? []) {
      const key = `${x.lock} taken while held, at ${x.witness.where}`;
      by.set(key, [...(by.get(key) ?? []), `${r.scenario}/${r.variant}`]);
    }
  }
  if (!by.size) return [];
  return ['', 'Lock-order notes (lockdep would report possible recursive locking; not a verdict):', ...[...by].map(([k, cells]) => `  ${k}: ${cells.join(', ')}`)];
}

/** The lock-order graph of one result: the cycle of a lock-order violation edge by edge, then the recursions, each with where it was first seen. */
function lockOrderLines(r: CheckResult, g: LockOrderSummary): string[] {
  const lines: string[] = [];
  const seen = (schedule: string | undefined) => (schedule ? [`      first seen: ${schedule}`] : []);
  if (r.violation?.property === LOCK_ORDER) {
    for (const c of g.cycles) {
      lines.push(`  lock order: ${[...c.classes, c.classes[0]].join(' → ')}`);
      for (const e of c.edges) lines.push(`    ${e.from} → ${e.to}: ${witnessText(e.witness)}`, ...seen(e.witness.schedule));
    }
  }
  for (const x of g.recursions) lines.push(`  note: ${x.lock} taken while held (lockdep: possible recursive locking): ${witnessText(x.witness)}`, ...seen(x.witness.schedule));
  return lines;
}

/**
 * Bytes per state: the visited set's, all the explorer's tables' (at their peak), and the whole
 * process's (what its resident memory grew by during the run).
 */
export function memoryPerState(r: CheckResult): string {
  const per = (b: number) => (r.states ? Math.max(0, b || 0) / r.states : 0).toFixed(1);
  return `B/state: ${r.bytesPerState.toFixed(1)} visited set, ${per(r.peakBytes)} all tables, ${per(r.rssGrowth)} process`;
}

/** What an exact proof (`--exact`) says about collisions: nothing was pruned by one. */
export const EXACT_NOTE = 'Every "holds" is exact: whole states were stored (--exact), so no state was hidden by a fingerprint collision.';

/** What "holds" means under hash compaction: the bound on a state hidden by a fingerprint collision. */
export function fingerprintLine(r: CheckResult): string {
  if (r.exact) return '\n  exact: whole states stored (visited set, preemption key, termination graph), so no state was hidden by a fingerprint collision';
  // From the state count (a merged shard result from an older file may not carry the bound).
  return `\n  fingerprints: a state hidden by a 64-bit fingerprint collision has probability ≤ ${collisionBound(r.states).toPrecision(2)} (birthday bound over ${r.states} states)`;
}

/**
 * What a proof under actor symmetry (a scenario's `symmetric:` with --symmetry) covers: every
 * verdict, fair termination on the region graph times the groups' permutations — unless that
 * product was too large, then everything but fair termination.
 */
export function actorSymmetryLine(r: CheckResult): string {
  const s = r.actorSymmetry;
  if (!s) return '';
  const groups = s.groups.map((g) => g.join(', ')).join('; ');
  const perms = s.groups.reduce((n, g) => n * factorial(g.length), 1);
  if (s.fairTermination === 'not checked') return `\n  actor symmetry: ${groups} interchangeable; the fair-termination check is not made: ${s.reason} (check without --symmetry for it)`;
  const fair = s.fairTermination === 'checked' ? `; fair termination checked on the region graph times the ${perms} permutations` : '';
  return `\n  actor symmetry: ${groups} interchangeable${fair}`;
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

/** The labels a complete search never ran, in the routines that ran (SPIN's "unreached in proctype"). */
export function unreachedLine(r: CheckResult): string {
  const u = r.unreached ?? [];
  if (!u.length) return '';
  const shown = u.slice(0, 3).join(', ');
  return `\n  unreached: ${u.length} label${u.length === 1 ? '' : 's'} of the routines that ran, never executed here (${shown}${u.length > 3 ? ', …; --json lists them' : ''})`;
}

/** What a proof assumed, in one line (the JSON output lists every access). */
export function assumedLine(r: CheckResult): string {
  if (!r.assumed) return '\n  assumed: not audited (every step was trusted to be one atomic action)';
  const n = r.assumed.accesses.length;
  const s = r.assumed.standIns.length;
  return `\n  assumed: sequential consistency for ${n} unprotected access${n === 1 ? '' : 'es'} (the kernel's memory model may reorder them; --json lists them)${s ? `, and ${s} model stand-in${s === 1 ? '' : 's'} for kernel data` : ''}`;
}

/** How to read the schedules of a result: its actors by number, and the syntax in short. */
function actorsLine(r: CheckResult): string {
  if (!r.actors) return '';
  return `\n  actors:   ${r.actors.map((a, i) => `${i} ${a}`).join(', ')} (a schedule is their steps in order; a*n: n steps of actor a; acK: alternative K of a branch)`;
}

/** With --max-violations / --all-violations: every distinct violation found, and whether the search went on to its end. */
function violationsLines(r: CheckResult): string {
  const vs = r.violations;
  if (!vs) return '';
  const why = r.stopReason
    ? `the search stopped (${r.stopReason}): there may be more`
    : vs.length > 1 || !r.violation
      ? 'the search went on to its end (a violating state is not expanded)'
      : 'the only one: the search went on to its end (a violating state is not expanded)';
  const list = vs.map((v, i) => `\n    ${i + 1}. ${v.property}: ${v.message}\n       ${v.schedule}`).join('');
  return `\n  distinct violations: ${vs.length} — ${why}; distinct means another check, or a message that differs in more than its numbers${list}`;
}

/** What a stopped breadth-first search still covers (`completeDepth`). */
function coveredLine(r: CheckResult): string {
  if (r.completeDepth === undefined) return '';
  const d = r.completeDepth;
  return `\n  covered:  every run of at most ${d} transition${d === 1 ? '' : 's'} (breadth-first: each of its states checked, each of its steps run); not the termination check, which needs every run`;
}

export function resultLine(r: CheckResult): string {
  const rate = r.elapsedMs > 0 ? Math.round((r.states / r.elapsedMs) * 1000) : 0;
  const head = `${r.scenario}/${r.variant}: ${r.verdict}${r.verdict === 'incomplete' && r.stopReason ? ` (${r.stopReason})` : ''}`;
  const stats = `${r.states} states, ${r.transitions} transitions, depth ${r.depth}, ${(r.elapsedMs / 1000).toFixed(2)} s (${rate} states/s; ${memoryPerState(r)})`;
  const locks = r.lockOrder
    ? lockOrderLines(r, r.lockOrder)
        .map((l) => `\n${l}`)
        .join('')
    : '';
  if (r.verdict !== 'violation') return `${head} — ${stats}${r.verdict === 'holds' ? fingerprintLine(r) + actorSymmetryLine(r) + assumedLine(r) + unreachedLine(r) : coveredLine(r)}${locks}`;
  const shrunk = r.shrunk ? `\n  shrunk:   ${r.shrunk.schedule} (${r.shrunk.preemptions} preemptions, from ${r.shrunk.fromPreemptions})` : '';
  // A finding of the whole search (an expected outcome no interleaving reached) has no schedule.
  if (r.violation!.property === OUTCOME && !r.violation!.schedule.length)
    return `${head} — ${r.violation!.property}: ${r.violation!.message}\n  ${stats}\n  no schedule: a finding over every interleaving the search explored${locks}`;
  // A search that went on past its violations (--all-violations) may have had no room for the termination product: say so.
  const unchecked = r.actorSymmetry?.fairTermination === 'not checked' ? actorSymmetryLine(r) : '';
  return `${head} — ${r.violation!.property}: ${r.violation!.message}\n  ${stats}\n  schedule: ${r.schedule}${shrunk}${actorsLine(r)}${violationsLines(r)}${unchecked}${locks}`;
}

/** `text` cut into lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/**
 * The text of `vmamirror replay`: the scenario (its description, each actor with its schedule
 * number and operations), the schedule and how to read it (and the one it was shrunk from), one
 * the legend of the fields the steps changed, the racing steps, one line per step with its changes
 * (`formatTrace`; a racing step marked `>`), then the verdict after the last step, or where the
 * replay stopped.
 */
export function replayText(t: Trace): string {
  const lines: string[] = [];
  if (t.description) lines.push(`Scenario ${t.scenario}:`, ...wrap(t.description, '  '), '');
  if (t.actors.length) {
    const width = Math.max(...t.actors.map((a) => a.length));
    lines.push('Actors (the numbers of the schedule) and their operations:');
    lines.push(...t.actors.map((a, i) => `  ${String(i).padStart(2)}  ${a.padEnd(width)}  ${t.operations?.[i]?.join('; ') || '(a daemon of the design)'}`));
    lines.push('');
  }
  lines.push(`Schedule: ${t.schedule}`, `  (${SCHEDULE_SYNTAX})`);
  if (t.shrunkFrom) lines.push(`  shrunk from ${t.shrunkFrom}, the schedule the search found (replay it to see the original trace)`);
  lines.push('');
  const racing = new Set(t.racing ?? []);
  const legend = legendFor(t.steps.flatMap((s) => s.changes.map((c) => c.what)));
  if (t.steps.length && legend.length) lines.push('Legend:', ...legend.flatMap((e) => wrap(`${e.name}: ${e.meaning}`, '  ').map((l, k) => (k ? `    ${l.trimStart()}` : l))), '');
  if (racing.size) {
    const named = [...racing].map((i) => `${t.steps[i].index} (${t.steps[i].actor} ${t.steps[i].where})`);
    lines.push(...wrap(`Racing steps, marked >: ${named.join(', ')} — the last step of each actor that wrote what the violation names, and the step after which it holds.`, ''), '');
  }
  if (t.steps.length) {
    const steps = t.steps.map((s, i) => {
      const text = formatTrace([s]);
      if (!racing.has(i)) return text;
      return text.startsWith(' ') ? `>${text.slice(1)}` : `>${text}`;
    });
    lines.push(...steps, '');
  }
  if (t.replayError) lines.push(`Replay stopped: ${t.replayError}`);
  else if (t.violated) lines.push(t.violated.property === KERNEL_BUG ? `KERNEL BUG: ${t.violated.message}` : `VIOLATED ${t.violated.property}: ${t.violated.message}`);
  else lines.push('No property is violated at the end of this schedule.');
  return lines.join('\n');
}

/**
 * The state tables (state-tables.ts) as text, each a title and aligned columns: what
 * `vmamirror replay --tables` prints after the trace. `after` says which state they are of.
 */
export function stateTablesText(tables: readonly StateTable[], after: string): string {
  if (!tables.length) return `No notifier, HMM range, sequence number or lock to show ${after}.`;
  const out = [`The kernel objects ${after}:`];
  for (const t of tables) out.push('', `${t.title}:`, ...aligned([t.columns, ...t.rows], '  '));
  return out.join('\n');
}
