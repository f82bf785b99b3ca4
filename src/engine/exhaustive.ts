/**
 * Exhaustive explicit-state exploration, breadth-first by default: the first violation found is at
 * minimal depth (in merged transitions), so its schedule is a shortest counterexample; depth-first
 * on request. States are the world's flat arrays; visited states are kept only as 64-bit
 * fingerprints (hash compaction, see visited.ts); successors are computed in place and taken back
 * with the world's undo log; the frontier stores each state compactly.
 *
 * What counts as a violation is decided by the verdict module (verdict.ts): a kernel BUG raised by a
 * step (a blocked attempt included), a property failing on a reached state, a deadlock, or a lone
 * actor that does not terminate (termination.ts), and — with `lockOrder` — a cycle in the order
 * lock classes are taken in over the whole search (src/world/lock-order.ts: the graph lives beside
 * the world for the run, not in the state; the violation's schedule reaches through the step that
 * closed the cycle, and each edge carries the schedule of its first witness). The order states are
 * expanded in is the strategy's (bfs.ts, dfs.ts); the transitions out of each state are
 * successors.ts's, the loop every thread of the parallel search runs too.
 *
 * Reduction (the `merge` option, on by default): a step whose observed footprint is only the
 * running actor's own frames is invisible to every property and independent of every other
 * actor's steps (it reads and writes nothing they read or write), and it stays enabled whatever
 * they do (its enabledness read nothing shared). {that step} is therefore a persistent set at its
 * state, and executing it at once — merging it into the transition — loses no reachable shared
 * state and no violation. A transition is thus: invisible steps, one visible step, then the
 * invisible steps that follow. BFS explores finitely many states, so the cycle proviso holds
 * (a chain of invisible steps is bounded, and an actor looping forever on its own frames is
 * reported as a model error).
 */
import type { World } from '../world/world.js';
import { visitedStates } from './visited.js';
import { Tree } from './tree.js';
import { FairTermination, LoneRun } from './termination.js';
import { bfs } from './bfs.js';
import type { ExhaustiveStrategy } from './strategy.js';
import { LOCK_ORDER, verdictsOf, type CheckSelection, type Found, type Verdicts, type Violation } from './verdict.js';
import { judgeSchedule } from './replay.js';
import { entryActor, entryChoice, transitionEntries } from '../world/entry.js';
import { StateExpansion, type SuccessorSink } from './successors.js';
import { LockOrder, type LockCycle, type LockEdge, type LockRecursion } from '../world/lock-order.js';
import type { CounterOptions } from './counters.js';
import { Canonical } from './canonical.js';
import { Findings } from './findings.js';
import { ConcreteSchedules, equivarianceDue, equivarianceEvery } from './actor-symmetry.js';

