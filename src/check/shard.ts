/**
 * `--shard i/N`: deterministic splitting of a check into N independent pieces that any batch
 * runner (GNU parallel, a CI matrix, a Kubernetes indexed job) can run anywhere, and the merge of
 * their JSON outputs into one verdict.
 *
 * Shards are numbered from 0: `i/N` with 0 <= i < N (a Kubernetes `JOB_COMPLETION_INDEX`, GNU
 * parallel's `{%}` minus one). The split is a pure function of (i, N) and the inputs — no
 * coordination, no shared state, and any shard can be re-run alone with the same result.
 *
 * What each kind guarantees:
 *
 * - Simulation (`simulate` with `shard`): shard i does exactly the runs r < runs with r mod N = i,
 *   and run r's random stream is derived from (seed, r) alone (PCT's k from the seed alone), so
 *   the union over the N shards is the unsharded run set, run for run: same schedules, same
 *   violations. With `stopOnViolation: false` the merge equals the unsharded result exactly (runs,
 *   steps, violating runs, and the counterexample: shortest, ties by lowest run index). With the
 *   default `stopOnViolation: true` each shard stops at its own first violation, so the merged run
 *   and step counts differ from an unsharded run that stops at *its* first; the lowest violating
 *   run index over the shards is still the unsharded one's.
 *
 * - Catalogue (`checkCatalogueShard`): the scenario × variant cells in catalogue order, dealt to
 *   the N shards by expected cost (`shardOfCells`, costs.ts: costliest first, each to the least
 *   loaded shard), so that shards take similar times. Each cell is an exhaustive `checkOne`, so the
 *   merged table (`mergeCatalogueShards`) is cell for cell the unsharded `checkCatalogue`. Every
 *   shard names the whole cell list (`cellNames`), so that the merge can check which cells are
 *   whose.
 *
 * - One scenario (`exploreShard`): the states at depth `splitDepth` (default 1; single steps, in
 *   breadth-first order, each state once, a state already met at a smaller depth not repeated) are
 *   the frontier; shard i explores exhaustively from the frontier states j with j mod N = i, and
 *   every shard checks the states above the frontier itself (cheap). Every reachable state is above
 *   the frontier or reachable from a frontier state, so "every shard holds" means the scenario
 *   holds, and any violation is a real one. Caveats: a state reachable from several frontier states
 *   is explored once per subtree (and per shard), so the summed `states` / `transitions` exceed
 *   the unsharded counts; and the counterexample is the shortest found under the frontier
 *   (frontier path + the explorer's shortest from there), which can be longer than the unsharded
 *   explorer's when the explorer merges invisible steps differently across the split. Useful
 *   parallelism is bounded by the frontier size (the number of actors at depth 1).
 *   Measured: in this model the subtrees overlap almost entirely (first steps commute: which actor
 *   moves first rarely matters), so this split buys little. `introspect/interval` has 27,999
 *   states; split at depth 1 its 3 subtrees have 27,455, 27,295 and 27,999 states (the longest
 *   shard took 2.0 s of the 3.7 s total; unsharded, warm: 1.0–1.5 s); deeper splits only add
 *   duplicated work. Prefer catalogue cells, and simulation swarms, for parallelism; a real
 *   speed-up needs a reduction beyond step merging or exchanging states between shards.
 *
 * States are never deduplicated across shards: a merged `states` is a sum.
 */
import type { ScenarioSpec } from '../scenario/spec.js';
import { CATALOGUE } from '../scenario/catalogue.js';
import { VARIANTS } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { Violation } from '../engine/verdict.js';
import { catalogueCells, checkOne, type Cell, type CheckOptions, type CheckResult } from './run.js';
export { catalogueCells, type Cell } from './run.js';
import type { SimulateResult } from '../engine/simulate.js';
import { checkShard, formatShard, type Shard } from '../engine/shards.js';
import { shardOfCells } from './costs.js';
import type { ExploreShardResult } from '../engine/split.js';

export { parseShard, formatShard, inShard, ShardSyntaxError, type Shard } from '../engine/shards.js';
export { exploreShard, type ExploreShardOptions, type ExploreShardResult, type ExploreShardViolation } from '../engine/split.js';

// ---------------------------------------------------------------- catalogue cells

export function cellName(c: { scenario: ScenarioSpec | string; variant: MirrorVariant | string }): string {
  const name = (x: { name: string } | string) => (typeof x === 'string' ? x : x.name);
  return `${name(c.scenario)}/${name(c.variant)}`;
}

