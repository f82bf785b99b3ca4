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
import type { Verdicts } from './verdict.js';

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
 */
export function extendTransition(w: World, verdicts: Verdicts, a: number, lastInvisible: boolean, lo: LockOrder | null, at?: (steps: number) => void): number {
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
    // (see above), unless footprints are being recorded.
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
