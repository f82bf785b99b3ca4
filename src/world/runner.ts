/**
 * The deterministic runner: executes one step of one actor, or a whole schedule (a list of actor
 * choices), optionally recording a trace of every step with what it changed. The explorer drives
 * `execStep` directly; tests and `replay` use `runSchedule`.
 */
import { CALL_PC } from './layout.js';
import { BLOCK_SLEEP, BLOCK_SPIN, CALLED, RETURNED, type Locals, type StepResult } from './routine.js';
import { describeSlot } from './describe.js';
import type { World } from './world.js';
import { ModelError, ScheduleError } from './errors.js';
import { entryActor, entryChoice, entryOf } from './entry.js';

/** `execStep` result for a step that moved to another label of its routine. */
export const WENT = 0;

export type Outcome = 'goto' | 'call' | 'return' | 'sleep' | 'spin';

export interface Change {
  readonly what: string;
  readonly from: number;
  readonly to: number;
}

export interface TraceStep {
  readonly index: number;
  readonly actor: string;
  /** The schedule entry that ran it (the actor index, and the alternative if the step branched). */
  readonly entry: number;
  /** Set when the step branched (`w.choose`): the alternative taken, of how many. */
  readonly choice?: { readonly taken: number; readonly of: number };
  /** `routine:label` of the step that ran. */
  readonly where: string;
  /** The kernel code it models (`file:function`). */
  readonly at: string;
  readonly outcome: Outcome;
  /** `routine:label` where the actor stands after the step, or `done`. */
  readonly next: string;
  readonly changes: readonly Change[];
  readonly bugs: readonly string[];
}

export { ScheduleError } from './errors.js';

/**
 * Executes the next step of actor `a`. Returns WENT, CALLED, RETURNED, BLOCK_SLEEP or BLOCK_SPIN.
 * A blocked step must not have written anything; a step that does is a model bug and throws.
 * Kernel BUGs the step raised are left in `w.bugs` (cleared here first).
 */
export function execStep(w: World, a: number): number {
  const base = w.topFrame(a);
  if (base === undefined) throw new ScheduleError(`actor ${w.layout.actorNames[a]} has finished`);
  const routine = w.frameRoutine(base);
  const pc = w.v[base + CALL_PC];
  const view = routine.view;
  const frame = routine.frame;
  frame.w = w;
  frame.b = base;
  w.enter(a, routine, pc);
  const mutation = w.mutation;
  if (mutation !== null) mutation.beginStep(w);
  w.clearBugs();
  w.choices = 0;
  w.chosen = 0;
  w.yielded = false;
  const lo = w.v[0];
  const hi = w.v[1];
  if (w.audit || w.recorder) w.beginAudit(routine, pc);
  w.stepping = true;
  let r: StepResult;
  try {
    r = routine.steps[pc].run(w, view as unknown as Locals<string>);
  } finally {
    w.stepping = false;
  }
  if (w.auditing) w.endAudit(r === BLOCK_SLEEP || r === BLOCK_SPIN);
  if (mutation !== null && r !== BLOCK_SLEEP && r !== BLOCK_SPIN) mutation.endStep(w);
  if (w.reached !== null && r !== BLOCK_SLEEP && r !== BLOCK_SPIN) w.reached[w.routineId(routine)][pc] = 1;
  if (typeof r === 'string') {
    const next = routine.nextOf(pc, r);
    if (next === undefined) throw new ModelError(`${routine.where(pc)} went to unknown label ${r}`);
    w.set(base + CALL_PC, next);
    return WENT;
  }
  if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
    if (w.v[0] !== lo || w.v[1] !== hi) throw new ModelError(`${routine.where(pc)} blocked after writing the state`);
    if (r === BLOCK_SLEEP && w.actorNonblock(a) > 0) {
      w.bug(`${routine.name} would sleep in a non-blockable context (${routine.steps[pc].at})`);
    }
    return r;
  }
  if (r !== CALLED && r !== RETURNED) throw new ModelError(`${routine.where(pc)} returned ${r}, not a label or a w.call/w.ret/BLOCK result`);
  return r;
}

/** `routine:label` where actor `a` stands, or `done`. */
export function whereIs(w: World, a: number): string {
  const base = w.topFrame(a);
  if (base === undefined) return 'done';
  return w.frameRoutine(base).where(w.v[base + CALL_PC]);
}

/** Index of the actor called `name`. */
export function actorIndex(w: World, name: string): number {
  const i = w.layout.actorNames.indexOf(name);
  if (i < 0) throw new ScheduleError(`no actor named ${name} (actors: ${w.layout.actorNames.join(', ')})`);
  return i;
}

/**
 * Executes one step of schedule entry `entry` (an actor index, or `entryOf(actor, alternative)`
 * for a step that branches) and returns its trace record. Throws ScheduleError if the actor has
 * finished or is blocked — except for a blocked attempt that raises a BUG (sleeping where it must
 * not), which is recorded (outcome `sleep`/`spin`, state unchanged).
 */
