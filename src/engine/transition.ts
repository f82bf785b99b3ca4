/**
 * One merged transition's tail, shared by the exhaustive drivers (exhaustive.ts, and the worker
 * threads of parallel.ts): after a step of an actor, the steps of the same actor that are invisible
 * (they touch only its own call frames) join the transition — see exhaustive.ts for why that is
 * sound.
 */
import { BLOCK_SLEEP, BLOCK_SPIN, CALLED } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { LockOrder } from '../world/lock-order.js';
import { ModelError } from '../world/errors.js';
import { ACTOR_SLOTS, ACTOR_SP, type Layout } from '../world/layout.js';
import { fmix32 } from '../world/hash.js';
import type { Verdicts } from './verdict.js';
import { grow } from './grow.js';

/**
 * Whether actor `a` can step from `w`'s state in some alternative (`w.choose`): each is tried and
 * taken back, until one does not block. The preemption bound's question about the actor that ran
 * last (exhaustive.ts, parallel-expand.ts): switching away from it while it can run costs one.
 */
export function canStep(w: World, a: number): boolean {
  if (w.actorSp(a) === 0) return false;
  for (let c = 0, n = 1; c < n; c++) {
    const mark = w.undoMark();
    w.choice = c;
    const r = execStep(w, a);
    w.choice = 0;
    n = Math.max(1, w.choices);
    w.undoTo(mark);
    w.clearBugs();
    if (r !== BLOCK_SLEEP && r !== BLOCK_SPIN) return true;
  }
  return false;
}

/**
 * After a step of `a` (on the loaded state): extend the transition with the steps that are
 * invisible (own frames only). Returns the number of extra steps, or -1 - n if a BUG was raised
 * (left in w.bugs) where n extra steps (the last one possibly a blocked attempt) show it. A step
 * that branches (`w.choose`) is never absorbed: it starts a transition of its own, so that each
 * of its alternatives is explored. `at(n)` is told, before each step, that the transition is then
 * n steps long (the lock-order graph's witness schedules).
 *
 * The audit: the step tried after a visible one runs with the audit off. Taken back
 * (about two in three), it runs again, audited, from the same state when that state is expanded:
 * the audit of the try would only repeat that one's (its BUGs are dropped with it, its assumed
 * accesses are noted then, its model errors thrown then). Kept, it touched nothing but its own
 * frames, where the lock discipline and the footprint's fields check nothing; only a call it makes
 * is checked against the footprint, so a kept step that called runs again, audited.
 *
 * `memo`: a try it knows is taken back is not run (LookaheadMemo, below).
 */
export function extendTransition(w: World, verdicts: Verdicts, a: number, lastInvisible: boolean, lo: LockOrder | null, at?: (steps: number) => void, memo?: LookaheadMemo): number {
  let extra = 0;
  for (;;) {
    if (w.actorSp(a) === 0) return extra;
    if (extra > 100000) throw new ModelError(`actor ${w.layout.actorNames[a]} runs more than 100000 steps touching only its own frames`);
    at?.(extra + 2);
    const locks = lo ? lo.mark() : 0;
    if (lastInvisible) {
      // The step just taken was invisible: it commutes with everything, so the next step joins it.
      const before = w.undoMark();
      w.trackActor(a);
      const r = execStep(w, a);
      w.tracking = false;
      if (w.choices > 1) {
        w.clearBugs();
        w.undoTo(before);
        return extra;
      }
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
        lo?.rollback(locks);
        return verdicts.raised(w) ? -2 - extra : extra; // the blocked attempt is in the schedule
      }
      extra++;
      if (verdicts.raised(w)) return -1 - extra;
      lastInvisible = !w.touchedShared;
      continue;
    }
    // The step just taken was visible: absorb the next one only if it is invisible. Unaudited
    // (see above), unless footprints are being recorded. A try the memo knows is taken back is not run.
    if (memo?.knows(w, a)) return extra;
    const mark = w.undoMark();
    const audit = w.audit && w.recorder === null;
    if (audit) w.audit = false;
    w.trackActor(a);
    let r = execStep(w, a);
    w.tracking = false;
    if (audit) w.audit = true;
    if (r === BLOCK_SLEEP || r === BLOCK_SPIN || w.touchedShared || w.choices > 1 || verdicts.raised(w)) {
      // Taken back; what it recorded stays, unless it blocked (a step from a reachable state, which
      // the search runs again as a transition of its own).
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) lo?.rollback(locks);
      w.clearBugs();
      w.undoTo(mark);
      memo?.remember(w);
      return extra;
    }
    if (audit && r === CALLED) {
      // Kept, and it called a routine: the one thing the audit checks of a step that touched only
      // its own frames is that call (against its footprint's `calls`). Run again, audited.
      w.undoTo(mark);
      r = execStep(w, a);
    }
    extra++;
  }
}

