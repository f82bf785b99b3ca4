/**
 * Mutation testing of a driver (`vmamirror mutate`): are the scenarios strong enough to catch the
 * mistakes a driver author makes at its kernel-API call sites?
 *
 *   1. Enumerate: the design is checked on every scenario with a recording plan
 *      (src/kernel/mutation-hooks.ts) — every hooked call its driver code makes names a site —
 *      which is also its baseline: only the scenarios it holds on judge its mutants.
 *   2. One mutant per site and category (`category@routine:label`), plus the drop-barrier sites:
 *      the design's steps that made an unprotected access in the baseline (or declare one).
 *   3. Each mutant is checked on the judging scenarios, cheapest first, until one catches it; its
 *      counterexample is shrunk (fewest preemptions, actors, steps).
 *
 * Outcomes: caught (property, scenario, shrunk schedule); survived (the scenarios run and a hint:
 * which actors a scenario would need to expose it); accepted (survived, and the design records
 * why it is a valid design too: `MirrorVariant.acceptedMutants`); not checkable (drop-barrier: the
 * model assumes sequential consistency); model error (a ModelError while checking it: never
 * counted as caught); incomplete (a limit or an interrupt stopped a check before it decided).
 */
import { MUTATION_CATEGORIES, MutationPlan, type MutationCategory } from '../kernel/mutation-hooks.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { ModelError } from '../world/errors.js';
import { cellCost } from './costs.js';
import { checkOne, type CheckOptions, type CheckResult } from './run.js';

export interface Mutant {
  /** `category@site`, or just the category for a category with no site (drop-barrier of a design that declares no lockless read). */
  readonly id: string;
  readonly category: MutationCategory;
  /** `routine:label` (`#k`), or '' for none. */
  readonly site: string;
}

export type MutantOutcome = 'caught' | 'survived' | 'accepted' | 'not-checkable' | 'model-error' | 'incomplete';

export interface MutantResult {
  readonly mutant: Mutant;
  readonly outcome: MutantOutcome;
  /** The scenarios it was checked on, in order (for a caught one: up to the one that caught it). */
  readonly scenarios: readonly string[];
  /** Caught: where, what, and the counterexample (replay it with `vmamirror replay SCHEDULE --mutant ID`). */
  readonly caught?: {
    readonly scenario: string;
    readonly property: string;
    readonly message: string;
    /** The search's (shortest) schedule. */
    readonly schedule: string;
    readonly steps: number;
    /** The shrunk one, when shrinking ran. */
    readonly shrunk?: { readonly schedule: string; readonly steps: number; readonly preemptions: number };
  };
  /** Accepted: the design's reason; not checkable: why; model error: its message; incomplete: what stopped. */
  readonly reason?: string;
  /** Survived: which scenario is missing, as actors it would need. */
  readonly hint?: string;
  /** Caught although the design records it as accepted: that reason is wrong. */
  readonly staleReason?: string;
}

export interface MutateReport {
  readonly design: string;
  /** The scenarios the design holds on, cheapest first: the ones that judge its mutants. */
  readonly judges: readonly string[];
  /** Scenarios the design itself does not hold on (violated, or not finished): they judge nothing. */
  readonly excluded: readonly { readonly scenario: string; readonly verdict: string; readonly property?: string; readonly stopReason?: string }[];
  readonly mutants: readonly MutantResult[];
  /** Accepted reasons of the design for ids that are not among its mutants (when every baseline finished). */
  readonly unknownAccepted: readonly string[];
}

export interface MutateOptions extends Pick<CheckOptions, 'maxStates' | 'shouldStop'> {
  /** The time left for the whole run, asked before each check (undefined: no limit). */
  readonly remainingMs?: () => number | undefined;
  /** Called once per mutant as soon as it is judged. */
  readonly onMutant?: (r: MutantResult, index: number, total: number) => void;
  /** Called with the baseline before the mutants are checked. */
  readonly onBaseline?: (judges: readonly string[], excluded: MutateReport['excluded'], mutants: readonly Mutant[]) => void;
}

/** What a survivor of each category needs a scenario to have. */
const HINTS: Record<MutationCategory, string> = {
  'drop-lock':
    'two tasks inside what this lock guards at once: an access through the mirror racing an invalidation of the source page (reclaim, migration, munmap, mprotect, a COW break), or two tasks faulting on the mirror',
  'drop-unlock': 'a task that takes the same lock after this path left it (a second access through the mirror, or an invalidation after the first one), run to its end',
  'drop-recheck': "an invalidation of the source page (reclaim, migration, munmap, mprotect, a COW break) between the fault's snapshot of the source pte and its install",
  'swap-set-seq': "a fault that reads the sequence between the callback's teardown and its set_seq (none can while both are under the driver's lock)",
  'set-seq-outside-lock':
    "an access through the mirror that faults between the callback's unlock and the late set_seq while the invalidation it answers frees or moves the source page (reclaim or migration)",
  'install-writable': 'a source page mapped read-only when the mirror installs it (COW-shared after fork, fresh from swap, after mprotect), and an access through the mirror',
  'drop-dontcopy': 'an introspector that forks while the mirror maps a page, then an invalidation of the source page (reclaim)',
  'drop-registration': 'an invalidation of the source page after an access through the mirror mapped it',
  'drop-barrier': '',
};

