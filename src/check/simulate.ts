/**
 * Simulation for scenarios too large to explore exhaustively: many random runs from the initial
 * state, each checking every property after every step, reproducible from a seed.
 *
 * Strategies:
 * - `random`: at each step, an actor chosen uniformly among the *enabled* ones. Implemented by
 *   trying the unfinished actors in a uniformly random order and running the first that is not
 *   blocked (the first enabled element of a uniform random permutation is uniform over the enabled
 *   set). A blocked step writes nothing, so trying one needs no copy of the state.
 * - `pct`: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
 *   2010). Each run gives the actors distinct random priorities d..d+n-1 and picks d-1 distinct
 *   priority-change points in [1, k]; it always runs the highest-priority enabled actor, and after
 *   the step numbered k_j it lowers the running actor's priority to d-j (below every initial one).
 *   A bug of depth d is then found in each run with probability >= 1/(n k^(d-1)). k, the expected
 *   run length, is `pctSteps` if given, else the length of one calibration random walk derived from
 *   the seed alone (so every shard uses the same k). With d = 1 there are no change points: the run
 *   is the fixed-priority schedule — every step runs the highest-priority enabled actor, and
 *   priorities change only by the yields below; so an actor is only switched away from when it
 *   blocks, finishes or yields, or when a higher-priority actor becomes enabled again.
 *   Busy-waiting: the model's retry loops (a failed trylock that goes back to retry, an
 *   `-EBUSY` fault retry) are enabled steps, not `BLOCK_SPIN`s, so a strict priority scheduler would
 *   spin forever in them while the actor they wait for never runs. When a PCT step leads back to a
 *   state already seen in the same run (the run went round a cycle), the actor that took it
 *   *yields*: its priority drops below every other actor's (as PCT treats an explicit yield). A step
 *   that is a change point takes the change-point priority instead.
 *
 * Violations are those of the explorer (explore.ts): a property failing on a reached state (the
 * initial one included), a kernel BUG raised by a step — also by a blocked attempt, which is then
 * the last entry of the schedule, as in the explorer — and a deadlock (no actor can step, some are
 * not done). Unlike the explorer, a state in which the run picks an enabled actor before trying a
 * blocked one does not test that blocked one's attempt for BUGs (random order makes other runs try it).
 *
 * Verdicts: `violation`; `no-violation-found` — every requested run finished (or hit `maxSteps`)
 * without one, which proves nothing (`exhaustive: false` says so); `incomplete` — the time budget
 * ran out before all requested runs were done. Simulation never says `holds`: only the exhaustive
 * explorer can.
 *
 * Steps are single `execStep`s (the explorer's merging of invisible steps is not applied), so the
 * distinct-state count includes intermediate states the explorer merges away and is not comparable
 * with its `states`. A violation's schedule is one actor index per step from the initial state and
 * replays with `runSchedule`.
 *
 * Sharding (`shard: {index: i, count: N}`): this call runs exactly the runs r < `runs` with
 * r mod N = i. Run r's random stream depends only on (seed, r), so the union of the N shards is
 * the unsharded run set, run for run (see shard.ts).
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import type { MirrorVariant } from '../mirror/device.js';
import { buildScenario } from '../scenario/build.js';
import type { Property, Violation } from './explore.js';
import { PROPERTIES } from './properties.js';
import { encodeSchedule } from './schedule.js';
import { FingerprintSet } from './visited.js';
import { Prng, deriveSeed, normalizeSeed } from './prng.js';

export type Strategy = 'random' | 'pct';
export type SimulateVerdict = 'violation' | 'no-violation-found' | 'incomplete';

/** Shard i of N (0 <= i < N). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface SimulateOptions {
  /** Total number of runs (over all shards). */
  readonly runs: number;
  /** uint32 seed (any safe non-negative integer, reduced mod 2^32). */
  readonly seed: number;
  readonly strategy?: Strategy;
  /** PCT's bug depth d (>= 1, default 3): d-1 priority-change points per run. */
  readonly depth?: number;
  /** Steps after which a run is cut off (default 10000); such runs are counted in `truncatedRuns`. */
  readonly maxSteps?: number;
  /** Properties checked after every step (default none; `simulateScenario` uses PROPERTIES). */
  readonly properties?: readonly Property[];
  /** Report a deadlock when no actor can step but some are not done (default true). */
  readonly deadlock?: boolean;
  /** Run only this shard's runs (default 0/1: all). */
  readonly shard?: Shard;
  /** Stop at the first violating run (default true). With false every run is done and the shortest counterexample is kept. */
  readonly stopOnViolation?: boolean;
  /** PCT's k (estimated run length). Default: the length of a calibration random walk of `seed`. */
  readonly pctSteps?: number;
  /** Stop starting new runs after this long (verdict `incomplete` if runs remain). */
  readonly timeLimitMs?: number;
  /** Record one `RunRecord` per run in `runLog` (tests, debugging). */
  readonly keepRuns?: boolean;
}