export function traceStep(w: World, entry: number, index: number): TraceStep {
  const a = entryActor(entry);
  if (a < 0 || a >= w.layout.actorNames.length) throw new ScheduleError(`step ${index}: no actor ${a}`);
  const actor = w.layout.actorNames[a];
  const before = w.snapshot();
  const where = whereIs(w, a);
  const base = w.topFrame(a)!;
  const at = where === 'done' ? '' : w.frameRoutine(base).steps[w.v[base + CALL_PC]].at;
  const journal: number[] = [];
  w.journal = journal;
  w.choice = entryChoice(entry);
  // Every traced step is audited against its declared footprint (footprint.ts).
  const audit = w.audit;
  w.audit = true;
  let r: number;
  try {
    r = execStep(w, a);
  } finally {
    w.journal = null;
    w.choice = 0;
    w.audit = audit;
  }
  if (entryChoice(entry) > 0 && w.choices <= 1) throw new ScheduleError(`step ${index}: the step of ${actor} at ${where} does not branch, so it has no alternative ${entryChoice(entry)}`);
  const branch = w.choices > 1 ? { entry: entryOf(a, w.chosen), choice: { taken: w.chosen, of: w.choices } } : { entry: a };
  if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
    // A blocked attempt that raises a BUG (sleeping where it must not) is a step of its own in
    // the explorer's counterexamples: record it; any other blocked choice is not schedulable.
    if (w.bugs.length) {
      return { index, actor, ...branch, where, at, outcome: r === BLOCK_SLEEP ? 'sleep' : 'spin', next: where, changes: [], bugs: [...w.bugs] };
    }
    throw new ScheduleError(`step ${index}: actor ${actor} is blocked at ${where}`);
  }
  const changes: Change[] = [];
  for (let i = 0; i < journal.length; i += 3) {
    if (inDeadFrame(w, journal[i])) continue;
    const what = describeSlot(w, journal[i], before);
    if (what !== undefined) changes.push({ what, from: journal[i + 1], to: journal[i + 2] });
  }
  const outcome: Outcome = r === CALLED ? 'call' : r === RETURNED ? 'return' : 'goto';
  return { index, actor, ...branch, where, at, outcome, next: whereIs(w, a), changes: mergeChanges(changes), bugs: [...w.bugs] };
}

/** Whether slot `o` belongs to a call frame that is not live after the step (popped: its locals are dead). */
function inDeadFrame(w: World, o: number): boolean {
  const L = w.layout;
  if (o < L.callBase) return false;
  const frame = Math.floor((o - L.callBase) / L.callStride);
  return frame % L.stackDepth >= w.actorSp(Math.floor(frame / L.stackDepth));
}

/** Folds repeated writes of one slot into one change (first `from`, last `to`); drops no-ops. */
function mergeChanges(changes: Change[]): Change[] {
  const byWhat = new Map<string, { what: string; from: number; to: number }>();
  for (const c of changes) {
    const prev = byWhat.get(c.what);
    if (prev) prev.to = c.to;
    else byWhat.set(c.what, { ...c });
  }
  return [...byWhat.values()].filter((c) => c.from !== c.to);
}

/** Runs a schedule of actor names (or schedule entries) from the current state, recording each step. */
export function runSchedule(w: World, schedule: readonly (string | number)[]): TraceStep[] {
  return schedule.map((who, i) => traceStep(w, typeof who === 'number' ? who : actorIndex(w, who), i));
}

/**
 * Steps actor `name` until it stands at `where` (`routine:label`, not yet executed) and returns
 * the steps taken. Hand-written schedules in tests read as "run the fault until it takes the lock".
 */
export function runUntil(w: World, name: string, where: string, limit = 1000): TraceStep[] {
  const a = actorIndex(w, name);
  const steps: TraceStep[] = [];
  while (whereIs(w, a) !== where) {
    if (whereIs(w, a) === 'done') throw new ScheduleError(`actor ${name} finished without reaching ${where}`);
    if (steps.length >= limit) throw new ScheduleError(`actor ${name} did not reach ${where} in ${limit} steps (at ${whereIs(w, a)})`);
    steps.push(traceStep(w, a, steps.length));
  }
  return steps;
}

/** Steps actor `name` until it finishes. */
export function runToEnd(w: World, name: string, limit = 1000): TraceStep[] {
  return runUntil(w, name, 'done', limit);
}

/** Whether actor `a` can take a step now, in some alternative if it branches (executes it on a copy and discards the result). */
export function isEnabled(w: World, a: number): boolean {
  if (w.topFrame(a) === undefined) return false;
  const saved = w.v;
  const { choice, chooser } = w;
  w.chooser = null;
  try {
    for (let c = 0, n = 1; c < n; c++) {
      w.v = saved.slice();
      w.choice = c;
      const r = execStep(w, a);
      n = Math.max(1, w.choices);
      if (r !== BLOCK_SLEEP && r !== BLOCK_SPIN) return true;
    }
    return false;
  } finally {
    w.v = saved;
    w.choice = choice;
    w.chooser = chooser;
    w.clearBugs();
  }
}

/** Renders a trace as text, one line per step plus its changes. */
export function formatTrace(steps: readonly TraceStep[]): string {
  const lines: string[] = [];
  for (const s of steps) {
    const branch = s.choice ? ` [alternative ${s.choice.taken} of ${s.choice.of}]` : '';
    lines.push(`${String(s.index).padStart(3)} ${s.actor.padEnd(10)} ${s.where.padEnd(44)} ${s.at}${branch}`);
    for (const c of s.changes) lines.push(`      ${c.what}: ${c.from} -> ${c.to}`);
    for (const b of s.bugs) lines.push(`      BUG: ${b}`);
  }
  return lines.join('\n');
}
