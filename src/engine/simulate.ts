/**
 * Simulation for scenarios too large to explore exhaustively: many runs from the initial state, one
 * walk strategy choosing each step's actor (random.ts, pct.ts), every step judged by the verdict
 * module, reproducible from a seed.
 *
 * What counts as a violation is the verdicts' (verdict.ts), asked as the explorer asks it: a
 * property failing on the initial state, a kernel BUG raised by a step — also by a blocked attempt,
 * which is then the last entry of the schedule — a property failing on a reached state, a deadlock.
 * Unlike the explorer, a state in which the run picks an enabled actor before trying a blocked one
 * does not test that blocked one's attempt for BUGs (other runs try it), and termination is not
 * checked (a run is cut off at `maxSteps`).
 *
 * Verdicts: `violation`; `no-violation-found` — every requested run finished (some may have hit
 * `maxSteps`) without one, which proves nothing (`exhaustive: false` says so); `incomplete` — the
 * time budget ran out or a stop was requested before all requested runs were done, or every run
 * was cut off at `maxSteps` (`stopReason` says which). Simulation never says `holds`.
 *
 * Steps are single `execStep`s (the explorer's merging of invisible steps is not applied), so the
 * distinct-state count includes intermediate states the explorer merges away. A violation's
 * schedule is one actor index per step from the initial state and replays with `runSchedule`.
 *
 * Sharding (`shard: {index: i, count: N}`): this call runs exactly the runs r < `runs` with
 * r mod N = i. Run r's random stream depends only on (seed, r), and PCT's k on the seed alone, so
 * the union of the N shards is the unsharded run set, run for run (see src/check/shard.ts).
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { Violation } from './verdict.js';
import { Verdicts, verdictsOf, type CheckSelection, type Found } from './verdict.js';
import { FingerprintSet } from './visited.js';
import { Prng, deriveSeed, normalizeSeed } from './prng.js';
import { random } from './random.js';
import { pct, drawPctPlan, type PctPlan, type PctScheduler } from './pct.js';
import type { Scheduler, WalkStrategy } from './strategy.js';
import { entryOf } from '../world/entry.js';
import { checkShard, shardRuns, type Shard } from './shards.js';

export { checkShard, shardRuns, type Shard } from './shards.js';

export type Strategy = 'random' | 'pct';
export type SimulateVerdict = 'violation' | 'no-violation-found' | 'incomplete';

export interface SimulateOptions extends Omit<CheckSelection, 'liveness'> {
  /** Total number of runs (over all shards). */
  readonly runs: number;
  /** uint32 seed (any safe non-negative integer, reduced mod 2^32). */
  readonly seed: number;
  readonly strategy?: Strategy;
  /** PCT's bug depth d (>= 1, default 3): d-1 priority-change points per run. */
  readonly depth?: number;
  /** Steps after which a run is cut off (default 10000); such runs are counted in `truncatedRuns`. */
  readonly maxSteps?: number;
  /** Run only this shard's runs (default 0/1: all). */
  readonly shard?: Shard;
  /** Stop at the first violating run (default true). With false every run is done and the shortest counterexample is kept. */
  readonly stopOnViolation?: boolean;
  /** PCT's k (estimated run length). Default: the length of a calibration random walk of `seed`. */
  readonly pctSteps?: number;
  /** Stop starting new runs after this long (verdict `incomplete` if runs remain). */
  readonly timeLimitMs?: number;
  /** Polled before every run and every 1024 steps of a run; true stops (verdict `incomplete`), e.g. on SIGINT. */
  readonly shouldStop?: () => boolean;
  /** Record one `RunRecord` per run in `runLog` (tests, debugging). */
  readonly keepRuns?: boolean;
  /** Called about twice a second (from the polls above) with the running figures. */
  readonly onProgress?: (p: SimulateProgress) => void;
  /**
   * Audit every step (default false here, on in `check`): its footprint and the lock discipline,
   * so that a driver's data race is a BUG in a walk as in the exhaustive search.
   */
  readonly audit?: boolean;
}