/** This shard's cells of the whole list `cells` (balanced by expected cost, costs.ts). */
export function shardCells(cells: readonly Cell[], shard: Shard): Cell[] {
  checkShard(shard);
  const of = shardOfCells(cells.map(cellName), shard.count);
  return cells.filter((c) => of[c.index] === shard.index);
}

export interface CellResult extends CheckResult {
  readonly cell: number;
}

export interface CatalogueShardResult {
  readonly kind: 'catalogue';
  readonly shard: Shard;
  /** Total number of cells (over all shards): merging checks the shards agree. */
  readonly cellsTotal: number;
  /** Every cell of the split (`scenario/variant`, in order): which cells are whose. */
  readonly cellNames: string[];
  /** The split is of the whole catalogue table (`check` with no scenario and no --variant). */
  readonly table?: boolean;
  readonly cells: CellResult[];
}

/** Checks this shard's catalogue cells exhaustively. */
export function checkCatalogueShard(
  shard: Shard,
  opts: CheckOptions = {},
  scenarios: readonly ScenarioSpec[] = CATALOGUE,
  variants: readonly MirrorVariant[] = VARIANTS,
  onResult?: (r: CellResult) => void,
): CatalogueShardResult {
  const all = catalogueCells(scenarios, variants);
  const out: CellResult[] = [];
  for (const c of shardCells(all, shard)) {
    const r: CellResult = { ...checkOne(c.scenario, c.variant, opts), cell: c.index };
    onResult?.(r);
    out.push(r);
  }
  return { kind: 'catalogue', shard: { ...shard }, cellsTotal: all.length, cellNames: all.map(cellName), cells: out };
}

export interface MergedCatalogue {
  /** Cell results in catalogue order (the unsharded `checkCatalogue` order). */
  readonly results: CellResult[];
  /** Cell indices no shard reported (a shard is missing). */
  readonly missingCells: number[];
  readonly missingShards: number[];
}

export function mergeCatalogueShards(shards: readonly CatalogueShardResult[]): MergedCatalogue {
  const { count, missingShards } = checkShardSet(shards, 'catalogue');
  const total = shards[0].cellsTotal;
  const names = shards[0].cellNames;
  const of = shardOfCells(names, count);
  const byCell = new Map<number, CellResult>();
  for (const s of shards) {
    if (s.cellsTotal !== total) throw new Error(`catalogue shards disagree on the cell count (${total} vs ${s.cellsTotal})`);
    if (s.cellNames.join('\n') !== names.join('\n')) throw new Error(`shard ${formatShard(s.shard)} split other cells than shard ${formatShard(shards[0].shard)}`);
  }
  for (const s of shards) {
    for (const c of s.cells) {
      if (of[c.cell] !== s.shard.index) throw new Error(`shard ${formatShard(s.shard)} reports cell ${c.cell}, which is not its own`);
      if (byCell.has(c.cell)) throw new Error(`cell ${c.cell} (${names[c.cell]}) is reported twice`);
      byCell.set(c.cell, c);
    }
  }
  const results: CellResult[] = [];
  const missingCells: number[] = [];
  for (let i = 0; i < total; i++) {
    const r = byCell.get(i);
    if (r) results.push(r);
    else missingCells.push(i);
  }
  return { results, missingCells, missingShards };
}

// ---------------------------------------------------------------- merging

export type ShardResult = SimulateResult | ExploreShardResult;

export interface MergedViolation extends Violation {
  /** Shard that reported it, and (simulation) the run. */
  readonly shard: number;
  readonly run?: number;
  readonly runSeed?: number;
}

export interface MergedResult {
  readonly kind: 'simulate' | 'explore';
  /**
   * `violation` if any shard found one; else `incomplete` if any shard was incomplete or missing;
   * else `holds` (exploration: proved) or `no-violation-found` (simulation: proves nothing).
   */
  readonly verdict: 'holds' | 'no-violation-found' | 'violation' | 'incomplete';
  readonly exhaustive: boolean;
  readonly shards: number;
  readonly missingShards: number[];
  /** Simulation: runs done over all shards, and those cut off at maxSteps. */
  readonly runs?: number;
  readonly truncatedRuns?: number;
  /** Steps (simulation) or transitions (exploration), summed. */
  readonly steps: number;
  /** Summed per-shard distinct states: NOT deduplicated across shards. */
  readonly states: number;
  /** The shortest counterexample (ties: lowest run index for simulation, then shard order). */
  readonly violation?: MergedViolation;
  /** Summed shard time (the work), and the longest shard (the wall time of a perfectly parallel swarm). */
  readonly elapsedMs: number;
  readonly maxShardMs: number;
}