export type RunEnd = 'done' | 'violation' | 'max-steps';

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
  /** The shortest counterexample found (ties: lowest run index). */
  readonly violation?: SimulateViolation;
  readonly elapsedMs: number;
  readonly runLog?: RunRecord[];
}

/** A PCT run's plan: initial priorities per actor and the change points (step number -> new priority). */
export interface PctPlan {
  readonly priorities: readonly number[];
  /** Sorted step numbers (1-based) after which the running actor's priority drops. */
  readonly changeSteps: readonly number[];
  /** New priority at each change step (same order as changeSteps). */
  readonly changePriorities: readonly number[];
}

/** Draws a PCT plan from `rng` (consumes it). */
export function drawPctPlan(rng: Prng, nActors: number, depth: number, k: number): PctPlan {
  const perm = rng.permutation(nActors);
  const priorities = perm.map((p) => depth + p);
  const points = Math.min(depth - 1, Math.max(0, k));
  const chosen = new Map<number, number>(); // step -> change index j (1-based)
  for (let j = 1; j <= points; j++) {
    let s: number;
    do s = 1 + rng.below(k);
    while (chosen.has(s));
    chosen.set(s, j);
  }
  const changeSteps = [...chosen.keys()].sort((a, b) => a - b);
  return { priorities, changeSteps, changePriorities: changeSteps.map((s) => depth - chosen.get(s)!) };
}

/** The PCT plan of run `run` of `seed` (what `simulate` uses): for tests and explanations. */
export function pctPlanOf(seed: number, run: number, nActors: number, depth: number, k: number): PctPlan {
  return drawPctPlan(new Prng(deriveSeed(normalizeSeed(seed), run)), nActors, depth, k);
}

/** Runs r < runs of shard (i, N): r = i, i + N, ... */
export function shardRuns(runs: number, shard: Shard): number {
  return shard.index >= runs ? 0 : Math.floor((runs - 1 - shard.index) / shard.count) + 1;
}