export interface ExploreOptions extends CheckSelection {
  /** Stop (verdict incomplete) after this many distinct states. */
  readonly maxStates?: number;
  /** Check every step against its declared footprint (src/world/footprint.ts): slower; traces always do. */
  readonly audit?: boolean;
  /**
   * Merge steps that touch only the actor's own call frames into the neighbouring step of the
   * same actor (default true). Sound for the checked properties: such a step reads and writes
   * nothing another actor or a property can see, so it commutes with every other step (SPIN's
   * statement merging, decided here from each step's observed footprint rather than statically).
   */
  readonly merge?: boolean;
  /** The order states are expanded in: `bfs` (default: the first counterexample is a shortest one) or `dfs` (less memory). */
  readonly strategy?: ExhaustiveStrategy;
  /** Stop (verdict incomplete) after this long. */
  readonly timeLimitMs?: number;
  /**
   * Stop (verdict incomplete) before the process's resident memory (RSS: the tables, the heap, the
   * runtime) would reach this many bytes, counting the next growth of the tables as already made.
   */
  readonly maxMemoryBytes?: number;
  /** Polled at every new state (and every few hundred expansions); true stops the run (verdict incomplete), e.g. on SIGINT. */
  readonly shouldStop?: () => boolean;
  /** Called about twice a second with the running figures. */
  readonly onProgress?: (p: Progress) => void;
  /**
   * Preemption bound (CHESS-style): explore only schedules that switch away from a still-runnable
   * actor at most this many times. Incomplete by design — a proof holds only up to the bound — but
   * most concurrency bugs need one or two preemptions. States are then keyed by (state, preemptions
   * used, last actor), so the bound is exact.
   */
  readonly preemptions?: number;
  /**
   * Store whole states instead of 64-bit fingerprints (visited.ts `ExactStates`): the visited set,
   * the preemption-bounded key and the termination graph's keys and lone-run memo are then exact,
   * so no collision can hide a state (`missedStateBound` 0). Costs the state's size per state.
   */
  readonly exact?: boolean;
  /**
   * Keep searching after a violation until this many distinct ones are found (default 1: stop at
   * the first). Distinct: another check, or the same check with a message that differs once every
   * number in it is blanked (`violationShape`), so one race seen on pfn 1 and on pfn 2 is one. A
   * state that violates a property is not expanded, a step that raised a BUG leads nowhere, and a
   * lock-order cycle still ends the search (it is a finding of the whole search so far).
   */
  readonly maxViolations?: number;
  /**
   * Swarm diversification (src/check/swarm.ts): a seed that rotates the order the actors are
   * tried in at each state (by the state's tree id), so depth-first runs with different seeds go
   * down different paths first and, stopped by a budget, cover different parts of the space. A
   * search that completes explores the same states in any order.
   */
  readonly order?: number;
  /** Called with every distinct state as it is interned (renamed, under the counter abstraction), and its depth in the search tree: for tests that compare state sets. */
  readonly onState?: (state: Int32Array, depth: number) => void;
  /** Renumber interchangeable rows (swap slots: src/engine/symmetry.ts) before a state is interned. */
  readonly symmetry?: boolean;
  /**
   * Groups of interchangeable actors (by number; a scenario's `symmetric:`): states that differ
   * only in which actor of a group is which are one (actor-symmetry.ts). The fair-termination
   * check then runs on the region graph times the groups' permutations (termination.ts), unless
   * that product exceeds `maxTerminationProduct` (`fairTermination` in the result says which);
   * schedules are reported concrete.
   */
  readonly actorGroups?: readonly (readonly number[])[];
  /** With `actorGroups`: the most nodes or edges the fair-termination check's product may have (termination.ts `MAX_PRODUCT` by default). */
  readonly maxTerminationProduct?: number;
  /**
   * With `actorGroups`: check the transitions from every this-many-th state (by discovery order),
   * and from the first `EQUIVARIANCE_FIRST`, against every permutation of the groups (actor-
   * symmetry.ts `checkEquivariance`); 1 checks them all, 0 none. Default: 64 under `audit`, else 0.
   */
  readonly equivarianceEvery?: number;
}

export { violationShape } from './findings.js';

export interface Progress {
  readonly states: number;
  readonly transitions: number;
  readonly frontier: number;
  readonly depth: number;
  readonly elapsedMs: number;
  /** The explorer's tables, and the process's resident memory. */
  readonly bytes: number;
  readonly rss: number;
}

/** The lock-order graph a search recorded (option `lockOrder`). */
export interface LockOrderReport {
  /** Lock classes the model declared, and the edges seen (each with its first witness). */
  readonly classes: number;
  readonly edges: readonly LockEdge[];
  /** One shortest cycle per strongly connected component (the violation is the first one closed). */
  readonly cycles: readonly LockCycle[];
  /** Classes taken while already held, without a nesting annotation (lockdep's "possible recursive locking"). */
  readonly recursions: readonly LockRecursion[];
}

/** What the result says of a search's lock-order graph `lo`. */
export function lockOrderReport(lo: LockOrder): LockOrderReport {
  return { classes: lo.classCount, edges: lo.edges(), cycles: lo.cycles(), recursions: lo.recursions() };
}

/** The lock-order violation of graph `lo`, if a step closed a cycle in it: the cycle, its schedule the one through the step that closed it. */
export function lockCycleViolation(verdicts: Verdicts, lo: LockOrder): Violation | undefined {
  return lo.closed && { ...verdicts.lockOrder(lo.closed), schedule: lo.closing!.witness.schedule ?? [] };
}

/** Why an incomplete run stopped. */
export type StopReason = 'max-states' | 'time' | 'memory' | 'interrupted' | 'preemption-bound' | 'max-violations';

