/**
 * One scenario split at a frontier (`--shard i/N` of a single exhaustive check): the states at
 * depth `splitDepth` (single steps, in breadth-first order, each state once) are the frontier;
 * shard i explores exhaustively from the frontier states j with j mod N = i, and every shard checks
 * the states above the frontier itself, asking the same verdicts as the explorer. Every reachable
 * state is above the frontier or reachable from a frontier state, so "every shard holds" means the
 * scenario holds, and any violation is a real one. See src/check/shard.ts for what was measured.
 */
import type { World } from '../world/world.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import { explore, type ExploreOptions } from './exhaustive.js';
import { FingerprintSet } from './visited.js';
import { checkShard, inShard, type Shard } from './shards.js';
import { verdictsOf, type Violation } from './verdict.js';

export interface ExploreShardOptions extends ExploreOptions {
  /** Depth of the frontier the work is split at (default 1: the initial state's successors). */
  readonly splitDepth?: number;
}

export interface ExploreShardViolation extends Violation {}

export interface ExploreShardResult {
  readonly kind: 'explore';
  readonly verdict: 'holds' | 'violation' | 'incomplete';
  readonly exhaustive: true;
  readonly shard: Shard;
  readonly splitDepth: number;
  /** Frontier states over all shards, and how many of them this shard explored. */
  readonly frontier: number;
  readonly subtrees: number;
  /** Distinct states: those above the frontier (shard 0 only) plus each subtree's, not deduplicated across subtrees. */
  readonly states: number;
  readonly transitions: number;
  /** Deepest level reached, counted from the initial state (frontier depth + subtree depth). */
  readonly depth: number;
  readonly violation?: ExploreShardViolation;
  readonly elapsedMs: number;
}

interface Frontier {
  /** States at the split depth, breadth-first order, with the schedule leading to each. */
  readonly states: Int32Array[];
  readonly paths: number[][];
  /** Distinct states above the frontier (the initial one included). */
  readonly above: number;
  readonly transitions: number;
  readonly violation?: Violation;
}

/** Breadth-first over single steps to `depth`, checking everything above the frontier. */
function computeFrontier(w: World, depth: number, opts: ExploreOptions): Frontier {
  const verdicts = verdictsOf(opts);
  const n = w.layout.actorNames.length;
  const initial = w.snapshot();
  const seen = new FingerprintSet();
  seen.add(initial[0], initial[1]);
  let transitions = 0;
  const result = (states: Int32Array[], paths: number[][], violation?: Violation): Frontier => ({
    states,
    paths,
    above: seen.size - states.length,
    transitions,
    violation,
  });
  const props = (path: number[]): Violation | undefined => {
    const found = verdicts.state(w);
    return found && { ...found, schedule: path };
  };
  w.load(initial.slice());
  const v0 = props([]);
  if (v0) return result([], [], v0);
  let level: Int32Array[] = [initial];
  let paths: number[][] = [[]];
  for (let d = 0; d < depth; d++) {
    const nextLevel: Int32Array[] = [];
    const nextPaths: number[][] = [];
    for (let i = 0; i < level.length; i++) {
      let enabled = 0;
      let unfinished = 0;
      for (let a = 0; a < n; a++) {
        const s = level[i].slice();
        w.load(s);
        if (w.actorSp(a) === 0) continue;
        unfinished++;
        const r = execStep(w, a);
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
          if (verdicts.raised(w)) return result([], [], { ...verdicts.bug(w)!, schedule: [...paths[i], a] });
          continue;
        }
        enabled++;
        transitions++;
        const path = [...paths[i], a];
        if (verdicts.raised(w)) return result([], [], { ...verdicts.bug(w)!, schedule: path });
        if (!seen.add(s[0], s[1])) continue;
        const v = props(path);
        if (v) return result([], [], v);
        nextLevel.push(s);
        nextPaths.push(path);
      }
      const stuck = enabled === 0 ? verdicts.deadlock(unfinished, w) : undefined;
      if (stuck) return result([], [], { ...stuck, schedule: paths[i] });
    }
    level = nextLevel;
    paths = nextPaths;
  }
  return result(level, paths);
}

/**
 * Explores shard `shard` of the scenario loaded in `w`: the frontier states at `splitDepth` whose
 * index mod N = i, each exhaustively (one `explore` per frontier state). Leaves `w` in its initial state.
 */
export function exploreShard(w: World, shard: Shard, opts: ExploreShardOptions = {}): ExploreShardResult {
  checkShard(shard);
  const t0 = performance.now();
  const splitDepth = opts.splitDepth ?? 1;
  if (!Number.isInteger(splitDepth) || splitDepth < 0) throw new RangeError(`splitDepth must be a non-negative integer, got ${splitDepth}`);
  const maxStates = opts.maxStates ?? Number.POSITIVE_INFINITY;
  const initial = w.snapshot();
  try {
    const f = computeFrontier(w, splitDepth, opts);
    const base = {
      kind: 'explore' as const,
      exhaustive: true as const,
      shard: { ...shard },
      splitDepth,
      frontier: f.states.length,
    };
    const aboveStates = shard.index === 0 ? f.above : 0;
    const aboveTransitions = shard.index === 0 ? f.transitions : 0;
    if (f.violation) {
      return {
        ...base,
        verdict: 'violation',
        subtrees: 0,
        states: aboveStates,
        transitions: aboveTransitions,
        depth: f.violation.schedule.length,
        violation: f.violation,
        elapsedMs: performance.now() - t0,
      };
    }
    let states = aboveStates;
    let transitions = aboveTransitions;
    let depth = f.states.length ? splitDepth : 0;
    let subtrees = 0;
    let incomplete = false;
    let best: Violation | undefined;
    for (let j = 0; j < f.states.length; j++) {
      if (!inShard(j, shard)) continue;
      if (states >= maxStates) {
        incomplete = true;
        break;
      }
      subtrees++;
      w.load(f.states[j].slice());
      const r = explore(w, { ...opts, maxStates: maxStates - states });
      states += r.states;
      transitions += r.transitions;
      depth = Math.max(depth, splitDepth + r.depth);
      if (r.verdict === 'incomplete') {
        incomplete = true;
        break;
      }
      if (r.violation) {
        const schedule = [...f.paths[j], ...r.violation.schedule];
        if (!best || schedule.length < best.schedule.length) best = { ...r.violation, schedule };
      }
    }
    return {
      ...base,
      verdict: best ? 'violation' : incomplete ? 'incomplete' : 'holds',
      subtrees,
      states,
      transitions,
      depth,
      violation: best,
      elapsedMs: performance.now() - t0,
    };
  } finally {
    w.load(initial);
  }
}