/** The running figures of a simulation: runs done of those this shard does, steps, distinct states, elapsed. */
export interface SimulateProgress {
  readonly runs: number;
  readonly runsRequested: number;
  readonly steps: number;
  readonly states: number;
  readonly elapsedMs: number;
}

export type RunEnd = 'done' | 'violation' | 'max-steps' | 'stopped';

/**
 * Why a simulation is `incomplete`: the time limit or a stop request (`shouldStop`) came before
 * every requested run was done, or every run was cut off at `maxSteps` (none reached the end of
 * the scenario, so the runs say nothing about how it ends).
 */
export type SimulateStopReason = 'time' | 'interrupted' | 'max-steps';

/** What one run did: enough to compare run sets between sharded and unsharded simulations. */
export interface RunRecord {
  readonly run: number;
  readonly seed: number;
  readonly steps: number;
  readonly end: RunEnd;
  /** FNV-1a hash of the run's schedule (actor indices, blocked-BUG attempt included). */
  readonly digest: number;
}

export interface SimulateViolation extends Violation {
  /** Index of the run that found it (over all shards) and its derived seed. */
  readonly run: number;
  readonly runSeed: number;
}

export interface SimulateResult {
  readonly kind: 'simulate';
  readonly verdict: SimulateVerdict;
  readonly exhaustive: false;
  readonly strategy: Strategy;
  readonly seed: number;
  /** PCT only: d and k used. */
  readonly depth?: number;
  readonly pctSteps?: number;
  /** PCT only: how many times a busy-waiting actor was made to yield (see the header). */
  readonly yields?: number;
  readonly maxSteps: number;
  readonly shard: Shard;
  /** `runs` as requested over all shards (merging checks the shards agree on it). */
  readonly runsTotal: number;
  /** Runs this shard was asked to do (its share of `runs`), and runs done. */
  readonly runsRequested: number;
  readonly runs: number;
  /** Steps executed (blocked attempts not counted; the calibration run not counted). */
  readonly steps: number;
  /** Distinct state fingerprints seen by this call (not deduplicated across shards). */
  readonly states: number;
  /** Runs cut off by maxSteps. */
  readonly truncatedRuns: number;
  /** Runs that ended in a violation. */
  readonly violatingRuns: number;
  /** Set when the verdict is incomplete. */
  readonly stopReason?: SimulateStopReason;
  /** The shortest counterexample found (ties: lowest run index). */
  readonly violation?: SimulateViolation;
  readonly elapsedMs: number;
  readonly runLog?: RunRecord[];
}

export type { PctPlan } from './pct.js';