/** How the messages of `checkShardSet` name a shard and its split: a shard of a split, or a swarm member (swarm.ts). */
export interface ShardWords {
  readonly shard: string;
  readonly split: string;
}
const SHARD_WORDS: ShardWords = { shard: 'shard', split: 'a split into' };

/** Checks that shards are of one kind and one N, each index at most once. */
export function checkShardSet(results: readonly { kind: string; shard: Shard }[], kind?: string, words: ShardWords = SHARD_WORDS): { count: number; missingShards: number[] } {
  if (results.length === 0) throw new Error('no shard results to merge');
  const count = results[0].shard.count;
  const k = kind ?? results[0].kind;
  const seen = new Set<number>();
  for (const r of results) {
    if (r.kind !== k) throw new Error(`cannot merge a ${r.kind} shard with ${k} shards`);
    checkShard(r.shard);
    if (r.shard.count !== count) throw new Error(`${words.shard} ${formatShard(r.shard)} does not belong to ${words.split} ${count}`);
    if (seen.has(r.shard.index)) throw new Error(`${words.shard} ${formatShard(r.shard)} given twice`);
    seen.add(r.shard.index);
  }
  const missingShards: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missingShards.push(i);
  return { count, missingShards };
}

/** Simulation settings that must agree across shards for the merge to mean anything. */
function simKey(r: SimulateResult): string {
  return JSON.stringify([r.seed, r.strategy, r.depth ?? null, r.pctSteps ?? null, r.maxSteps, r.runsTotal]);
}

/** Combines shard outputs (JSON round-trips are fine) into one verdict. */
export function mergeShardResults(results: readonly ShardResult[]): MergedResult {
  const { count, missingShards } = checkShardSet(results);
  const kind = results[0].kind;
  const sorted = [...results].sort((a, b) => a.shard.index - b.shard.index);
  if (kind === 'simulate') {
    const key = simKey(sorted[0] as SimulateResult);
    for (const r of sorted) {
      if (simKey(r as SimulateResult) !== key)
        throw new Error(`simulation shard ${formatShard(r.shard)} ran with other settings (seed, strategy, depth, k, maxSteps or runs) than shard ${formatShard(sorted[0].shard)}`);
    }
  }
  let best: MergedViolation | undefined;
  const better = (a: MergedViolation, b: MergedViolation): boolean => {
    if (a.schedule.length !== b.schedule.length) return a.schedule.length < b.schedule.length;
    if (a.run !== undefined && b.run !== undefined && a.run !== b.run) return a.run < b.run;
    return a.shard < b.shard;
  };
  let incomplete = missingShards.length > 0;
  let steps = 0;
  let states = 0;
  let runs = 0;
  let truncated = 0;
  let elapsedMs = 0;
  let maxShardMs = 0;
  for (const r of sorted) {
    states += r.states;
    elapsedMs += r.elapsedMs;
    maxShardMs = Math.max(maxShardMs, r.elapsedMs);
    if (r.kind === 'simulate') {
      steps += r.steps;
      runs += r.runs;
      truncated += r.truncatedRuns;
    } else {
      steps += r.transitions;
    }
    // A shard whose runs were all cut off is incomplete alone; the merge only if every run was.
    if (r.verdict === 'incomplete' && !(r.kind === 'simulate' && r.stopReason === 'max-steps')) incomplete = true;
    if (r.violation) {
      const v: MergedViolation = {
        property: r.violation.property,
        message: r.violation.message,
        schedule: [...r.violation.schedule],
        shard: r.shard.index,
        ...(r.kind === 'simulate' ? { run: r.violation.run, runSeed: r.violation.runSeed } : {}),
      };
      if (!best || better(v, best)) best = v;
    }
  }
  if (kind === 'simulate' && truncated === runs) incomplete = true;
  const exhaustive = kind === 'explore';
  const verdict: MergedResult['verdict'] = best ? 'violation' : incomplete ? 'incomplete' : exhaustive ? 'holds' : 'no-violation-found';
  return {
    kind,
    verdict,
    exhaustive,
    shards: count,
    missingShards,
    ...(kind === 'simulate' ? { runs, truncatedRuns: truncated } : {}),
    steps,
    states,
    violation: best,
    elapsedMs,
    maxShardMs,
  };
}
