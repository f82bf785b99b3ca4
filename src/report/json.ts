/**
 * The JSON of a trace, as `vmamirror check --json` prints it for a counterexample (the `trace`
 * field of a violating result). Steps carry what each one did — actor, `routine:label`, the
 * kernel function it models, how it ended, every field it changed, the BUGs it raised — but no
 * layer snapshots: the changes already name every field a step wrote, the snapshots would
 * multiply the output by the size of every layer at every step (for every violating cell of the
 * catalogue), and they are one `vmamirror check --html` (or `traceOf`) away.
 */
import type { Found } from '../engine/verdict.js';
import type { Change, Outcome } from '../world/runner.js';
import type { Trace } from './trace.js';

export interface TraceStepJson {
  readonly index: number;
  readonly actor: string;
  /** `routine:label` of the step. */
  readonly where: string;
  /** The kernel code it models (`path/file.c:function`). */
  readonly at: string;
  /** `goto`, `call`, `return`, or `sleep`/`spin` for an attempt that blocked (and raised a BUG). */
  readonly outcome: Outcome;
  /** `routine:label` where the actor stands after the step, or `done`. */
  readonly next: string;
  /** Present when the step branched: the alternative taken, of how many. */
  readonly choice?: { readonly taken: number; readonly of: number };
  readonly changes: readonly Change[];
  readonly bugs: readonly string[];
}

export interface TraceJson {
  /** The schedule replayed (`SCENARIO/VARIANT:CHOICES`): the shrunk one when there is one. */
  readonly schedule: string;
  /** Present when `schedule` is shrunk: the schedule the search found. */
  readonly shrunkFrom?: string;
  /** Actor names, by actor index (the numbers of the schedule). */
  readonly actors: readonly string[];
  readonly steps: readonly TraceStepJson[];
  /** Present when the schedule could not be replayed in full. */
  readonly replayError?: string;
  /** The verdict after the last step (`kernel-bug` or a property, with its message), or null. */
  readonly violated: Found | null;
  /** Present with a violation: indices into `steps` of the racing steps (src/report/legend.ts). */
  readonly racing?: readonly number[];
}

export function traceJson(t: Trace): TraceJson {
  return {
    schedule: t.schedule,
    ...(t.shrunkFrom !== undefined && { shrunkFrom: t.shrunkFrom }),
    actors: t.actors,
    steps: t.steps.map((s) => ({
      index: s.index,
      actor: s.actor,
      where: s.where,
      at: s.at,
      outcome: s.outcome,
      next: s.next,
      ...(s.choice && { choice: s.choice }),
      changes: s.changes,
      bugs: s.bugs,
    })),
    ...(t.replayError !== undefined && { replayError: t.replayError }),
    violated: t.violated ? { property: t.violated.property, message: t.violated.message } : null,
    ...(t.racing && { racing: t.racing }),
  };
}
