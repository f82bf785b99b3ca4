/**
 * Hand-written schedules as phases: "run actor A until it stands at routine:label (or finishes,
 * or blocks)". Properties are checked after every step; the first violation is returned. Being
 * lenient about blocking lets one schedule be replayed against several variants whose step
 * structure differs: a variant that makes the actor wait simply ends that phase early.
 */
import type { World } from '../../src/world/world.js';
import type { Property } from '../../src/engine/verdict.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { Verdicts } from '../../src/engine/verdict.js';
import { actorIndex, isEnabled, traceStep, whereIs, type TraceStep } from '../../src/world/runner.js';

export interface Phase {
  readonly actor: string;
  /** `routine:label` to stop before; `end` runs it to completion (or until it blocks). */
  readonly until?: string;
  /** `routine:label` to stop right after (the first step executed there). */
  readonly after?: string;
}

export interface PhaseRun {
  readonly trace: TraceStep[];
  readonly violation?: { property: string; message: string; step: number };
}

export function runPhases(w: World, phases: readonly Phase[], properties: readonly Property[] = PROPERTIES, limit = 2000): PhaseRun {
  const trace: TraceStep[] = [];
  const verdicts = new Verdicts(properties); // kernel BUGs first, then the properties, as the explorer
  const check = (): PhaseRun['violation'] => {
    const found = trace.length ? verdicts.afterStep(w) : verdicts.state(w);
    return found && { ...found, step: trace.length - 1 };
  };
  for (const ph of phases) {
    const a = actorIndex(w, ph.actor);
    while (whereIs(w, a) !== ph.until && whereIs(w, a) !== 'done' && isEnabled(w, a)) {
      if (trace.length >= limit) throw new Error(`phase ${ph.actor} → ${ph.until ?? ph.after} did not end within ${limit} steps`);
      const step = traceStep(w, a, trace.length);
      trace.push(step);
      const v = check();
      if (v) return { trace, violation: v };
      if (step.where === ph.after) break;
    }
  }
  return { trace };
}

/** Runs every actor round-robin to completion (no violation expected), checking properties. */
export function runAllToEnd(w: World, properties: readonly Property[] = PROPERTIES): PhaseRun {
  const names = w.layout.actorNames;
  for (let guard = 0; guard < 100; guard++) {
    const r = runPhases(
      w,
      names.map((n) => ({ actor: n, until: 'end' })),
      properties,
    );
    if (r.violation) return r;
    if (names.every((_, a) => whereIs(w, a) === 'done')) return r;
  }
  throw new Error('actors did not finish');
}
