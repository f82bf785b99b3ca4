/**
 * Checking one scenario under one mirror variant, and the catalogue × variants verdict table.
 */
import type { ScenarioSpec } from '../scenario/spec.js';
import { devicesOf } from '../mirror/combined.js';
import { buildScenario } from '../scenario/build.js';
import { CATALOGUE } from '../scenario/catalogue.js';
import { allVariants, VARIANTS } from '../mirror/variants.js';
import { Model } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { KVM_LIB } from '../kvm/library.js';
import { WORKLOAD_LIB } from '../scenario/workload.js';
import type { MirrorVariant } from '../mirror/device.js';
import { explore, type ExploreOptions, type ExploreResult } from '../engine/exhaustive.js';
import { exploreParallel, type ParallelOptions } from '../engine/parallel.js';
import { iteratePreemptions, outOfReach, type BoundedCoverage } from '../engine/iterative.js';
import { coverageGaps, OUTCOME } from './outcome.js';
import { propertiesFor } from './cell-model.js';
import { encodeSchedule } from '../engine/schedule.js';
import { shrinkSchedule, type ShrinkResult } from '../engine/shrink.js';
import { simulate, type SimulateOptions, type SimulateResult } from '../engine/simulate.js';
import { LOCK_ORDER } from '../engine/verdict.js';
import type { CounterOptions } from '../engine/counters.js';
import { actorGroups } from '../scenario/symmetric.js';
import type { LockOrderReport } from '../engine/exhaustive.js';
import type { LockWitness } from '../world/lock-order.js';

/** A lock-order witness as a report prints it: its schedule as a replayable string. */
export interface LockWitnessReport extends Omit<LockWitness, 'schedule'> {
  readonly schedule?: string;
}

export interface LockEdgeReport {
  readonly from: string;
  readonly to: string;
  readonly witness: LockWitnessReport;
}

/** The lock-order graph of a check (`lock-order`): sizes, its cycles and recursions with their first witnesses. */
export interface LockOrderSummary {
  readonly classes: number;
  readonly edges: number;
  readonly cycles: readonly { readonly classes: readonly string[]; readonly edges: readonly LockEdgeReport[] }[];
  readonly recursions: readonly { readonly lock: string; readonly witness: LockWitnessReport }[];
}

/** One of the distinct violations of a search asked for more than one (`maxViolations`), its schedule as a replayable string. */
export interface FoundViolation {
  readonly property: string;
  readonly message: string;
  readonly schedule: string;
}

export interface CheckResult extends Omit<ExploreResult, 'lockOrder' | 'violations'> {
  readonly scenario: string;
  readonly variant: string;
  /** The lock-order graph the search recorded (with `lockOrder`). */
  readonly lockOrder?: LockOrderSummary;
  /** With `maxViolations` > 1: every distinct violation found (the first is `violation`). */
  readonly violations?: readonly FoundViolation[];
  /** Actor names by index: the numbers of a schedule. */
  readonly actors?: readonly string[];
  /** Replayable schedule string of the counterexample (a shortest one), if any. */
  readonly schedule?: string;
  /** After a limit stopped the search: the preemption bounds searched completely (option `iteratePreemptions`). */
  readonly bounded?: BoundedCoverage;
  /** The counterexample shrunk to the fewest preemptions, then actors, then steps (with `shrink`). */
  readonly shrunk?: { readonly schedule: string; readonly preemptions: number; readonly fromPreemptions: number; readonly steps: number };
  /**
   * What the search assumed (every explored step audited: the default): the unprotected shared
   * accesses it ran one at a time, i.e. under sequential consistency, not the kernel's memory
   * model (`routine:label: field (protection)`), and the model's stand-ins for kernel data.
   */
  readonly assumed?: { readonly accesses: readonly string[]; readonly standIns: readonly string[] };
  /**
   * After a complete search that holds: the labels (`routine:label`) no explored step ran, in the
   * routines that ran at all — paths the scenario never exercises (or dead code of the model).
   */
  readonly unreached?: readonly string[];
}

export interface CheckOptions extends Omit<ExploreOptions, 'properties'> {
  /** Also shrink a counterexample (fewest preemptions, actors, steps): easier to read, costs replays. */
  readonly shrink?: boolean;
  /** Search on worker threads (src/engine/parallel.ts): the same result as one thread. */
  readonly parallel?: ParallelOptions;
  /**
   * When a limit stops the search, search again with at most 0, 1, 2, … preemptions within what is
   * left (src/engine/iterative.ts); with a time limit the exhaustive attempt gets half of it.
   */
  readonly iteratePreemptions?: boolean;
}

/** Every routine the product defines (kernel, KVM, workload, every design), as one model: for `explain` and the fidelity checks. */
export function productModel(): Model {
  return new Model([KERNEL, KVM_LIB, WORKLOAD_LIB, ...VARIANTS.map((v) => v.library)]);
}

/** Whether `design` has the devices `spec` names: a scenario naming device i needs i + 1 designs side by side. */
export function appliesTo(spec: ScenarioSpec, design: MirrorVariant): boolean {
  const needed = 1 + Math.max(0, ...spec.actors.flatMap((a) => a.ops.map((op) => ('device' in op ? (op.device ?? 0) : 0))));
  return devicesOf(design).length >= needed;
}

