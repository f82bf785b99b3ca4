/**
 * Swarm verification (Holzmann's swarm, in the spirit of SPIN's `-RS` seeds): when one exhaustive
 * search is out of reach, many *diversified* searches — one per process, on as many machines as a
 * batch engine gives — each cover a different part of the space within its own budget, and their
 * results merge into one verdict with coverage figures. Member i of a swarm of N (`--shard i/N`)
 * runs the search `swarmMember(i, seed)` picks — a pure function, so any member can be re-run alone:
 *
 *   member 0          breadth-first exhaustive: the proof when it completes, shortest counterexamples;
 *   members 1, 5, 9…  depth-first, hash-compacted (64-bit fingerprints), the actor order at each
 *                     state rotated by a seed of the member's own (ExploreOptions.order): stopped by
 *                     the budget, each has gone down other paths first;
 *   members 2, 6, 10… PCT (probabilistic concurrency testing) with the member's seed, bug depth
 *                     2, 3, 4, 2, …;
 *   members 3, 7, 11… preemption-bounded breadth-first with at most 0, 1, 2, … preemptions: when
 *                     it finishes, every schedule with that many preemptions is covered;
 *   members 4, 8, 12… random walks with the member's seed.
 *
 * The merge (`mergeSwarm`): a violation if any member found one (the shortest schedule; ties: the
 * lower member); else *holds* if an exhaustive member (0, or a depth-first one) completed — a
 * proof, the same as `check` without a swarm; else incomplete, with what was covered: the largest
 * preemption bound searched completely, the largest exhaustive attempt, the simulation runs. States
 * are never deduplicated across members.
 */
import type { ScenarioSpec } from '../scenario/spec.js';
import type { MirrorVariant } from '../mirror/device.js';
import { dfs } from '../engine/dfs.js';
import { bfs } from '../engine/bfs.js';
import { checkShard, formatShard, type Shard } from '../engine/shards.js';
import { checkShardSet } from './shard.js';
import { checkOne, simulateScenario } from './run.js';

export type SwarmMember =
  | { readonly kind: 'bfs' }
  | { readonly kind: 'dfs'; readonly order: number }
  | { readonly kind: 'pct'; readonly seed: number; readonly depth: number }
  | { readonly kind: 'bounded'; readonly preemptions: number }
  | { readonly kind: 'random'; readonly seed: number };

/** A member's own seed: distinct for distinct (seed, index), never 0 (0 would be no rotation). */
function memberSeed(seed: number, index: number): number {
  return ((Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) | 1) >>> 0;
}

/** The search member `index` of a swarm with `seed` runs (see the header). */
export function swarmMember(index: number, seed: number): SwarmMember {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`swarm member index must be a non-negative integer, got ${index}`);
  if (index === 0) return { kind: 'bfs' };
  const round = Math.floor((index - 1) / 4);
  switch ((index - 1) % 4) {
    case 0:
      return { kind: 'dfs', order: memberSeed(seed, index) };
    case 1:
      return { kind: 'pct', seed: memberSeed(seed, index), depth: 2 + (round % 3) };
    case 2:
      return { kind: 'bounded', preemptions: round };
    default:
      return { kind: 'random', seed: memberSeed(seed, index) };
  }
}

/** One line naming a member's search. */
export function describeMember(m: SwarmMember): string {
  switch (m.kind) {
    case 'bfs':
      return 'breadth-first, exhaustive';
    case 'dfs':
      return `depth-first, actor order seed ${m.order}`;
    case 'pct':
      return `PCT, seed ${m.seed}, bug depth ${m.depth}`;
    case 'bounded':
      return `breadth-first, at most ${m.preemptions} preemption${m.preemptions === 1 ? '' : 's'}`;
    case 'random':
      return `random walks, seed ${m.seed}`;
  }
}

export interface SwarmCellResult {
  readonly scenario: string;
  readonly variant: string;
  /** As `check` says it: a simulation member never says holds. */
  readonly verdict: 'holds' | 'violation' | 'incomplete' | 'no-violation-found';
  /** An exhaustive member's search ran to the end (no limit stopped it): its `holds` is a proof. */
  readonly complete: boolean;
  /** A preemption-bounded member that finished: every schedule with at most this many preemptions was searched. */
  readonly coveredPreemptions?: number;
  readonly states: number;
  /** Transitions (a search) or steps (a simulation). */
  readonly steps: number;
  /** Simulation runs done. */
  readonly runs?: number;
  readonly elapsedMs: number;
  readonly stopReason?: string;
  readonly violation?: { readonly property: string; readonly message: string; readonly schedule: readonly number[] };
  /** The counterexample as a replayable schedule string. */
  readonly schedule?: string;
}