export interface ExploreResult {
  readonly verdict: 'holds' | 'violation' | 'incomplete';
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly violation?: Violation;
  readonly elapsedMs: number;
  /** Visited-set bytes per distinct state. */
  readonly bytesPerState: number;
  /** The probability that a fingerprint collision hid a state, at most (visited.ts `collisionBound`); 0 with `exact`. */
  readonly missedStateBound: number;
  /** Whether whole states were stored (option `exact`), not fingerprints. */
  readonly exact?: boolean;
  /** Set when the verdict is incomplete (or, with `maxViolations`, when a limit cut the search for more). */
  readonly stopReason?: StopReason;
  /** With `maxViolations` > 1: every distinct violation found, in the order found (`violation` is the first). */
  readonly violations?: readonly Violation[];
  /** Peak bytes held by the explorer's tables (visited set, frontier, parent tree, termination graph). */
  readonly peakBytes: number;
  /** Peak resident memory of the whole process during the run (sampled), and what it grew by. */
  readonly peakRss: number;
  readonly rssGrowth: number;
  /** The lock-order graph of the search (with the `lockOrder` option). */
  readonly lockOrder?: LockOrderReport;
  /** With `preemptions`: the transitions the bound cut off (0: no schedule needs more preemptions). */
  readonly beyondBound?: number;
  /** The counter abstraction the search ran with, when it renamed some domain: a replay of its termination lasso renames the same way. */
  readonly counters?: CounterOptions;
  /**
   * Set when a breadth-first search was stopped (verdict incomplete, without a preemption bound)
   * past its first level: every run of at most this many transitions was explored — its states checked against every
   * property, its steps run (so their BUGs are found). Termination, a property of whole runs, is not
   * covered.
   */
  readonly completeDepth?: number;
  /** The row domains the search renumbered (`symmetry`), when the layout has one. */
  readonly symmetry?: readonly string[];
  /**
   * The actor groups the search permuted (`actorGroups`), by name; with the termination check on,
   * whether the fair-termination check was made — on the region graph times the permutations —
   * or, that product being too large, not (`reason`).
   */
  readonly actorSymmetry?: ActorSymmetryReport;
}

/** What a search under actor symmetry says of itself (`ExploreResult.actorSymmetry`). */
export interface ActorSymmetryReport {
  readonly groups: readonly (readonly string[])[];
  readonly fairTermination?: 'checked' | 'not checked';
  readonly reason?: string;
}

/** Fresh states between two readings of the process's RSS under a memory limit (a reading costs ~10 µs, far more on a loaded machine). */
const MEMORY_EVERY = 512;
/** Without a limit the readings only sample the peak for the report: sparser, off the hot path. */
const PEAK_EVERY = 8192;
/** Expansions between two polls when no new state turns up (the end of a search). */
const POLL_EVERY = 256;
/** Polls between two readings of the clock (a few microseconds of search: the time limit and the progress line keep to that). */
const CLOCK_EVERY = 32;

function rss(): number {
  return globalThis.process?.memoryUsage?.rss?.() ?? 0;
}

export function explore(w: World, opts: ExploreOptions = {}): ExploreResult {
  try {
    return exploreFrom(w, opts);
  } finally {
    // Also when a model error is thrown: the world must not keep logging undo entries or tracking.
    w.undoing = false;
    w.tracking = false;
    w.audit = false;
    w.lockOrder = null;
    w.undoReset();
  }
}