/** The designs a scenario applies to: those its `variants` names, else every built-in and loaded one. */
export function variantsFor(spec: ScenarioSpec): readonly MirrorVariant[] {
  const all = allVariants().filter((v) => appliesTo(spec, v));
  return spec.variants ? all.filter((v) => spec.variants!.includes(v.base ?? v.name)) : all;
}

export { propertiesFor } from './cell-model.js';

export function checkOne(spec: ScenarioSpec, variant: MirrorVariant, opts: CheckOptions = {}): CheckResult {
  const { world } = buildScenario(spec, variant);
  // Audited by default: every step is held to its footprint and to the lock discipline (a step
  // whose size stands in for a lock is a model error), and the proof learns what it assumed.
  const audit = opts.audit ?? true;
  world.trackReached();
  const { properties, outcome } = propertiesFor(spec, variant);
  // A scenario's own concrete counters join the run's: its race depends on their values.
  const counters = opts.counters && { ...opts.counters, concrete: [...new Set([...(opts.counters.concrete ?? []), ...(spec.concreteCounters ?? [])])] };
  // The scenario's interchangeable actors (symmetric.ts), permuted under --symmetry only.
  const groups = opts.symmetry && spec.symmetric?.length ? actorGroups(spec) : undefined;
  const how = { ...opts, audit, properties, counters, ...(groups && { actorGroups: groups }) };
  const t0 = performance.now();
  const first = { ...how, ...(opts.iteratePreemptions && opts.timeLimitMs !== undefined && { timeLimitMs: opts.timeLimitMs / 2 }) };
  let explored = opts.parallel ? exploreParallel(world, first, opts.parallel) : explore(world, first);
  let bounded: BoundedCoverage | undefined;
  if (opts.iteratePreemptions && outOfReach(explored) && !opts.shouldStop?.()) {
    const left = opts.timeLimitMs === undefined ? undefined : Math.max(0, opts.timeLimitMs - (performance.now() - t0));
    // A preemption-bounded search keys its states by the last actor: without the actor permutation.
    // On the threads the exhaustive search ran on, if it did.
    const par = opts.parallel;
    const it = iteratePreemptions(world, { ...how, actorGroups: undefined, timeLimitMs: left }, par ? (w, o) => exploreParallel(w, o, par) : explore);
    bounded = it.coverage;
    // A bounded search's violation is real (its schedule replays): the cell's verdict, with that search's figures.
    explored = it.violation ?? explored;
  }
  const { lockOrder, violations } = explored;
  let r: Omit<ExploreResult, 'lockOrder' | 'violations'> = explored;
  // A search that holds has seen every final state: each allowed outcome must be among them, and
  // the exercised routines must have run every label. A gap is a violation no schedule shows.
  const gaps = r.verdict === 'holds' && (outcome || spec.exercises?.length) ? coverageGaps(world, spec, outcome, world.unreachedLabels()) : [];
  if (gaps.length) r = { ...r, verdict: 'violation', violation: { property: OUTCOME, message: gaps.join('; '), schedule: [] } };
  const assumed = audit ? { accesses: world.assumedAccesses(), standIns: [...world.standIns].sort() } : undefined;
  let shrunk: CheckResult['shrunk'];
  // Not after a stop request: shrinking replays, and the user asked for the results now. Not a
  // lock-order cycle either: it is a finding of the whole search, which no single schedule replays.
  if (opts.shrink && r.violation?.schedule.length && r.violation.property !== LOCK_ORDER && !opts.shouldStop?.()) {
    const s = shrinkCounterexample(spec, variant, r.violation.schedule, audit, counters);
    shrunk = { schedule: encodeSchedule(spec.name, variant.name, s.schedule), preemptions: s.preemptions, fromPreemptions: s.original.preemptions, steps: s.steps };
  }
  return {
    ...r,
    scenario: spec.name,
    variant: variant.name,
    schedule: r.violation ? encodeSchedule(spec.name, variant.name, r.violation.schedule) : undefined,
    ...(r.violation && { actors: [...world.layout.actorNames] }),
    ...(violations && { violations: violations.map((v) => ({ property: v.property, message: v.message, schedule: encodeSchedule(spec.name, variant.name, v.schedule) })) }),
    shrunk,
    ...(bounded && { bounded }),
    assumed,
    // Only a complete search says a label is unreachable (SPIN's "unreached in proctype").
    ...((r.verdict === 'holds' || gaps.length) && { unreached: world.unreachedLabels() }),
    ...(lockOrder && { lockOrder: lockOrderSummary(lockOrder, (s) => encodeSchedule(spec.name, variant.name, s)) }),
  };
}