export interface SwarmShardResult {
  readonly kind: 'swarm';
  readonly shard: Shard;
  readonly seed: number;
  readonly member: SwarmMember;
  readonly cells: readonly SwarmCellResult[];
}

export interface SwarmBudget {
  readonly timeLimitMs?: number;
  readonly maxStates?: number;
  readonly maxMemoryBytes?: number;
  /** Simulation members: runs, and steps per run before it is cut. */
  readonly runs?: number;
  readonly maxSteps?: number;
  readonly shouldStop?: () => boolean;
}

/** A result's counterexample as a member reports it (the violation, and its replayable schedule string), if any. */
function counterexample(r: { violation?: { property: string; message: string; schedule: readonly number[] }; schedule?: string }): Pick<SwarmCellResult, 'violation' | 'schedule'> {
  return r.violation ? { violation: { property: r.violation.property, message: r.violation.message, schedule: [...r.violation.schedule] }, schedule: r.schedule } : {};
}

/** Runs member `shard.index`'s search on one cell. */
export function runSwarmCell(spec: ScenarioSpec, variant: MirrorVariant, shard: Shard, seed: number, budget: SwarmBudget = {}): SwarmCellResult {
  checkShard(shard);
  const m = swarmMember(shard.index, seed);
  const cell = { scenario: spec.name, variant: variant.name };
  if (m.kind === 'pct' || m.kind === 'random') {
    const r = simulateScenario(spec, variant, {
      runs: budget.runs ?? 1000,
      seed: m.seed,
      strategy: m.kind,
      ...(m.kind === 'pct' && { depth: m.depth }),
      maxSteps: budget.maxSteps,
      timeLimitMs: budget.timeLimitMs,
      shouldStop: budget.shouldStop,
    });
    return {
      ...cell,
      verdict: r.verdict,
      complete: false,
      states: r.states,
      steps: r.steps,
      runs: r.runs,
      elapsedMs: r.elapsedMs,
      ...(r.stopReason && { stopReason: r.stopReason }),
      ...counterexample(r),
    };
  }
  const r = checkOne(spec, variant, {
    strategy: m.kind === 'dfs' ? dfs : bfs,
    ...(m.kind === 'dfs' && { order: m.order }),
    ...(m.kind === 'bounded' && { preemptions: m.preemptions }),
    maxStates: budget.maxStates,
    maxMemoryBytes: budget.maxMemoryBytes,
    timeLimitMs: budget.timeLimitMs,
    shouldStop: budget.shouldStop,
    shrink: false,
  });
  // A bounded search is incomplete by design; it covered its bound when nothing else stopped it.
  const boundDone = m.kind === 'bounded' && r.verdict !== 'violation' && (r.verdict === 'holds' || r.stopReason === 'preemption-bound');
  return {
    ...cell,
    verdict: r.verdict,
    complete: m.kind !== 'bounded' && r.verdict === 'holds',
    ...(boundDone && { coveredPreemptions: m.preemptions }),
    states: r.states,
    steps: r.transitions,
    elapsedMs: r.elapsedMs,
    ...(r.stopReason && { stopReason: r.stopReason }),
    ...counterexample(r),
  };
}

export interface MergedSwarmCell {
  readonly scenario: string;
  readonly variant: string;
  readonly verdict: 'holds' | 'violation' | 'incomplete';
  /** The member whose result decided the verdict (the violation's, or the complete search's). */
  readonly decidedBy?: number;
  readonly violation?: SwarmCellResult['violation'];
  readonly schedule?: string;
  readonly coverage: {
    readonly members: number;
    readonly missingMembers: readonly number[];
    /** The largest bound every schedule up to which some member searched completely (-1: none). */
    readonly preemptions: number;
    /** The most states one exhaustive member reached, complete or not. */
    readonly largestSearch: number;
    /** Simulation runs over all members. */
    readonly runs: number;
    /** States summed over members (not deduplicated). */
    readonly states: number;
    /** Summed member time (the work), and the longest member (the wall time of a swarm run in parallel). */
    readonly elapsedMs: number;
    readonly maxMemberMs: number;
  };
}