export function checkShard(shard: Shard): void {
  if (!Number.isInteger(shard.count) || shard.count < 1) throw new RangeError(`shard count must be a positive integer, got ${shard.count}`);
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(`shard index must be an integer in [0, ${shard.count - 1}], got ${shard.index}`);
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The length of one random walk (no properties) from the initial state with the calibration seed
 * of `seed`: PCT's default k. Restores the world's state.
 */
export function estimateRunLength(w: World, seed: number, maxSteps: number): number {
  const initial = w.snapshot();
  const rng = new Prng(deriveSeed(normalizeSeed(seed), -1));
  const n = w.layout.actorNames.length;
  const cand = new Int32Array(n);
  let steps = 0;
  w.load(initial.slice());
  try {
    while (steps < maxSteps) {
      let m = 0;
      for (let a = 0; a < n; a++) if (w.actorSp(a) !== 0) cand[m++] = a;
      let ran = false;
      while (m > 0) {
        const j = rng.below(m);
        const a = cand[j];
        cand[j] = cand[--m];
        const r = execStep(w, a);
        if (r !== BLOCK_SLEEP && r !== BLOCK_SPIN) {
          ran = true;
          break;
        }
      }
      // Past a kernel BUG the model means nothing (a broken variant can loop on there forever).
      if (!ran || w.bugs.length) break;
      steps++;
    }
  } finally {
    w.load(initial);
  }
  return Math.max(1, steps);
}

export function simulate(w: World, opts: SimulateOptions): SimulateResult {
  const t0 = performance.now();
  const seed = normalizeSeed(opts.seed);
  const strategy = opts.strategy ?? 'random';
  if (strategy !== 'random' && strategy !== 'pct') throw new RangeError(`unknown strategy ${String(strategy)}`);
  const depth = opts.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be an integer >= 1, got ${depth}`);
  const maxSteps = opts.maxSteps ?? 10_000;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`maxSteps must be a positive integer, got ${maxSteps}`);
  if (!Number.isSafeInteger(opts.runs) || opts.runs < 0) throw new RangeError(`runs must be a non-negative integer, got ${opts.runs}`);
  const shard = opts.shard ?? { index: 0, count: 1 };
  checkShard(shard);
  const properties = opts.properties ?? [];
  const checkDeadlock = opts.deadlock ?? true;
  const stopOnViolation = opts.stopOnViolation ?? true;
  const timeLimit = opts.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const nActors = w.layout.actorNames.length;
  const pctSteps = strategy === 'pct' ? (opts.pctSteps ?? estimateRunLength(w, seed, maxSteps)) : undefined;
  if (pctSteps !== undefined && (!Number.isInteger(pctSteps) || pctSteps < 1)) throw new RangeError(`pctSteps must be a positive integer, got ${pctSteps}`);

  const initial = w.snapshot();
  const state = new Int32Array(initial.length);
  const visited = new FingerprintSet();
  visited.add(initial[0], initial[1]);
  const runsRequested = shardRuns(opts.runs, shard);
  const runLog: RunRecord[] | undefined = opts.keepRuns ? [] : undefined;
  const cand = new Int32Array(nActors);
  const priority = new Int32Array(nActors);
  const schedule: number[] = [];

  let runsDone = 0;
  let steps = 0;
  let truncated = 0;
  let violatingRuns = 0;
  let best: SimulateViolation | undefined;
  let timedOut = false;
  let yields = 0;

  const checkProps = (): { property: string; message: string } | undefined => {
    for (const p of properties) {
      const msg = p.check(w);
      if (msg !== undefined) return { property: p.name, message: msg };
    }
    return undefined;
  };

  // The initial state is the same for every run: check it once.
  w.load(initial.slice());
  const v0 = checkProps();

  for (let run = shard.index; run < opts.runs; run += shard.count) {
    if (runsDone > 0 && performance.now() - t0 > timeLimit) {
      timedOut = true;
      break;
    }
    const runSeed = deriveSeed(seed, run);
    const rng = new Prng(runSeed);
    let changeSteps: readonly number[] = [];
    let changePriorities: readonly number[] = [];
    if (strategy === 'pct') {
      const plan = drawPctPlan(rng, nActors, depth, pctSteps!);
      for (let a = 0; a < nActors; a++) priority[a] = plan.priorities[a];
      changeSteps = plan.changeSteps;
      changePriorities = plan.changePriorities;
    }
    let nextChange = 0;
    let lowest = 0;
    const runStates = strategy === 'pct' ? new FingerprintSet(256) : undefined;
    runStates?.add(initial[0], initial[1]);
    schedule.length = 0;
    state.set(initial);
    w.load(state);
    let found: { property: string; message: string } | undefined = v0;
    let end: RunEnd = v0 ? 'violation' : 'done';
    let runSteps = 0;

    while (!found) {
      if (runSteps >= maxSteps) {
        // Cut off only if someone could still go on.
        let unfinished = false;
        for (let a = 0; a < nActors; a++) if (w.actorSp(a) !== 0) unfinished = true;
        if (unfinished) end = 'max-steps';
        break;
      }
      let m = 0;
      for (let a = 0; a < nActors; a++) if (w.actorSp(a) !== 0) cand[m++] = a;
      if (m === 0) break; // every actor finished
      const unfinished = m;
      let chosen = -1;
      while (m > 0) {
        let j: number;
        if (strategy === 'random') {
          j = rng.below(m);
        } else {
          j = 0;
          for (let i = 1; i < m; i++) if (priority[cand[i]] > priority[cand[j]]) j = i;
        }
        const a = cand[j];
        cand[j] = cand[--m];
        const r = execStep(w, a);
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
          if (w.bugs.length) {
            schedule.push(a);
            found = { property: 'kernel-bug', message: w.bugs.join('; ') };
            break;
          }
          continue;
        }
        chosen = a;
        break;
      }
      if (found) break;
      if (chosen < 0) {
        if (checkDeadlock) found = { property: 'deadlock', message: `no actor can step; ${unfinished} not done` };
        break;
      }
      schedule.push(chosen);
      runSteps++;
      if (w.bugs.length) {
        found = { property: 'kernel-bug', message: w.bugs.join('; ') };
        break;
      }
      visited.add(w.v[0], w.v[1]);
      found = checkProps();
      if (found) break;
      if (strategy === 'pct') {
        const fresh = runStates!.add(w.v[0], w.v[1]);
        if (nextChange < changeSteps.length && changeSteps[nextChange] === runSteps) {
          priority[chosen] = changePriorities[nextChange];
          nextChange++;
        } else if (!fresh) {
          // The step closed a cycle: the actor is busy-waiting (a trylock/retry loop that is not a
          // BLOCK_SPIN). A fixed-priority scheduler would livelock here, so it yields: its priority
          // drops below every other one (PCT treats yields the same way).
          priority[chosen] = --lowest;
          yields++;
        }
      }
    }
    if (found) end = 'violation';
    if (end === 'max-steps') truncated++;
    steps += runSteps;
    runsDone++;
    if (runLog) {
      let h = FNV_OFFSET;
      for (const a of schedule) h = Math.imul(h ^ a, FNV_PRIME);
      runLog.push({ run, seed: runSeed, steps: runSteps, end, digest: h >>> 0 });
    }
    if (found) {
      violatingRuns++;
      if (!best || schedule.length < best.schedule.length) {
        best = { property: found.property, message: found.message, schedule: [...schedule], run, runSeed };
      }
      if (stopOnViolation) break;
    }
  }
  w.load(initial);
  const verdict: SimulateVerdict = best ? 'violation' : timedOut ? 'incomplete' : 'no-violation-found';
  return {
    kind: 'simulate',
    verdict,
    exhaustive: false,
    strategy,
    seed,
    ...(strategy === 'pct' ? { depth, pctSteps, yields } : {}),
    maxSteps,
    shard: { index: shard.index, count: shard.count },
    runsTotal: opts.runs,
    runsRequested,
    runs: runsDone,
    steps,
    states: visited.size,
    truncatedRuns: truncated,
    violatingRuns,
    violation: best,
    elapsedMs: performance.now() - t0,
    ...(runLog ? { runLog } : {}),
  };
}

export interface ScenarioSimulateResult extends SimulateResult {
  readonly scenario: string;
  readonly variant: string;
  /** Replayable schedule string (`vmamirror replay`) of the counterexample, if any. */
  readonly schedule?: string;
}

/** Simulates one catalogue (or loaded) scenario under one variant, checking PROPERTIES. */
export function simulateScenario(spec: ScenarioSpec, variant: MirrorVariant, opts: Omit<SimulateOptions, 'properties'>): ScenarioSimulateResult {
  const { world } = buildScenario(spec, variant);
  const r = simulate(world, { ...opts, properties: PROPERTIES });
  return {
    ...r,
    scenario: spec.name,
    variant: variant.name,
    schedule: r.violation ? encodeSchedule(spec.name, variant.name, r.violation.schedule) : undefined,
  };
}
