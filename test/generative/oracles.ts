/**
 * Oracles that need no expected value, for generated scenarios (scenarios.ts): each returns what
 * is wrong (one sentence) or undefined. Shared by test/generative/model.test.ts (the bounded CI
 * run) and scripts/fuzz.ts (`npm run fuzz`, the long run).
 */
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { checkOne, type CheckOptions, type CheckResult } from '../../src/check/run.js';
import { propertiesOf } from '../../src/check/properties.js';
import { judgeSchedule } from '../../src/engine/replay.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { DEADLOCK, TERMINATION } from '../../src/engine/verdict.js';

/** States per search: generated scenarios are small, and a capped search is simply not judged. */
export const MAX_STATES = 2000;

export function check(spec: ScenarioSpec, design: MirrorVariant, opts: CheckOptions = {}): CheckResult {
  return checkOne(spec, design, { maxStates: MAX_STATES, ...opts });
}

const what = (r: CheckResult) => `${r.violation!.property}: ${r.violation!.message}`;

/**
 * Findings of the generator that are not bugs of the generated scenario and are reported, not
 * fixed here (each pinned by known.test.ts, so it is noticed when the model changes):
 *   - two tasks of the introspector, one writing the mirror page the other reads, can livelock
 *     under weak fairness: the read fault installs a read-only pte, the write's pfn_mkwrite zaps
 *     it before the reader retries its load, and the reader's refault reinstalls it read-only
 *     before the writer retries its store (src/mirror/interval.ts mirror_pfn_mkwrite).
 * (A KVM notifier waiting for kvm->mmu_lock for write behind a vCPU's retrying fault was one too,
 * until the termination check held lock waiters to strong fairness: fixed, see known.test.ts.)
 */
export function knownFinding(spec: ScenarioSpec, r: CheckResult): string | undefined {
  if (r.violation?.property !== TERMINATION) return undefined;
  const mirror = spec.actors.map((a) => a.ops.filter((op) => op.op === 'access' && op.mm === 'introspector'));
  if (mirror.filter((ops) => ops.length > 0).length >= 2 && mirror.some((ops) => ops.some((op) => op.op === 'access' && op.write))) return 'mirror-mkwrite-livelock';
  return undefined;
}

/**
 * One actor (nothing to race with) finishes, under any design: no livelock, no deadlock. (A broken
 * design may still BUG alone — the 2019 seed takes its mutex in the OOM reaper's non-blockable
 * invalidation — so a kernel BUG is judged by correctedHolds, for the corrected design.)
 */
export function loneActorCompletes(spec: ScenarioSpec, design: MirrorVariant, r = check(spec, design)): string | undefined {
  const bad = [TERMINATION, DEADLOCK];
  if (r.verdict === 'violation' && bad.includes(r.violation!.property)) return `a lone actor under ${design.name}: ${what(r)}`;
  return undefined;
}

/** The corrected design holds (a capped search is not judged; known findings are counted, not failed). */
export function correctedHolds(spec: ScenarioSpec, design: MirrorVariant, r = check(spec, design)): string | undefined {
  if (r.verdict === 'violation' && !knownFinding(spec, r)) return `${design.name} violates ${what(r)} (schedule ${r.schedule})`;
  return undefined;
}

/**
 * The search's verdict does not depend on its reduction: with step merging off, with a
 * preemption bound (a bounded search may miss a violation but never invents one, and finds none
 * where the full search proves there is none), and with the counter abstraction. Searches the cap stopped are not compared.
 */
export function reductionAgrees(spec: ScenarioSpec, design: MirrorVariant, full = check(spec, design)): string | undefined {
  if (full.verdict === 'incomplete') return undefined;
  const unmerged = check(spec, design, { merge: false });
  if (unmerged.verdict !== 'incomplete' && unmerged.verdict !== full.verdict) return `${design.name}: ${full.verdict} with step merging, ${unmerged.verdict} without`;
  const bounded = check(spec, design, { preemptions: 1 });
  if (bounded.verdict === 'violation' && full.verdict === 'holds') return `${design.name}: holds, but with at most 1 preemption ${what(bounded)}`;
  // The counter abstraction (src/engine/counters.ts, checked against its contract): the same verdict
  // (not necessarily the same first violation where several lie at one depth: the quotient's
  // breadth-first order may meet another first), in no more states.
  const renamed = check(spec, design, { counters: { check: true } });
  if (renamed.verdict !== 'incomplete' && renamed.verdict !== full.verdict) return `${design.name}: ${full.verdict} concretely, ${renamed.verdict} with --abstract-counters`;
  if (renamed.verdict !== 'incomplete' && renamed.states > full.states) return `${design.name}: ${renamed.states} states with --abstract-counters, more than the ${full.states} of the concrete search`;
  return undefined;
}

/** A counterexample replays from its printed schedule to the same violation (src/engine/replay.ts). */
export function counterexampleReplays(spec: ScenarioSpec, design: MirrorVariant, r: CheckResult): string | undefined {
  if (r.verdict !== 'violation' || !r.schedule) return undefined;
  const { choices } = decodeSchedule(r.schedule);
  const w = buildScenario(spec, design).world;
  w.audit = true;
  const found = judgeSchedule(w, choices, { properties: propertiesOf(design) });
  if (found?.property !== r.violation!.property)
    return `${design.name}: the search found ${what(r)} but its schedule ${r.schedule} replays to ${found ? `${found.property}: ${found.message}` : 'no violation'}`;
  return undefined;
}

/** A violation that is the design's (not a known finding of the model): what "caught" means. */
export function caught(spec: ScenarioSpec, r: CheckResult): boolean {
  return r.verdict === 'violation' && !knownFinding(spec, r);
}

/**
 * `design` is caught on `spec`, a superset of a catalogue scenario it is caught on: the violating
 * interleaving is still there (every base actor's operations come first, the added ones after, and
 * the added actors may stay idle), so a search that completes must find a violation.
 */
export function caughtOnSuperset(spec: ScenarioSpec, design: MirrorVariant, base: string, r = check(spec, design)): string | undefined {
  if (r.verdict === 'holds' || (r.verdict === 'violation' && !caught(spec, r)))
    return `${design.name} is caught on catalogue scenario ${base} but not on this superset of it (${r.verdict === 'holds' ? 'holds' : what(r)})`;
  return undefined;
}
