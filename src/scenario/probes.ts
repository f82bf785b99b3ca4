/**
 * The run-time half of a scenario's expected outcomes (outcome.ts compiles them): the ghost
 * `outcome_probe` objects that hold the observations taken at named points, the workload's
 * recording of them (`recordProbes`, src/scenario/workload.ts) and the final judgement
 * (`outcomeMismatch`, asked by the `outcome` check of src/check/outcome.ts). Kept apart from the
 * compiler so that the workload imports no driver or table code.
 */
import type { World } from '../world/world.js';
import { defineStruct, type Layout } from '../world/layout.js';

/** One observation taken at a point: `status` 0 = not yet, 1 = held, 2 + k = check k failed (with `found`). */
export const PROBE = defineStruct('outcome_probe', ['status', 'found'] as const, { status: 'ghost', found: 'ghost' });

/** One thing asserted of a subject: what was found (a number, for the probe) and whether it is what was expected. */
export interface Check {
  read(w: World, result: number): { readonly found: number; readonly ok: boolean };
  /** The mismatch in words, from what was found. */
  describe(found: number): string;
}

export interface CompiledObservation {
  /** `pte source@0`, `result of cpu ops[1]`, … */
  readonly subject: string;
  readonly checks: readonly Check[];
  /** Taken at this point into probe object `slot` (an `after`, or a result). */
  readonly point?: { readonly actor: number; readonly op: number; readonly slot: number; readonly text: string };
}

export interface CompiledOutcome {
  readonly name: string;
  readonly observations: readonly CompiledObservation[];
}

export interface Compiled {
  readonly outcomes: readonly CompiledOutcome[];
  /** Per actor, per operation index: the observations taken when it moves on from that operation. */
  readonly probes: readonly (readonly CompiledObservation[][])[];
}

const STATICS = 'outcomes';

/** `found` of a probe whose entry mapped nothing (a check's NaN, which an Int32Array cannot hold). */
const NOTHING = -0x7fffffff;

/** Makes `c` the world's outcomes (the builder, once the layout is built). */
export function setOutcomes(layout: Layout, c: Compiled): void {
  layout.statics[STATICS] = c;
}

function compiled(layout: Layout): Compiled | undefined {
  return layout.statics[STATICS] as Compiled | undefined;
}

/** The names of the allowed outcomes, in order. */
export function outcomeNames(layout: Layout): string[] {
  return compiled(layout)?.outcomes.map((o) => o.name) ?? [];
}

/**
 * Takes the observations due when `actor` moves on from operation `op`, which returned `result`
 * (the workload's step: src/scenario/workload.ts). Their reads are the check's, not the model's:
 * not audited, and not part of any step's footprint.
 */
export function recordProbes(w: World, actor: number, op: number, result: number): void {
  const due = compiled(w.layout)?.probes[actor]?.[op];
  if (!due?.length) return;
  for (const c of due) {
    const [status, found] = w.instrument(() => {
      for (const [k, check] of c.checks.entries()) {
        const r = check.read(w, result);
        if (!r.ok) return [2 + k, Number.isNaN(r.found) ? NOTHING : r.found];
      }
      return [1, 0];
    });
    const p = w.obj(PROBE, c.point!.slot);
    p.status = status;
    p.found = found;
  }
}

/** The words for a point never reached (the operation never returned). */
const neverReached = (c: CompiledObservation) => (c.point!.text ? 'that point was never reached' : 'the operation never returned');

/** Why observation `c` does not hold in `w` (the end state), or undefined. */
function observationMismatch(w: World, c: CompiledObservation): string | undefined {
  if (c.point) {
    const p = w.obj(PROBE, c.point.slot);
    if (p.status === 0) return `${c.subject}${c.point.text}: ${neverReached(c)}`;
    if (p.status === 1) return undefined;
    return `${c.subject}${c.point.text}: ${c.checks[p.status - 2].describe(p.found === NOTHING ? Number.NaN : p.found)}`;
  }
  for (const check of c.checks) {
    const r = check.read(w, 0);
    if (!r.ok) return `${c.subject}: ${check.describe(r.found)}`;
  }
  return undefined;
}

/**
 * In a state where every actor has finished: the index of the first allowed outcome it matches,
 * or, when it matches none, why (the first mismatch of each).
 */
export function outcomeMismatch(w: World): { readonly matched: number } | { readonly message: string } {
  const c = compiled(w.layout);
  if (!c) return { matched: -1 };
  const why: string[] = [];
  for (const [i, alt] of c.outcomes.entries()) {
    const miss = alt.observations.map((o) => observationMismatch(w, o)).find((m) => m !== undefined);
    if (miss === undefined) return { matched: i };
    why.push(c.outcomes.length === 1 ? miss : `${alt.name}: ${miss}`);
  }
  return { message: c.outcomes.length === 1 ? `not the expected outcome: ${why[0]}` : `matches none of the ${c.outcomes.length} allowed outcomes (${why.join('; ')})` };
}