const SEQUENTIAL_CONSISTENCY = 'the model assumes sequential consistency, so a missing READ_ONCE/WRITE_ONCE or memory barrier changes nothing it can observe';

/** The mutant `id` (`category@routine:label`, `#k`), or a sentence saying what is wrong with it. */
export function parseMutantId(id: string): Mutant | string {
  const m = /^([a-z-]+)(?:@([A-Za-z0-9_]+:[A-Za-z0-9_]+(?:#[1-9][0-9]*)?))?$/.exec(id);
  const category = m?.[1] as MutationCategory | undefined;
  if (!m || !category || !MUTATION_CATEGORIES.includes(category)) {
    return `mutant "${id}": expected CATEGORY@ROUTINE:LABEL, e.g. drop-lock@mirror_invalidate:lock; categories: ${MUTATION_CATEGORIES.join(', ')}`;
  }
  if (!m[2] && category !== 'drop-barrier') return `mutant "${id}": ${category} needs a site (@ROUTINE:LABEL)`;
  return { id, category, site: m[2] ?? '' };
}

/** `design` with the mutation `mutant` (the scenario builder puts its plan on the world). */
export function mutantVariant(design: MirrorVariant, mutant: Mutant): MirrorVariant {
  return { ...design, mutation: new MutationPlan({ category: mutant.category, site: mutant.site }) };
}

/** The scenarios `design` applies to, cheapest first (by the measured cost of the cell, else catalogue order). */
function byCost(design: MirrorVariant, scenarios: readonly ScenarioSpec[]): ScenarioSpec[] {
  return scenarios
    .map((s, i) => ({ s, i, cost: cellCost(`${s.name}/${design.name}`) }))
    .sort((a, b) => a.cost - b.cost || a.i - b.i)
    .map((x) => x.s);
}

/** Sorts mutants by category, then by where the site is in the design (fault path first), then by site. */
function siteOrder(design: MirrorVariant): (a: Mutant, b: Mutant) => number {
  const routines = design.routines.map((r) => r.name);
  const key = (m: Mutant): [number, number, number, string] => {
    const [routine, rest = ''] = m.site.split(':');
    const r = design.routines.find((x) => x.name === routine);
    const label = rest.split('#')[0];
    return [MUTATION_CATEGORIES.indexOf(m.category), r ? routines.indexOf(routine) : routines.length, r ? (r.labelIndex[label] ?? 0) : 0, m.site];
  };
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || (x[3] < y[3] ? -1 : x[3] > y[3] ? 1 : 0);
  };
}

/**
 * drop-barrier: every step of the design that made an unprotected shared access in the baseline
 * (the accesses its proofs assumed sequentially consistent: `CheckResult.assumed`) or declares a
 * lockless read; the category once when there is none.
 */
function barrierMutants(design: MirrorVariant, baseline: readonly CheckResult[]): Mutant[] {
  const own = new Set(design.routines.map((r) => r.name));
  const declared = design.routines.flatMap((r) => r.steps.flatMap((s, pc) => (s.lockless?.length ? [r.where(pc)] : [])));
  const assumed = baseline.flatMap((r) => r.assumed?.accesses ?? []).map((a) => a.slice(0, a.indexOf(': ')));
  const sites = [...new Set([...declared, ...assumed.filter((site) => own.has(site.split(':')[0]))])].sort();
  if (!sites.length) return [{ id: 'drop-barrier', category: 'drop-barrier', site: '' }];
  return sites.map((site) => ({ id: `drop-barrier@${site}`, category: 'drop-barrier', site }));
}

function checkOptions(opts: MutateOptions, shrink: boolean): CheckOptions {
  return { maxStates: opts.maxStates, shouldStop: opts.shouldStop, timeLimitMs: opts.remainingMs?.(), shrink };
}

/** Checks `design` on every scenario, recording the sites its driver code calls the kernel API from: the baseline and the mutants. */
export function enumerateMutants(
  design: MirrorVariant,
  scenarios: readonly ScenarioSpec[],
  opts: MutateOptions = {},
): { mutants: Mutant[]; baseline: CheckResult[]; reachedOn: Map<string, string[]> } {
  const reachedOn = new Map<string, string[]>();
  const baseline = byCost(design, scenarios).map((spec) => {
    const plan = new MutationPlan(null, { record: true });
    const r = checkOne(spec, { ...design, mutation: plan }, checkOptions(opts, false));
    for (const id of plan.seen!) reachedOn.set(id, [...(reachedOn.get(id) ?? []), spec.name]);
    return r;
  });
  const mutants = [...reachedOn.keys()].map((id) => parseMutantId(id) as Mutant);
  return { mutants: [...mutants, ...barrierMutants(design, baseline)].sort(siteOrder(design)), baseline, reachedOn };
}

/** Checks one mutant on the judging scenarios (cheapest first) until one catches it. */
export function checkMutant(design: MirrorVariant, mutant: Mutant, judges: readonly ScenarioSpec[], opts: MutateOptions = {}, reachedOn: readonly string[] = []): MutantResult {
  if (mutant.category === 'drop-barrier') {
    const what = mutant.site
      ? `the unprotected access at ${mutant.site} without its barrier behaves the same`
      : 'and the design makes no unprotected shared access in the scenarios (nothing a barrier could order)';
    return { mutant, outcome: 'not-checkable', scenarios: [], reason: `${SEQUENTIAL_CONSISTENCY}; ${what}` };
  }
  const variant = mutantVariant(design, mutant);
  const accepted = design.acceptedMutants?.[mutant.id];
  const run: string[] = [];
  let stopped: CheckResult | undefined;
  for (const spec of judges) {
    run.push(spec.name);
    let r: CheckResult;
    try {
      r = checkOne(spec, variant, checkOptions(opts, true));
    } catch (e) {
      if (e instanceof ModelError) return { mutant, outcome: 'model-error', scenarios: run, reason: `on ${spec.name}: ${e.message}` };
      throw e;
    }
    if (r.verdict === 'violation') {
      const v = r.violation!;
      const caught: MutantResult['caught'] = {
        scenario: spec.name,
        property: v.property,
        message: v.message,
        schedule: r.schedule!,
        steps: v.schedule.length,
        shrunk: r.shrunk && { schedule: r.shrunk.schedule, steps: r.shrunk.steps, preemptions: r.shrunk.preemptions },
      };
      return { mutant, outcome: 'caught', scenarios: run, caught, ...(accepted ? { staleReason: accepted } : {}) };
    }
    if (r.verdict === 'incomplete') stopped ??= r;
  }
  if (stopped) return { mutant, outcome: 'incomplete', scenarios: run, reason: `${stopped.scenario} stopped (${stopped.stopReason ?? 'limit'}) before a violation was found` };
  if (accepted) return { mutant, outcome: 'accepted', scenarios: run, reason: accepted };
  const where = reachedOn.length ? `its site is reached on ${reachedOn.join(', ')}` : 'its site is reached on none of them';
  return { mutant, outcome: 'survived', scenarios: run, hint: `${mutant.category} at ${mutant.site}: ${where}; a scenario that exposes it needs ${HINTS[mutant.category]}` };
}

/** The whole run: enumerate, then check every mutant on the scenarios the design holds on. */
export function mutate(design: MirrorVariant, scenarios: readonly ScenarioSpec[], opts: MutateOptions = {}): MutateReport {
  const { mutants, baseline, reachedOn } = enumerateMutants(design, scenarios, opts);
  const ordered = byCost(design, scenarios);
  const judges = ordered.filter((_, i) => baseline[i].verdict === 'holds');
  const excluded = baseline
    .filter((r) => r.verdict !== 'holds')
    .map((r) => ({ scenario: r.scenario, verdict: r.verdict, ...(r.violation ? { property: r.violation.property } : {}), ...(r.stopReason ? { stopReason: r.stopReason } : {}) }));
  opts.onBaseline?.(
    judges.map((s) => s.name),
    excluded,
    mutants,
  );
  // With no scenario to judge on, nothing is checked (never "survived on nothing").
  const checked = judges.length ? mutants : [];
  const unfinished = excluded.filter((e) => e.verdict === 'incomplete').map((e) => e.scenario);
  const results = checked.map((m, i) => {
    let r = checkMutant(design, m, judges, opts, reachedOn.get(m.id));
    // A scenario the design's own check did not finish might have caught it: not a survivor yet.
    if (r.outcome === 'survived' && unfinished.length)
      r = { mutant: m, outcome: 'incomplete', scenarios: r.scenarios, reason: `survived the scenarios that judge it; ${unfinished.join(', ')} did not finish for the design itself` };
    opts.onMutant?.(r, i, checked.length);
    return r;
  });
  const ids = new Set(mutants.map((m) => m.id));
  return {
    design: design.name,
    judges: judges.map((s) => s.name),
    excluded,
    mutants: results,
    // Only a complete enumeration can say that an accepted id names no mutant.
    unknownAccepted: unfinished.length ? [] : Object.keys(design.acceptedMutants ?? {}).filter((id) => !ids.has(id)),
  };
}