/** Checks the members belong to one swarm (one N, one seed, each once, each running its own search). */
function checkSwarmSet(members: readonly SwarmShardResult[]): number[] {
  if (members.length === 0) throw new Error('no swarm results to merge');
  const { missingShards } = checkShardSet(members, 'swarm', { shard: 'swarm member', split: 'a swarm of' });
  const seed = members[0].seed;
  for (const m of members) {
    if (m.seed !== seed) throw new Error(`swarm member ${formatShard(m.shard)} ran with seed ${m.seed}, member ${formatShard(members[0].shard)} with ${seed}`);
    if (JSON.stringify(m.member) !== JSON.stringify(swarmMember(m.shard.index, seed)))
      throw new Error(`swarm member ${formatShard(m.shard)} ran another search than its own (${describeMember(m.member)})`);
  }
  return missingShards;
}

/** Merges the members of one swarm, cell by cell (cells in the first member's order). */
export function mergeSwarm(members: readonly SwarmShardResult[]): MergedSwarmCell[] {
  const missingMembers = checkSwarmSet(members);
  const sorted = [...members].sort((a, b) => a.shard.index - b.shard.index);
  const keys = sorted[0].cells.map((c) => `${c.scenario}/${c.variant}`);
  for (const m of sorted) {
    const mine = m.cells.map((c) => `${c.scenario}/${c.variant}`);
    if (mine.join('\n') !== keys.join('\n'))
      throw new Error(`swarm member ${formatShard(m.shard)} checked other cells (${mine.join(', ')}) than member ${formatShard(sorted[0].shard)} (${keys.join(', ')})`);
  }
  return keys.map((_, k) => {
    let violation: { member: number; cell: SwarmCellResult } | undefined;
    let proof: number | undefined;
    let preemptions = -1;
    let largestSearch = 0;
    let runs = 0;
    let states = 0;
    let elapsedMs = 0;
    let maxMemberMs = 0;
    for (const m of sorted) {
      const c = m.cells[k];
      states += c.states;
      elapsedMs += c.elapsedMs;
      maxMemberMs = Math.max(maxMemberMs, c.elapsedMs);
      runs += c.runs ?? 0;
      if (c.runs === undefined) largestSearch = Math.max(largestSearch, c.states);
      if (c.coveredPreemptions !== undefined) preemptions = Math.max(preemptions, c.coveredPreemptions);
      if (c.complete && proof === undefined) proof = m.shard.index;
      if (c.violation && (!violation || c.violation.schedule.length < violation.cell.violation!.schedule.length)) violation = { member: m.shard.index, cell: c };
    }
    const first = sorted[0].cells[k];
    const verdict = violation ? 'violation' : proof !== undefined ? 'holds' : 'incomplete';
    const decidedBy = violation?.member ?? proof;
    return {
      scenario: first.scenario,
      variant: first.variant,
      verdict,
      ...(decidedBy !== undefined && { decidedBy }),
      ...(violation && { violation: violation.cell.violation, schedule: violation.cell.schedule }),
      coverage: { members: sorted[0].shard.count, missingMembers, preemptions, largestSearch, runs, states, elapsedMs, maxMemberMs },
    };
  });
}

/** One line of a merged cell: the verdict and what the swarm covered. */
export function swarmLine(c: MergedSwarmCell): string {
  const cov = c.coverage;
  const parts = [
    `${cov.members - cov.missingMembers.length} of ${cov.members} members`,
    cov.preemptions >= 0 ? `every schedule with at most ${cov.preemptions} preemption${cov.preemptions === 1 ? '' : 's'}` : 'no preemption bound covered',
    `largest search ${cov.largestSearch.toLocaleString('en-US')} states`,
    `${cov.runs.toLocaleString('en-US')} simulation runs`,
  ];
  const head =
    c.verdict === 'violation'
      ? `violation (member ${c.decidedBy}) — ${c.violation!.property}: ${c.violation!.message}\n  schedule: ${c.schedule}`
      : c.verdict === 'holds'
        ? `holds (member ${c.decidedBy} searched every state)`
        : 'incomplete';
  return `${c.scenario}/${c.variant}: ${head}\n  swarm: ${parts.join('; ')}${cov.missingMembers.length ? ` (missing members ${cov.missingMembers.join(', ')})` : ''}`;
}