/** The PCT plan of run `run` of `seed` (what `simulate` uses): for tests and explanations. */
export function pctPlanOf(seed: number, run: number, nActors: number, depth: number, k: number): PctPlan {
  return drawPctPlan(new Prng(deriveSeed(normalizeSeed(seed), run)), nActors, depth, k);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** How one walk ended. */
interface Walk {
  readonly steps: number;
  readonly end: RunEnd;
  readonly found?: Found;
  /** The walk ended on a step (not a blocked attempt) that raised a kernel BUG. */
  readonly endedOnBugStep: boolean;
}

/**
 * One walk from the world's current state: `sched` picks each step's actor among the unfinished
 * ones, a blocked pick is dropped and `pick` asked again; `verdicts` judge every step. Appends the
 * actors that stepped (and a blocked attempt that raised a BUG) to `schedule`.
 */
function walk(
  w: World,
  sched: Scheduler,
  verdicts: Verdicts,
  maxSteps: number,
  cand: Int32Array,
  schedule: number[],
  seen: FingerprintSet | undefined,
  runStates: FingerprintSet | undefined,
  stop?: () => boolean,
): Walk {
  const nActors = w.layout.actorNames.length;
  let steps = 0;
  for (;;) {
    let m = 0;
    for (let a = 0; a < nActors; a++) if (w.actorSp(a) !== 0) cand[m++] = a;
    if (m === 0) return { steps, end: 'done', endedOnBugStep: false }; // every actor finished
    if (steps >= maxSteps) return { steps, end: 'max-steps', endedOnBugStep: false };
    if ((steps & 1023) === 1023 && stop?.()) return { steps, end: 'stopped', endedOnBugStep: false };
    const unfinished = m;
    let chosen = -1;
    while (m > 0) {
      const j = sched.pick(cand, m);
      const a = cand[j];
      cand[j] = cand[--m];
      const r = execStep(w, a);
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
        if (verdicts.raised(w)) {
          schedule.push(entryOf(a, w.chosen));
          return { steps, end: 'violation', found: verdicts.bug(w), endedOnBugStep: false };
        }
        continue;
      }
      chosen = a;
      break;
    }
    if (chosen < 0) {
      const stuck = verdicts.deadlock(unfinished, w);
      return stuck ? { steps, end: 'violation', found: stuck, endedOnBugStep: false } : { steps, end: 'done', endedOnBugStep: false };
    }
    schedule.push(entryOf(chosen, w.chosen));
    steps++;
    if (verdicts.raised(w)) return { steps, end: 'violation', found: verdicts.bug(w), endedOnBugStep: true };
    seen?.add(w.v[0], w.v[1]);
    const found = verdicts.state(w);
    if (found) return { steps, end: 'violation', found, endedOnBugStep: false };
    // A yield: the step took a retry edge marked `w.retry`, or brought the run back to a state it was in.
    const revisit = runStates ? !runStates.add(w.v[0], w.v[1]) : false;
    sched.stepped(chosen, steps, w.yielded || revisit);
  }
}

/** Checks nothing but BUGs, so that the calibration walk stops where the model stops meaning anything. */
const CALIBRATION = new Verdicts([], { deadlock: false, termination: false });

/**
 * The length of one random walk from the initial state with the calibration seed of `seed`, up to
 * (not including) a step that raises a kernel BUG: PCT's default k. Restores the world's state.
 */
export function estimateRunLength(w: World, seed: number, maxSteps: number): number {
  const initial = w.snapshot();
  const rng = new Prng(deriveSeed(normalizeSeed(seed), -1));
  w.load(initial.slice());
  try {
    w.chooser = (n) => rng.below(n);
    const r = walk(w, random.begin({ nActors: w.layout.actorNames.length, rng }), CALIBRATION, maxSteps, new Int32Array(w.layout.actorNames.length), [], undefined, undefined);
    return Math.max(1, r.steps - (r.endedOnBugStep ? 1 : 0));
  } finally {
    w.chooser = null;
    w.load(initial);
    w.clearBugs();
  }
}

export function simulate(w: World, opts: SimulateOptions): SimulateResult {
  const audit = w.audit;
  w.audit = opts.audit ?? false;
  try {
    return simulateFrom(w, opts);
  } finally {
    // Also when a model error is thrown: the world must not keep drawing choices from a dead run.
    w.chooser = null;
    w.audit = audit;
  }
}