/**
 * The look-ahead tries taken back, by what decided them (extendTransition). A step runs as a
 * deterministic function of what it reads. Until its first access outside its actor's own call
 * frames and actor slots (which the step merging's tracking sees, `World.noteAccess`) it reads only
 * its own frame — its routine, label, locals and result, through the runner and the locals view —
 * and its actor's slots (the stack pointer, the non-blockable depth); a frame below it is only
 * written (a call's resume label, a return's result). So whether it touches shared state, blocks,
 * branches or raises a BUG before that access is decided by those slots, and once it touches
 * shared state the try is taken back whatever follows. A try from a state where the actor's top
 * frame and actor slots hold what they held at a try taken back before is taken back too, and is
 * not run: the same transitions, states and counts. Keys are stored whole and compared slot by
 * slot (nothing rests on a hash). The model's steps read the state through the tracked accessors
 * (`w.get`, the views; a stand-in's reads too: `kzalloc`'s scan of the free objects' krefs is one);
 * were some step to read shared state the tracking does not see before its first shared access, a
 * try could be skipped that would have joined the transition: the transition ends earlier, which
 * adds states but loses none (merging is what the reduction adds). Only with
 * nothing but the state observing a try: no lock-order graph (a try records its lock edges), no
 * footprint recorder, no mutant (its plan counts the sites it passes).
 */
export class LookaheadMemo {
  /** Open-addressed table of record offsets + 1 into `records` (0: empty); at most half full. */
  private table = new Int32Array(1 << 12);
  private used = 0;
  /** Records of `KEY` words back to back: [hash, actor, actor slots…, top frame…]. */
  private records: Int32Array<ArrayBuffer>;
  private top = 0;
  private readonly key: number;
  /** The key `knows` looked up last: its hash and actor, and where its slots are. */
  private hash = 0;
  private actor = -1;
  private actorSlots = 0;
  private frame = 0;

  constructor(private readonly layout: Layout) {
    this.key = 2 + ACTOR_SLOTS + layout.callStride;
    this.records = new Int32Array(this.key << 10);
  }

  /** A memo for the searches of `w` when nothing but the state observes a try (above): no lock-order graph `lo`, no recorder, no mutant; else none. */
  static of(w: World, lo: LockOrder | null): LookaheadMemo | undefined {
    return lo === null && w.recorder === null && w.mutation === null ? new LookaheadMemo(w.layout) : undefined;
  }

  /** Whether a try of actor `a`'s next step (it has one) from the loaded state is known to be taken back; the key stays for `remember`. */
  knows(w: World, a: number): boolean {
    const L = this.layout;
    const v = w.v;
    const actorSlots = L.actorSlot(a);
    const frame = L.callSlot(a, v[actorSlots + ACTOR_SP] - 1);
    // Only a bucket to start from (keys are compared whole): a multiply by 31 per slot, then one finaliser.
    let h = a;
    for (let o = actorSlots; o < actorSlots + ACTOR_SLOTS; o++) h = (Math.imul(h, 31) + v[o]) | 0;
    const end = frame + L.callStride;
    for (let o = frame; o < end; o++) h = (Math.imul(h, 31) + v[o]) | 0;
    h = fmix32(h);
    this.hash = h;
    this.actor = a;
    this.actorSlots = actorSlots;
    this.frame = frame;
    const t = this.table;
    const mask = t.length - 1;
    for (let i = h & mask; t[i] !== 0; i = (i + 1) & mask) if (this.matches(v, t[i] - 1)) return true;
    return false;
  }

  /** Whether the record at `r` is the key `knows` computed, slot by slot. */
  private matches(v: Int32Array, r: number): boolean {
    const rec = this.records;
    if (rec[r] !== this.hash || rec[r + 1] !== this.actor) return false;
    let p = r + 2;
    for (let o = this.actorSlots; o < this.actorSlots + ACTOR_SLOTS; o++) if (rec[p++] !== v[o]) return false;
    const end = this.frame + this.layout.callStride;
    for (let o = this.frame; o < end; o++) if (rec[p++] !== v[o]) return false;
    return true;
  }

  /** The try `knows` was last asked about was taken back, and `w` is back at the state it ran from: remember the key. */
  remember(w: World): void {
    if (this.top + this.key > this.records.length) this.records = grow(this.records);
    const rec = this.records;
    const v = w.v;
    const r = this.top;
    rec[r] = this.hash;
    rec[r + 1] = this.actor;
    let p = r + 2;
    for (let o = this.actorSlots; o < this.actorSlots + ACTOR_SLOTS; o++) rec[p++] = v[o];
    for (let o = this.frame; o < this.frame + this.layout.callStride; o++) rec[p++] = v[o];
    this.top = p;
    if (++this.used * 2 > this.table.length) this.grow();
    else this.insert(this.table, r);
  }

  private insert(t: Int32Array, r: number): void {
    const mask = t.length - 1;
    let i = this.records[r] & mask;
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = r + 1;
  }

  /** Doubles the table and files every record again (the last one included). */
  private grow(): void {
    const t = new Int32Array(this.table.length * 2);
    for (let r = 0; r < this.top; r += this.key) this.insert(t, r);
    this.table = t;
  }

  /** Keys held. */
  get size(): number {
    return this.used;
  }
}