/** The report form of a search's lock-order graph: witness schedules as replayable strings. */
function lockOrderSummary(g: LockOrderReport, encode: (s: readonly number[]) => string): LockOrderSummary {
  const witness = ({ schedule, ...rest }: LockWitness): LockWitnessReport => ({ ...rest, ...(schedule && { schedule: encode(schedule) }) });
  return {
    classes: g.classes,
    edges: g.edges.length,
    cycles: g.cycles.map((c) => ({ classes: c.classes, edges: c.edges.map((e) => ({ from: e.from, to: e.to, witness: witness(e.witness) })) })),
    recursions: g.recursions.map((x) => ({ lock: x.lock, witness: witness(x.witness) })),
  };
}

/**
 * `schedule` (which must violate a property of `spec` under `variant`) shrunk to the fewest
 * preemptions, then actors, then steps, still violating the same property first.
 */
export function shrinkCounterexample(spec: ScenarioSpec, variant: MirrorVariant, schedule: readonly number[], audit = true, counters?: CounterOptions): ShrinkResult {
  // Replayed as the search ran: audited (a driver's data race is a BUG only then), or not.
  const world = () => {
    const w = buildScenario(spec, variant).world;
    w.audit = audit;
    return w;
  };
  return shrinkSchedule(world, schedule, { properties: propertiesFor(spec, variant).properties, counters });
}

export interface Cell {
  /** Position in the full cell list (catalogue order, then variant order). */
  readonly index: number;
  readonly scenario: ScenarioSpec;
  readonly variant: MirrorVariant;
}

/** Every scenario × applicable variant, in the order `checkCatalogue` runs them. */
export function catalogueCells(scenarios: readonly ScenarioSpec[] = CATALOGUE, variants: readonly MirrorVariant[] = VARIANTS): Cell[] {
  const cells: Cell[] = [];
  for (const scenario of scenarios) {
    for (const variant of variantsFor(scenario)) {
      if (variants.includes(variant)) cells.push({ index: cells.length, scenario, variant });
    }
  }
  return cells;
}

/** Every scenario under every variant it applies to, in catalogue order. */
export function checkCatalogue(
  opts: CheckOptions = {},
  scenarios: readonly ScenarioSpec[] = CATALOGUE,
  variants: readonly MirrorVariant[] = VARIANTS,
  onResult?: (r: CheckResult) => void,
): CheckResult[] {
  return catalogueCells(scenarios, variants).map((c) => {
    const r = checkOne(c.scenario, c.variant, opts);
    onResult?.(r);
    return r;
  });
}

/**
 * What the table must show: the corrected design holds everywhere, every broken variant is caught
 * somewhere. `problems` are the expectations that definitely failed; `undecided` the ones an
 * incomplete cell leaves open (a corrected cell not proved, a broken variant not caught on the
 * cells that finished). `ok` only when every expectation is met.
 */
export function tableExpectations(results: readonly CheckResult[]): { ok: boolean; problems: string[]; undecided: string[] } {
  const problems: string[] = [];
  const undecided: string[] = [];
  const byVariant = new Map<string, CheckResult[]>();
  for (const r of results) byVariant.set(r.variant, [...(byVariant.get(r.variant) ?? []), r]);
  for (const [variant, rs] of byVariant) {
    const v = VARIANTS.find((x) => x.name === variant);
    if (!v) continue;
    if (v.reproduces.length === 0) {
      for (const r of rs) {
        if (r.verdict === 'violation') problems.push(`${variant} is violated on ${r.scenario}: ${r.violation!.property}`);
        else if (r.verdict === 'incomplete') undecided.push(`${variant} is not proved on ${r.scenario} (${r.stopReason ?? 'incomplete'})`);
      }
    } else if (!rs.some((r) => r.verdict === 'violation')) {
      const open = rs.filter((r) => r.verdict === 'incomplete').map((r) => r.scenario);
      if (open.length) undecided.push(`${variant} (${v.reproduces.join(', ')}) was not caught on the scenarios that finished (not finished: ${open.join(', ')})`);
      else problems.push(`${variant} (${v.reproduces.join(', ')}) was not caught on any scenario`);
    }
  }
  return { ok: problems.length === 0 && undecided.length === 0, problems, undecided };
}

/** Whether a violation of `variant` is what the table expects (a broken design caught). */
export function expectedViolation(variant: string): boolean {
  return (VARIANTS.find((x) => x.name === variant)?.reproduces.length ?? 0) > 0;
}

export interface ScenarioSimulateResult extends SimulateResult {
  readonly scenario: string;
  readonly variant: string;
  /** Replayable schedule string (`vmamirror replay`) of the counterexample, if any. */
  readonly schedule?: string;
}

/** Simulates one catalogue (or loaded) scenario under one variant, checking its properties (`propertiesOf`). */
export function simulateScenario(spec: ScenarioSpec, variant: MirrorVariant, opts: Omit<SimulateOptions, 'properties'>): ScenarioSimulateResult {
  const { world } = buildScenario(spec, variant);
  // Audited by default, as `checkOne`: a driver's data race is a BUG in a walk too.
  const r = simulate(world, { ...opts, audit: opts.audit ?? true, properties: propertiesFor(spec, variant).properties });
  return {
    ...r,
    scenario: spec.name,
    variant: variant.name,
    schedule: r.violation ? encodeSchedule(spec.name, variant.name, r.violation.schedule) : undefined,
  };
}