function simulateFrom(w: World, opts: SimulateOptions): SimulateResult {
  const t0 = performance.now();
  const seed = normalizeSeed(opts.seed);
  const strategyName = opts.strategy ?? 'random';
  if (strategyName !== 'random' && strategyName !== 'pct') throw new RangeError(`unknown strategy ${JSON.stringify(strategyName)}`);
  const depth = opts.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be an integer >= 1, got ${depth}`);
  const maxSteps = opts.maxSteps ?? 10_000;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`maxSteps must be a positive integer, got ${maxSteps}`);
  if (!Number.isSafeInteger(opts.runs) || opts.runs < 0) throw new RangeError(`runs must be a non-negative integer, got ${opts.runs}`);
  const shard = opts.shard ?? { index: 0, count: 1 };
  checkShard(shard);
  const verdicts = verdictsOf({ ...opts, liveness: false });
  const stopOnViolation = opts.stopOnViolation ?? true;
  const timeLimit = opts.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const nActors = w.layout.actorNames.length;
  const pctSteps = strategyName === 'pct' ? (opts.pctSteps ?? estimateRunLength(w, seed, maxSteps)) : undefined;
  const strategy: WalkStrategy = strategyName === 'pct' ? pct(depth, pctSteps!) : random;

  const initial = w.snapshot();
  const state = new Int32Array(initial.length);
  const visited = new FingerprintSet();
  visited.add(initial[0], initial[1]);
  const runsRequested = shardRuns(opts.runs, shard);
  const runLog: RunRecord[] | undefined = opts.keepRuns ? [] : undefined;
  const cand = new Int32Array(nActors);
  const schedule: number[] = [];

  let runsDone = 0;
  let steps = 0;
  let truncated = 0;
  let violatingRuns = 0;
  let best: SimulateViolation | undefined;
  let stopped: SimulateStopReason | undefined;
  let yields = 0;
  const now = () => performance.now() - t0;
  let lastProgress = 0;
  const stop = () => {
    stopped ??= opts.shouldStop?.() ? 'interrupted' : now() > timeLimit ? 'time' : undefined;
    if (opts.onProgress && now() - lastProgress >= 500) {
      lastProgress = now();
      opts.onProgress({ runs: runsDone, runsRequested, steps, states: visited.size, elapsedMs: lastProgress });
    }
    return stopped !== undefined;
  };

  // The initial state is the same for every run: check it once.
  w.load(initial.slice());
  const v0 = verdicts.state(w);

  for (let run = shard.index; run < opts.runs; run += shard.count) {
    if (stop()) break;
    const runSeed = deriveSeed(seed, run);
    const rng = new Prng(runSeed);
    const sched = strategy.begin({ nActors, rng });
    // A step that branches (`w.choose`) takes an alternative drawn from the run's own stream.
    w.chooser = (n) => rng.below(n);
    const runStates = strategy.tracksRevisits ? new FingerprintSet(256) : undefined;
    runStates?.add(initial[0], initial[1]);
    schedule.length = 0;
    state.set(initial);
    w.load(state);
    const r: Walk = v0 ? { steps: 0, end: 'violation', found: v0, endedOnBugStep: false } : walk(w, sched, verdicts, maxSteps, cand, schedule, visited, runStates, stop);
    // A run stopped halfway is not counted: what it did is not a run of the scenario.
    if (r.end === 'stopped') break;
    if (strategyName === 'pct') yields += (sched as PctScheduler).yields;
    if (r.end === 'max-steps') truncated++;
    steps += r.steps;
    runsDone++;
    if (runLog) {
      let h = FNV_OFFSET;
      for (const a of schedule) h = Math.imul(h ^ a, FNV_PRIME);
      runLog.push({ run, seed: runSeed, steps: r.steps, end: r.end, digest: h >>> 0 });
    }
    if (r.found) {
      violatingRuns++;
      if (!best || schedule.length < best.schedule.length) {
        best = { ...r.found, schedule: [...schedule], run, runSeed };
      }
      if (stopOnViolation) break;
    }
  }
  w.load(initial);
  w.clearBugs();
  w.chooser = null;
  if (!stopped && runsDone > 0 && truncated === runsDone) stopped = 'max-steps';
  const verdict: SimulateVerdict = best ? 'violation' : stopped ? 'incomplete' : 'no-violation-found';
  return {
    kind: 'simulate',
    verdict,
    exhaustive: false,
    strategy: strategyName,
    seed,
    ...(strategyName === 'pct' ? { depth, pctSteps, yields } : {}),
    maxSteps,
    shard: { index: shard.index, count: shard.count },
    runsTotal: opts.runs,
    runsRequested,
    runs: runsDone,
    steps,
    states: visited.size,
    truncatedRuns: truncated,
    violatingRuns,
    ...(verdict === 'incomplete' ? { stopReason: stopped } : {}),
    violation: best,
    elapsedMs: performance.now() - t0,
    ...(runLog ? { runLog } : {}),
  };
}