function exploreFrom(w: World, opts: ExploreOptions): ExploreResult {
  const t0 = performance.now();
  const verdicts = verdictsOf(opts);
  const maxStates = opts.maxStates ?? Number.POSITIVE_INFINITY;
  const timeLimit = opts.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const maxBytes = opts.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  const nActors = w.layout.actorNames.length;
  const slots = w.layout.size;
  const exact = opts.exact ?? false;
  const visited = visitedStates(w.layout, exact);
  const tree = new Tree();
  const initial = w.snapshot();
  // The reductions that rename states (canonical.ts: counters, swap slots, actors): every state is
  // interned canonical, the initial one too. Schedules still replay from the concrete initial
  // state: the renaming commutes with every step, and actor permutations are translated back.
  const canonical = new Canonical(w, opts);
  const { counters: canon, rows: sym, actors } = canonical;
  const start = canonical.start(w, initial, (opts.preemptions ?? -1) >= 0);
  const parent = new Int32Array(slots);
  const merge = opts.merge ?? true;
  w.undoing = true;
  w.audit = opts.audit ?? false;
  const strategy = opts.strategy ?? bfs;
  const frontier = strategy.frontier(w.layout);
  const bound = opts.preemptions ?? -1;
  const order = opts.order;
  // Termination is a property of whole runs; under a preemption bound only bounded runs exist.
  // Under actor symmetry the graph is the quotient's, its edges marked with their permutations: the check multiplies it out.
  const fair = verdicts.terminationOn && bound < 0 ? new FairTermination(w, actors, opts.maxTerminationProduct) : undefined;
  const lone = fair ? new LoneRun(w, exact, canon) : undefined;
  let transitions = 0;
  /** Transitions the preemption bound cut off (none: every schedule was searched). */
  let beyondBound = 0;
  let maxDepth = 0;
  /**
   * The depth of the state being expanded. Breadth-first (a `shortest` strategy), every state
   * within that many transitions of the start has been found and checked, and every transition
   * out of the states nearer than it has run: what an incomplete search still covers.
   */
  let expanding = 0;
  let peakBytes = 0;
  let lastPoll = t0;
  const rss0 = rss();
  let peakRss = rss0;
  let sinceMemory = 0;
  let sinceClock = CLOCK_EVERY; // the first poll reads it
  const memoryEvery = maxBytes === Number.POSITIVE_INFINITY ? PEAK_EVERY : MEMORY_EVERY;
  // The lock-order graph; each witness's schedule reaches through the running step (`expansion` says where it is).
  const lo = verdicts.lockOrderOn ? new LockOrder() : null;
  w.lockOrder = lo;

  const bytes = () => visited.bytes + frontier.bytes + tree.bytes + (fair?.bytes ?? 0) + (lone?.bytes ?? 0);
  /**
   * What the tables may allocate before the next reading: the visited set's rehash into a table
   * twice its size (written all at once), the tree's copy when it is about to double, the
   * termination graph's. Counted as already allocated, so that the limit holds through a growth
   * rather than after it.
   */
  const growthAhead = () => {
    const visitedSoon = visited.growthAhead(MEMORY_EVERY);
    const treeSoon = tree.size + MEMORY_EVERY >= tree.parent.length ? tree.bytes : 0;
    return visitedSoon + treeSoon + (fair?.growthAhead(MEMORY_EVERY, MEMORY_EVERY * nActors * 4) ?? 0);
  };
  const memoryReached = (): boolean => {
    sinceMemory = 0;
    const r = rss();
    peakRss = Math.max(peakRss, r);
    peakBytes = Math.max(peakBytes, bytes());
    return r + growthAhead() >= maxBytes;
  };

  const maxViolations = opts.maxViolations ?? 1;
  const findings = new Findings(maxViolations);
  const found = findings.list;
  /** Records a violation unless one of its shape is known; true when that makes enough. */
  const enough = (v: Violation): boolean => findings.add(v);

  const schedules = new ConcreteSchedules(actors, tree);
  /** The schedule to tree node `id`, then `tail` (entries from its state), in the concrete numbering of the actors. */
  const scheduleOf = (id: number, tail: readonly number[] = []): number[] => schedules.to(id, tail);

  const concreteMessage = (v: Violation): Violation => concreteViolation(w, v, opts);

  const finish = (verdict: ExploreResult['verdict'], first?: Violation, stopReason?: StopReason): ExploreResult => {
    w.undoing = false;
    w.undoReset();
    w.load(initial);
    // The concrete replays of the violations (actor symmetry) run steps on this world: they must not
    // record into the graph the search reports (a blocked attempt it took back, a lone run's steps it
    // never ran would add edges, with witnesses of whatever step ran last; the threads' graph has none).
    if (lo) lo.paused = true;
    const violation = actors && first ? concreteMessage(first) : first;
    if (actors) for (let k = 0; k < found.length; k++) found[k] = k === 0 && violation ? violation : concreteMessage(found[k]);
    peakBytes = Math.max(peakBytes, bytes());
    peakRss = Math.max(peakRss, rss());
    return {
      verdict,
      states: visited.size,
      transitions,
      depth: maxDepth,
      violation,
      elapsedMs: performance.now() - t0,
      bytesPerState: visited.size ? visited.bytes / visited.size : 0,
      missedStateBound: visited.missedBound,
      ...(exact && { exact }),
      ...(bound >= 0 && { beyondBound }),
      ...(canon && { counters: opts.counters }),
      ...(sym && { symmetry: sym.names }),
      ...(actors && { actorSymmetry: actorSymmetryReport(actors.names, fair) }),
      ...(maxViolations > 1 && { violations: found }),
      ...(verdict === 'incomplete' && strategy.shortest && bound < 0 && expanding > 0 && { completeDepth: expanding }),
      stopReason,
      peakBytes,
      peakRss,
      rssGrowth: peakRss - rss0,
      ...(lo && { lockOrder: lockOrderReport(lo) }),
    };
  };

  /** Checks every limit (from the first state on) and reports progress; returns why to stop, if so. */
  const poll = (): StopReason | undefined => {
    if (visited.size >= maxStates) return 'max-states';
    if (opts.shouldStop?.()) return 'interrupted';
    if (++sinceMemory >= memoryEvery && memoryReached()) return 'memory';
    if (++sinceClock < CLOCK_EVERY) return undefined;
    sinceClock = 0;
    const now = performance.now();
    if (now - t0 >= timeLimit) return 'time';
    if (now - lastPoll < 500) return undefined;
    lastPoll = now;
    opts.onProgress?.({ states: visited.size, transitions, frontier: frontier.size, depth: maxDepth, elapsedMs: now - t0, bytes: bytes(), rss: rss() });
    return undefined;
  };

  /** The end of a search that found what it was asked to, or was stopped (`reason`): a violation if any was found. */
  const stopped = (reason?: StopReason): ExploreResult => {
    if (!found.length) return finish('incomplete', undefined, reason);
    // Asked for several and stopped at the bound: say so (there may be more).
    return finish('violation', found[0], reason ?? (maxViolations > 1 && found.length >= maxViolations ? 'max-violations' : undefined));
  };

  /** Loads the state a schedule reaches from the initial state (no undo, no tracking). */
  const replayTo = (schedule: readonly number[]): void => {
    w.undoing = false;
    w.load(initial.slice());
    for (const e of schedule) expansion.stepWith(entryActor(e), entryChoice(e));
    w.clearBugs();
  };

  const checkState = (id: number): Violation | undefined => {
    const found = verdicts.state(w);
    return found && { ...found, schedule: scheduleOf(id) };
  };
  // Local assertions (verdict.ts `Property.reads`): a new state is checked only for the properties
  // whose fields the transition wrote since `mark`; its parent, expanded, satisfied them all.
  const checkNew = (id: number, mark: number): Violation | undefined => {
    const found = verdicts.stateSince(w, mark);
    return found && { ...found, schedule: scheduleOf(id) };
  };

  /** The BUG the last step raised (the verdicts' question), reached from state `id` by the step `entry` and `steps - 1` more of its actor. */
  const bug = (id: number, entry: number, steps: number): Violation => {
    const found: Found = verdicts.bug(w)!;
    return { ...found, schedule: scheduleOf(id, transitionEntries(entry, steps)) };
  };

  // The transitions of each state, as every exhaustive search runs them (successors.ts).
  const every = actors ? equivarianceEvery(opts.equivarianceEvery, w.audit) : 0;
  const expansion = new StateExpansion(w, verdicts, canonical, lo, merge, new Int32Array(every > 0 ? slots : 0));
  if (lo) lo.schedule = () => scheduleOf(expansion.atId, transitionEntries(expansion.atEntry, expansion.atSteps));
  /** The state being expanded: its id, and its index in the termination check's region (-1: not in it). */
  let id = 0;
  let region = -1;
  /** Why a poll stopped the expansion, if one did. */
  let pollStop: StopReason | undefined;
  const sink: SuccessorSink = {
    bug: (_seq, entry, steps) => enough(bug(id, entry, steps)),
    // A cycle ends the search whatever `maxViolations` asks.
    checkpoint: () => {
      const cycle = lockCycleViolation(verdicts, lo!);
      if (!cycle) return false;
      enough(cycle);
      return true;
    },
    successor: (_seq, a, entry, steps, mark, applied, pre) => {
      const next = w.v;
      // Under a preemption bound, keyed by (state, preemptions used, last actor): the tag is never 0.
      const fresh = visited.add(next, bound >= 0 ? pre * 0x10000 + a + 1 : 0);
      const keyLo = visited.keyLo;
      const keyHi = visited.keyHi;
      let target = -1;
      if (fresh) {
        const depth = tree.depth[id] + 1;
        opts.onState?.(next, depth);
        if (depth > maxDepth) maxDepth = depth;
        const cid = tree.add(id, entry, depth, steps);
        actors?.noteNode(cid);
        tree.pre[cid] = pre;
        // A state that violates a property is not expanded: what follows it is the same finding.
        const v = checkNew(cid, mark);
        if (v && enough(v)) return true;
        if (!v && fair) target = fair.discover(cid, keyLo, keyHi);
        if (!v && lone) {
          if (lo) lo.paused = true; // a look-ahead of the lone actor: the search gets to its steps itself
          const run = lone.check(next);
          if (lo) lo.paused = false;
          if (run && enough({ ...run.found, schedule: scheduleOf(cid, run.steps) })) return true;
          w.load(next);
        }
        pollStop = poll();
        if (pollStop) return true;
        if (!v) frontier.push(next, cid, w.undoEntries, mark, w.undoLength);
      } else if (region >= 0) {
        target = fair!.indexOf(keyLo, keyHi);
      }
      if (region >= 0 && target >= 0) fair!.edge(target, entry, steps, applied);
      return false;
    },
  };

  visited.add(start, 0);
  opts.onState?.(start, 0);
  const root = tree.add(-1, -1, 0, 0);
  actors?.noteNode(root);
  w.load(start.slice());
  const v0 = checkState(root);
  if (v0 && enough(v0)) return stopped();
  fair?.discover(root, visited.keyLo, visited.keyHi);
  const stop0 = memoryReached() ? 'memory' : poll();
  if (stop0) return stopped(stop0);

  if (!v0) frontier.push(start, root);
  let expansions = 0;
  for (id = frontier.take(parent); id >= 0; id = frontier.take(parent)) {
    if (++expansions >= POLL_EVERY) {
      expansions = 0;
      const stop = poll();
      if (stop) return stopped(stop);
    }
    expanding = tree.depth[id];
    // With a preemption bound: switching away from the last actor while it can still run costs one.
    const last = id === root ? -1 : entryActor(tree.actor[id]);
    region = -1;
    if (fair?.inRegion(id)) {
      visited.keyOf(parent, 0);
      region = fair.indexOf(visited.keyLo, visited.keyHi);
    }
    if (region >= 0) fair!.beginEdges(region);
    const rotate = order === undefined ? 0 : Math.imul(id ^ order, 0x9e3779b1) >>> 0;
    w.load(parent);
    const ended = expansion.expand(parent, id, bound, tree.pre[id], last, rotate, equivarianceDue(id, every), sink);
    transitions += expansion.transitions;
    beyondBound += expansion.beyond;
    if (ended) return stopped(pollStop);
    if (region >= 0) fair!.endEdges(expansion.enabledMask, expansion.acquiringMask);
    if (expansion.enabled === 0 && verdicts.deadlock(expansion.unfinished)) {
      w.load(parent); // at the stuck state, the message names where each actor waits
      if (enough({ ...verdicts.deadlock(expansion.unfinished, w)!, schedule: scheduleOf(id) })) return stopped();
    }
  }
  // Under a preemption bound nothing beyond the bound was looked at: not a proof.
  if (bound >= 0) return stopped('preemption-bound');
  if (lo) lo.paused = true; // the lasso's replays run steps the search has already run
  // Under actor symmetry, the schedule to τ(C) for tree node `tid`'s canonical state C and permutation `k` (termination.ts).
  const stem = (tid: number, k: number) => schedules.stem(tid, k);
  // The product under actor symmetry is made now: within what the memory limit leaves.
  const lasso = fair?.find(stem, (tid, k) => replayTo(stem(tid, k)), maxBytes - rss());
  if (lasso) enough({ ...lasso.found, schedule: lasso.schedule });
  return found.length ? finish('violation', found[0]) : finish('holds');
}

/**
 * Under actor symmetry a violation's message was made on a canonical state, where the actors of
 * a group may be the other way round: replayed concretely (its schedule is), it names the actors
 * the schedule's trace shows.
 */
export function concreteViolation(w: World, v: Violation, opts: ExploreOptions): Violation {
  if (v.property === LOCK_ORDER) return v;
  const again = judgeSchedule(w, v.schedule, { ...opts, lockOrder: false });
  return again?.property === v.property ? { ...v, message: again.message } : v;
}

/** The result's `actorSymmetry`: the groups, and whether the fair-termination check (`fair`, if on) multiplied its graph out. */
export function actorSymmetryReport(groups: string[][], fair: FairTermination | undefined): ActorSymmetryReport {
  if (!fair) return { groups };
  if (fair.refused) return { groups, fairTermination: 'not checked', reason: fair.refused };
  return { groups, fairTermination: 'checked' };
}
