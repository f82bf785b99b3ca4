/**
 * The termination check, one definition for every driver: **once the adversaries have stopped,
 * every client completes under weak fairness** (strong fairness for lock waiters, below).
 * Adversaries (core-mm operations) run finite programs and may legitimately keep a client
 * retrying while they run; daemons (a vCPU, a worker) loop for ever. Once every adversary has
 * finished, a client that never completes — going round a cycle in which every actor that stays runnable keeps getting the CPU — is a livelock (a fault
 * path retrying with no invalidation left) or a starvation (waiting for a lock a daemon keeps).
 *
 * The *region* is the set of states where every adversary has finished and some client has not —
 * and, since an adversary's program is finite, the states where one adversary is the only
 * unfinished actor besides daemons (alone, it must finish too). Finishing is permanent, so a cycle
 * stays inside one set of finished actors, and a cycle in the region is a run in which some actor
 * that must complete never does. A cycle is weakly fair when every actor
 * that is enabled in all of its states takes a step in it, and — strong fairness for lock waiters —
 * every actor whose step is a blocking lock acquire (`w.fairAcquire`) that it could take in some
 * state of the cycle takes a step in it: the kernel's locks serve their waiters (locks.ts), so a
 * writer is not starved by a reader that keeps re-taking the lock, while a retry loop that only
 * polls a condition (a sequence count, a flag) gets no such promise. By the standard argument
 * (Emerson–Lei, with the Streett refinement for the strong part), a strongly connected component
 * holds a fair cycle iff it has an internal edge, every lock waiter that could take its lock in one
 * of its states takes some internal edge, and every actor either takes some internal edge or is
 * disabled in one of its states: the cycle through all of its states and edges is then fair. A
 * component whose lock waiter never steps holds a fair cycle only among its states where that
 * waiter cannot take the lock, so those are searched again as components of their own.
 *
 * `FairTermination` is the exhaustive search's form: while the explorer runs it records the region
 * graph (its transitions, merged ones included: the steps merged into a transition touch only the
 * running actor's own frames, so no other actor's enabledness changes along them), and once the
 * search is complete it finds the components (Tarjan) and builds a lasso — the shortest path in
 * the search tree to the component, then a fair cycle through it. `CycleWatch` is the form for one
 * sequence of states (a replay, a shrink candidate): when the sequence comes back to a region state,
 * the cycle since its last visit is checked for fairness.
 *
 * Under actor symmetry (actor-symmetry.ts) the search records the quotient: one region state per
 * orbit, each edge with the permutation σ its target's canonical form applied. A cycle of the
 * quotient may permute the actors, so fairness by actor is not decided on it. It is decided on the
 * product with the group (Emerson and Sistla, "Utilizing symmetry when model checking under
 * fairness assumptions", TOPLAS 1997): a node (C, τ) per region state C and permutation τ — the
 * concrete state τ(C), canonical actor a being concrete actor τ(a) — and per quotient edge
 * C --a--> T (applying σ) an edge (C, τ) --τ(a)--> (T, τ∘σ⁻¹) (`ActorPermutations.after`); a
 * node's masks are C's with bit a moved to τ(a). Every concrete region state is a node (several
 * when τ(C) = τ'(C)) and every concrete edge from it is an edge of each such node, so the product
 * covers the concrete region graph: a fair cycle of it projects to a fair concrete cycle (the
 * labels and masks are the concrete ones), and a fair concrete cycle lifts to one of it. The
 * ordinary analysis on the product is therefore exact; its lasso is concrete already, its stem the
 * tree's path to C renamed to reach τ(C) (`ActorCanon.concreteAs`).
 */
import type { World } from '../world/world.js';
import { execStep, isEnabled, whereIs } from '../world/runner.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { visitedStates, type VisitedStates } from './visited.js';
import { CounterCanon, type CounterOptions } from './counters.js';
import { ModelError } from '../world/errors.js';
import { entryActor, entryChoice, entryOf, transitionEntries } from '../world/entry.js';
import { grow } from './grow.js';
import { TERMINATION, type Found } from './verdict.js';

/** Bit masks of the actors by role (termination supports up to 31 actors). */
export interface RoleMasks {
  readonly adversaries: number;
  readonly clients: number;
}

export function roleMasks(w: World): RoleMasks {
  const roles = w.layout.roles;
  if (roles.length > 31) throw new ModelError(`the termination check supports at most 31 actors, the world has ${roles.length}`);
  let adversaries = 0;
  let clients = 0;
  roles.forEach((r, a) => {
    if (r === 'adversary') adversaries |= 1 << a;
    else if (r === 'client') clients |= 1 << a;
  });
  return { adversaries, clients };
}

/** The mask of unfinished actors. */
function unfinishedMask(w: World): number {
  const n = w.layout.actorNames.length;
  let m = 0;
  for (let a = 0; a < n; a++) if (w.actorSp(a) !== 0) m |= 1 << a;
  return m;
}

/**
 * The actors that must complete in the current state, if it is in the region, else 0: the
 * unfinished clients once every adversary is done; or an adversary that is the only unfinished
 * actor besides daemons (an adversary runs a finite program: alone, it must finish too).
 */
export function regionActors(w: World, roles: RoleMasks): number {
  const u = unfinishedMask(w) & (roles.adversaries | roles.clients);
  if ((u & roles.adversaries) === 0) return u;
  return (u & (u - 1)) === 0 ? u : 0;
}

/** The termination violation: the actors in `waiting` never complete; `w` is a state of the cycle. */
export function neverCompletes(w: World, waiting: number, roles: RoleMasks): Found {
  const names: string[] = [];
  w.layout.actorNames.forEach((n, a) => {
    if (waiting & (1 << a)) names.push(`${n} (at ${whereIs(w, a)})`);
  });
  const why = waiting & roles.adversaries ? 'it runs alone' : 'every adversary has stopped';
  return {
    property: TERMINATION,
    message: `${names.join(', ')} never complete${names.length === 1 ? 's' : ''}: ${why}, yet the run can go round a cycle for ever with every runnable actor getting the CPU (a retry loop with nothing left to wait for, or a wait nobody will end)`,
  };
}

/**
 * A lone actor (the only unfinished one, daemons aside, and not a daemon itself) that runs this many
 * steps without finishing is reported even if it never comes back to a state: a retry loop that
 * bumps a counter each time round (a sequence number) makes the state space infinite, so no cycle
 * would ever close and the search would never end.
 */
export const LONE_BOUND = 20_000;

/** The one unfinished actor that must complete, if it is alone (daemons aside), else -1. */
function loneActor(w: World, roles: RoleMasks): number {
  const u = unfinishedMask(w);
  if (u === 0 || (u & (u - 1)) !== 0) return -1;
  const a = 31 - Math.clz32(u);
  return (roles.adversaries | roles.clients) & u ? a : -1;
}

/** The termination violation of a lone actor that ran LONE_BOUND steps without finishing. */
function runsOn(w: World, a: number): Found {
  return {
    property: TERMINATION,
    message: `${w.layout.actorNames[a]} (at ${whereIs(w, a)}) never completes: it runs alone and takes ${LONE_BOUND} steps without finishing (a retry loop that changes only counters)`,
  };
}

/**
 * The exhaustive search's bounded check for lone actors: from a state where one actor is alone, run
 * it alone; `LONE_BOUND` steps without finishing is a violation (a revisited state is left to the
 * fair-cycle check, which reports it with its cycle). States from which the lone actor finishes or
 * cycles are remembered, so each is run at most once — by fingerprint, or (`exact`) whole, as the
 * search's visited set keeps them.
 */
export class LoneRun {
  private readonly done: VisitedStates;
  /** The states of the run under way. */
  private readonly seen: VisitedStates;
  private readonly buf: Int32Array;
  private readonly roles: RoleMasks;

  constructor(
    private readonly w: World,
    exact = false,
    /** The counter abstraction of the search, if on: the lone run's states are renamed as the search's are. */
    private readonly canon?: CounterCanon,
  ) {
    this.done = visitedStates(w.layout, exact, 1 << 10);
    this.seen = visitedStates(w.layout, exact, 1 << 8);
    this.buf = new Int32Array(w.layout.size);
    this.roles = roleMasks(w);
  }

  get bytes(): number {
    return this.done.bytes + this.seen.bytes;
  }

  /** The violation and the lone actor's steps from `state`, if it runs on for ever; clobbers w.v. */
  check(state: Int32Array): { found: Found; steps: number[] } | undefined {
    const w = this.w;
    const undoing = w.undoing;
    w.undoing = false; // the lone run works on its own copy: nothing to take back
    try {
      w.load(state);
      const lone = loneActor(w, this.roles);
      if (lone < 0 || this.done.find(state, 0)) return undefined;
      const buf = this.buf;
      buf.set(state);
      w.load(buf);
      const seen = this.seen;
      seen.clear();
      const path: number[] = [];
      for (;;) {
        if (w.actorSp(lone) === 0 || this.done.find(buf, 0) || !seen.add(buf, 0)) break;
        if (path.length >= LONE_BOUND) return { found: runsOn(w, lone), steps: path };
        const r = execStep(w, lone);
        if (w.bugs.length) {
          w.clearBugs(); // a BUG comes first on this path; the search reports it when it gets there
          return undefined;
        }
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) break; // blocked for good: the search reports the deadlock
        // A retry loop that comes back with a new sequence or generation comes back to a state seen.
        this.canon?.canonicalize(w);
        path.push(lone);
      }
      this.done.addAll(seen);
      return undefined;
    } finally {
      w.undoing = undoing;
    }
  }
}

/** Open-addressed map from a 64-bit fingerprint to a small int (the region index). */
class FingerprintIndex {
  private table = new Int32Array(3 << 10);
  private mask = (1 << 10) - 1;
  size = 0;

  get capacity(): number {
    return this.mask + 1;
  }

  get(lo: number, hi: number): number {
    const t = this.table;
    for (let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask; ; i = (i + 1) & this.mask) {
      const k = i * 3;
      if (t[k + 2] === 0) return -1;
      if (t[k] === lo && t[k + 1] === hi) return t[k + 2] - 1;
    }
  }

  /** The value of (lo, hi) if it is in the map; else files it with `value` and returns -1 (one probe either way). */
  add(lo: number, hi: number, value: number): number {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const t = this.table;
    for (let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask; ; i = (i + 1) & this.mask) {
      const k = i * 3;
      if (t[k + 2] === 0) {
        t[k] = lo;
        t[k + 1] = hi;
        t[k + 2] = value + 1;
        this.size++;
        return -1;
      }
      if (t[k] === lo && t[k + 1] === hi) return t[k + 2] - 1;
    }
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  private grow(): void {
    const old = this.table;
    this.mask = this.mask * 2 + 1;
    this.table = new Int32Array((this.mask + 1) * 3);
    this.size = 0;
    for (let k = 0; k < old.length; k += 3) if (old[k + 2] !== 0) this.add(old[k], old[k + 1], old[k + 2] - 1);
  }
}

/**
 * The permutations of the actor groups under actor symmetry (actor-symmetry.ts `ActorCanon`), as
 * the product of the region graph with them needs them.
 */
export interface ActorPermutations {
  /** How many (the identity is 0). */
  readonly size: number;
  /** Permutation `k`: `image(k)[a]` is a's image. */
  image(k: number): Int32Array;
  /** The index of τ∘σ⁻¹ for τ = permutation `k` and σ = permutation `s`. */
  after(k: number, s: number): number;
}

/**
 * The most nodes, or edges, the product of the region graph with the actor permutations may have
 * (each costs 16 to 24 bytes, and the components' tables 11 per node): beyond it the check is not
 * made, and the result says so.
 */
export const MAX_PRODUCT = 1 << 23;

/** `m` with each bit a moved to bit p[a]. */
function permuteMask(m: number, p: Int32Array): number {
  let out = 0;
  for (let a = 0; a < p.length; a++) if (m & (1 << a)) out |= 1 << p[a];
  return out;
}

/** The exhaustive search's termination check: records the region graph, then looks for a fair cycle. */
export class FairTermination {
  private readonly roles: RoleMasks;
  private readonly index = new FingerprintIndex();
  /**
   * Per region state: its search-tree id, enabled actors, the enabled actors whose step is a lock
   * acquire (strongly fair), unfinished clients, and its edges [first, first + count).
   */
  private treeId = new Int32Array(1024);
  private enabled = new Int32Array(1024);
  private acquiring = new Int32Array(1024);
  private clients = new Int32Array(1024);
  private edgeFirst = new Int32Array(1024);
  private edgeCount = new Int32Array(1024);
  private states = 0;
  /** Edges: source and target region states, schedule entry of the transition's first step, steps in it. */
  private edgeFrom = new Int32Array(4096);
  private edgeTo = new Int32Array(4096);
  private edgeEntry = new Int32Array(4096);
  private edgeSteps = new Int32Array(4096);
  /** Under actor symmetry: per edge, the permutation its target's canonical form applied (an index of `perms`). */
  private edgePerm = new Int32Array(0);
  private edges = 0;
  /** Region nodes per region state: the product's copies (`multiply`), else 1. */
  private copies = 1;
  /** Set when the product with the actor permutations was too large to make: why the check was not made. */
  refused: string | undefined;
  private expanding = -1;
  /**
   * A bit per search-tree id: the state is in the region. Most states are not, and the explorer
   * asks of every state it expands: the bit answers without a probe of the index (a cache miss).
   */
  private regionBits = new Uint8Array(1024);

  constructor(
    private readonly w: World,
    /** Under actor symmetry: the group the search's states are canonical for. */
    private readonly perms?: ActorPermutations,
    /** The most nodes or edges the product with `perms` may have. */
    private readonly maxProduct = MAX_PRODUCT,
  ) {
    this.roles = roleMasks(w);
    if (!perms) return;
    this.edgePerm = new Int32Array(this.edgeTo.length);
    // The region, and the property, are read by role: a permutation must keep every actor's.
    const roles = w.layout.roles;
    for (let k = 1; k < perms.size; k++) {
      const p = perms.image(k);
      const a = roles.findIndex((r, x) => roles[p[x]] !== r);
      if (a >= 0)
        throw new ModelError(`actor symmetry: actors ${w.layout.actorNames[a]} (${roles[a]}) and ${w.layout.actorNames[perms.image(k)[a]]} (${roles[p[a]]}) are grouped but have different roles`);
    }
  }

  get bytes(): number {
    return this.index.bytes + this.treeId.byteLength * 6 + this.edgeTo.byteLength * 4 + this.edgePerm.byteLength + this.regionBits.byteLength;
  }

  /**
   * What the tables may allocate at once within the next `states` new region states and `edges`
   * edges: the index's rehash into a table twice its size, the copies of arrays about to double.
   */
  growthAhead(states: number, edges: number): number {
    let b = 0;
    if ((this.index.size + states) * 4 > this.index.capacity * 3) b += 2 * this.index.bytes;
    if (this.states + states >= this.treeId.length) b += this.treeId.byteLength * 6;
    if (this.edges + edges >= this.edgeTo.length) b += this.edgeTo.byteLength * 4 + this.edgePerm.byteLength;
    return b;
  }

  /**
   * The region index of the current state of `w`, whose key in the visited set is (lo, hi), or -1
   * if it is outside the region; a new region state is recorded with its tree id.
   */
  discover(treeId: number, lo: number, hi: number): number {
    return this.record(treeId, regionActors(this.w, this.roles), lo, hi);
  }

  /**
   * `discover` of a state whose region actors (`regionActors`) were computed elsewhere: by a worker
   * thread of a parallel search (parallel.ts), which sends them with the state's key.
   */
  record(treeId: number, clients: number, lo: number, hi: number): number {
    if (clients === 0) return -1;
    if (treeId >> 3 >= this.regionBits.length) this.regionBits = grow(this.regionBits, (treeId >> 3) + 1);
    this.regionBits[treeId >> 3] |= 1 << (treeId & 7);
    // One probe: a new state (every caller's) is filed where the search for it ended.
    const known = this.index.add(lo, hi, this.states);
    if (known >= 0) return known;
    if (this.states === this.treeId.length) {
      this.treeId = grow(this.treeId);
      this.enabled = grow(this.enabled);
      this.acquiring = grow(this.acquiring);
      this.clients = grow(this.clients);
      this.edgeFirst = grow(this.edgeFirst);
      this.edgeCount = grow(this.edgeCount);
    }
    const r = this.states++;
    this.treeId[r] = treeId;
    this.clients[r] = clients;
    return r;
  }

  /** Whether the state of search-tree id `treeId` is in the region (`indexOf` then finds its index). */
  inRegion(treeId: number): boolean {
    return treeId >> 3 < this.regionBits.length && (this.regionBits[treeId >> 3] & (1 << (treeId & 7))) !== 0;
  }

  /** The region index of the state with key (lo, hi) in the visited set, or -1. */
  indexOf(lo: number, hi: number): number {
    return this.index.get(lo, hi);
  }

  /** Starts recording the edges of region state `r` (being expanded). */
  beginEdges(r: number): void {
    this.expanding = r;
    this.edgeFirst[r] = this.edges;
    this.edgeCount[r] = 0;
  }

  /**
   * An edge from the state being expanded to region state `to` by the transition `entry` (`steps`
   * steps). A transition that takes a non-default alternative of a branching step (an injected
   * fault) is left out of the graph: termination assumes a fault does not recur for ever, so no
   * cycle may depend on one (otherwise a trylock refused forever would be a "livelock"). Under
   * actor symmetry, `perm`: the permutation the target's canonical form applied.
   */
  edge(to: number, entry: number, steps: number, perm = 0): void {
    if (entryChoice(entry) > 0) return;
    if (this.edges === this.edgeTo.length) {
      this.edgeFrom = grow(this.edgeFrom);
      this.edgeTo = grow(this.edgeTo);
      this.edgeEntry = grow(this.edgeEntry);
      this.edgeSteps = grow(this.edgeSteps);
      if (this.perms) this.edgePerm = grow(this.edgePerm);
    }
    this.edgeFrom[this.edges] = this.expanding;
    this.edgeTo[this.edges] = to;
    this.edgeEntry[this.edges] = entry;
    this.edgeSteps[this.edges] = steps;
    if (this.perms) this.edgePerm[this.edges] = perm;
    this.edges++;
    this.edgeCount[this.expanding]++;
  }

  /**
   * Ends the expansion of the state: `enabledActors` is the mask of actors that could step there,
   * `acquiringActors` those of them whose step is a blocking lock acquire (`w.fairAcquire`).
   */
  endEdges(enabledActors: number, acquiringActors: number): void {
    this.enabled[this.expanding] = enabledActors;
    this.acquiring[this.expanding] = acquiringActors;
    this.expanding = -1;
  }

  /**
   * After a complete search, once: a fair cycle in the region, as the termination violation and
   * the lasso's steps from the root, or undefined (also when the product with the actor
   * permutations is refused: `refused` says why). `prefix(treeId, k)` gives the schedule to the
   * state of a tree node — under actor symmetry, to τ(C) for τ = permutation `k` and C the node's
   * canonical state; `load(treeId, k)` loads that state. `room`: the bytes the product may take.
   */
  find(prefix: (treeId: number, k: number) => number[], load: (treeId: number, k: number) => void, room = Number.POSITIVE_INFINITY): { found: Found; schedule: number[] } | undefined {
    if (this.perms && !this.multiply(this.perms, room)) return undefined;
    const comp = this.components();
    if (!comp) return undefined;
    const { members, entry } = comp;
    const copy = entry % this.copies;
    const schedule = prefix(this.treeId[entry], copy);
    const inComp = new Uint8Array(this.states);
    for (const m of members) inComp[m] = 1;
    // Visit, for every actor, one of its internal edges or a state where it is disabled; then close the cycle.
    const n = this.w.layout.actorNames.length;
    let at = entry;
    const goals: ((r: number, e: number) => boolean)[] = [];
    for (let a = 0; a < n; a++) {
      const takes = members.some((m) => this.internalEdges(m, inComp).some((e) => entryActor(this.edgeEntry[e]) === a));
      if (takes) goals.push((_r, e) => e >= 0 && entryActor(this.edgeEntry[e]) === a);
      else goals.push((r) => (this.enabled[r] & (1 << a)) === 0);
    }
    goals.push((r) => r === entry);
    for (const goal of goals) {
      const path = this.pathWithin(at, inComp, goal);
      for (const e of path) {
        transitionEntries(this.edgeEntry[e], this.edgeSteps[e], schedule);
        at = this.edgeTo[e];
      }
    }
    load(this.treeId[entry], copy);
    return { found: neverCompletes(this.w, this.clients[entry], this.roles), schedule };
  }

  /**
   * Replaces the recorded quotient by its product with the actor permutations (the file's head):
   * node (r, k) is r * size + k; its edges are r's, in order, each relabelled. False, with
   * `refused` set, when the product would exceed `maxProduct` nodes or edges, or `room` bytes
   * (its tables, and the components' 11 bytes per node).
   */
  private multiply(perms: ActorPermutations, room: number): boolean {
    const G = perms.size;
    const N = this.states;
    const E = this.edges;
    const what = `the region graph (${N} states, ${E} edges) times the ${G} permutations of the actor groups`;
    if (N * G > this.maxProduct || E * G > this.maxProduct) {
      this.refused = `${what} exceeds ${this.maxProduct} nodes or edges`;
      return false;
    }
    const bytes = N * G * (6 * 4 + 11) + E * G * 4 * 4;
    if (bytes > room) {
      this.refused = `${what} would take ${Math.ceil(bytes / 2 ** 20)} MiB, beyond the memory limit`;
      return false;
    }
    const treeId = new Int32Array(N * G);
    const enabled = new Int32Array(N * G);
    const acquiring = new Int32Array(N * G);
    const clients = new Int32Array(N * G);
    const edgeFirst = new Int32Array(N * G);
    const edgeCount = new Int32Array(N * G);
    const edgeFrom = new Int32Array(E * G);
    const edgeTo = new Int32Array(E * G);
    const edgeEntry = new Int32Array(E * G);
    const edgeSteps = new Int32Array(E * G);
    let pe = 0;
    for (let r = 0; r < N; r++) {
      for (let k = 0; k < G; k++) {
        const node = r * G + k;
        const tau = perms.image(k);
        treeId[node] = this.treeId[r];
        enabled[node] = permuteMask(this.enabled[r], tau);
        acquiring[node] = permuteMask(this.acquiring[r], tau);
        clients[node] = permuteMask(this.clients[r], tau);
        edgeFirst[node] = pe;
        edgeCount[node] = this.edgeCount[r];
        for (let e = this.edgeFirst[r]; e < this.edgeFirst[r] + this.edgeCount[r]; e++) {
          const x = this.edgeEntry[e];
          edgeFrom[pe] = node;
          edgeTo[pe] = this.edgeTo[e] * G + perms.after(k, this.edgePerm[e]);
          edgeEntry[pe] = entryOf(tau[entryActor(x)], entryChoice(x));
          edgeSteps[pe] = this.edgeSteps[e];
          pe++;
        }
      }
    }
    this.treeId = treeId;
    this.enabled = enabled;
    this.acquiring = acquiring;
    this.clients = clients;
    this.edgeFirst = edgeFirst;
    this.edgeCount = edgeCount;
    this.edgeFrom = edgeFrom;
    this.edgeTo = edgeTo;
    this.edgeEntry = edgeEntry;
    this.edgeSteps = edgeSteps;
    this.states = N * G;
    this.edges = pe;
    this.copies = G;
    return true;
  }

  private internalEdges(r: number, inComp: Uint8Array): number[] {
    const out: number[] = [];
    for (let e = this.edgeFirst[r]; e < this.edgeFirst[r] + this.edgeCount[r]; e++) if (inComp[this.edgeTo[e]]) out.push(e);
    return out;
  }

  /**
   * The shortest path of internal edges from `from` that satisfies `goal` — on the state it starts
   * from or reaches (`goal(r, -1)` / `goal(t, e)`), or on the edge taken (`e`).
   */
  private pathWithin(from: number, inComp: Uint8Array, goal: (r: number, e: number) => boolean): number[] {
    if (goal(from, -1)) return [];
    const prevEdge = new Map<number, number>();
    const queue: number[] = [from];
    const seen = new Set<number>([from]);
    for (let qi = 0; qi < queue.length; qi++) {
      const r = queue[qi];
      for (const e of this.internalEdges(r, inComp)) {
        const t = this.edgeTo[e];
        if (goal(t, e)) {
          const path = [e];
          for (let cur = r; cur !== from; cur = this.edgeFrom[prevEdge.get(cur)!]) path.push(prevEdge.get(cur)!);
          return path.reverse();
        }
        if (seen.has(t)) continue;
        seen.add(t);
        prevEdge.set(t, e);
        queue.push(t);
      }
    }
    throw new Error('termination: no path inside a strongly connected component (a bug in the checker)');
  }

  /** The fair component whose entry state is shallowest in the search, if any. */
  private components(): { members: number[]; entry: number } | undefined {
    const N = this.states;
    this.scc = { idx: new Int32Array(N).fill(-1), low: new Int32Array(N), onStack: new Uint8Array(N), within: new Uint8Array(N), inComp: new Uint8Array(N) };
    const all = Array.from({ length: N }, (_, r) => r);
    let best: { members: number[]; entry: number } | undefined;
    this.stronglyConnected(all, (members) => {
      const c = this.fairComponent(members);
      if (c && (!best || this.treeId[c.entry] < this.treeId[best.entry])) best = c;
    });
    return best;
  }

  /** Whether region state `r` has an edge to itself (a component of one that holds a cycle). */
  private loops(r: number): boolean {
    for (let e = this.edgeFirst[r]; e < this.edgeFirst[r] + this.edgeCount[r]; e++) if (this.edgeTo[e] === r) return true;
    return false;
  }

  /** Tarjan's tables over the region states, made once per `components()` and reused by every refinement (`inComp`: `fairComponent`'s marks, cleared after each). */
  private scc: { idx: Int32Array; low: Int32Array; onStack: Uint8Array; within: Uint8Array; inComp: Uint8Array } | undefined;

  /**
   * Tarjan's strongly connected components (iterative) of the region graph restricted to `nodes`;
   * `found` gets each one that can hold a cycle — a single state only with an edge to itself (most
   * region states are components of one, on no cycle: nothing is allocated for them). Costs
   * O(nodes and their edges), not O(region): a refinement of a small component stays small.
   */
  private stronglyConnected(nodes: readonly number[], found: (members: number[]) => void): void {
    const { idx, low, onStack, within } = this.scc!;
    for (const r of nodes) {
      idx[r] = -1;
      within[r] = 1;
    }
    const stack: number[] = [];
    const callR: number[] = [];
    const callE: number[] = [];
    const comps: number[][] = [];
    let counter = 0;
    for (const s of nodes) {
      if (idx[s] >= 0) continue;
      callR.push(s);
      callE.push(this.edgeFirst[s]);
      idx[s] = low[s] = counter++;
      stack.push(s);
      onStack[s] = 1;
      while (callR.length) {
        const r = callR[callR.length - 1];
        const e = callE[callE.length - 1];
        if (e < this.edgeFirst[r] + this.edgeCount[r]) {
          callE[callE.length - 1] = e + 1;
          const t = this.edgeTo[e];
          if (!within[t]) continue;
          if (idx[t] < 0) {
            idx[t] = low[t] = counter++;
            stack.push(t);
            onStack[t] = 1;
            callR.push(t);
            callE.push(this.edgeFirst[t]);
          } else if (onStack[t]) {
            low[r] = Math.min(low[r], idx[t]);
          }
          continue;
        }
        callR.pop();
        callE.pop();
        if (callR.length) {
          const p = callR[callR.length - 1];
          low[p] = Math.min(low[p], low[r]);
        }
        if (low[r] !== idx[r]) continue;
        if (stack[stack.length - 1] === r && !this.loops(r)) {
          stack.pop();
          onStack[r] = 0;
          continue;
        }
        const members: number[] = [];
        for (;;) {
          const m = stack.pop()!;
          onStack[m] = 0;
          members.push(m);
          if (m === r) break;
        }
        comps.push(members);
      }
    }
    // Unmarked before the callbacks: a refinement marks a subset of a component of its own.
    for (const r of nodes) within[r] = 0;
    for (const c of comps) found(c);
  }

  /**
   * The fair part of a component, with its shallowest state as entry, if it holds a fair cycle.
   * A lock waiter that could take its lock in some state but takes no internal edge rules out every
   * cycle through those states: they are removed and the rest is searched again as components.
   */
  private fairComponent(members: number[]): { members: number[]; entry: number } | undefined {
    const inComp = this.scc!.inComp;
    for (const m of members) inComp[m] = 1;
    let stepped = 0;
    let disabledSomewhere = 0;
    let acquiringSomewhere = 0;
    let internal = false;
    for (const m of members) {
      disabledSomewhere |= ~this.enabled[m];
      acquiringSomewhere |= this.acquiring[m];
      for (let e = this.edgeFirst[m]; e < this.edgeFirst[m] + this.edgeCount[m]; e++) {
        if (inComp[this.edgeTo[e]] === 0) continue;
        internal = true;
        stepped |= 1 << entryActor(this.edgeEntry[e]);
      }
    }
    for (const m of members) inComp[m] = 0;
    if (!internal) return undefined;
    const starved = acquiringSomewhere & ~stepped;
    if (starved) {
      const rest = members.filter((m) => (this.acquiring[m] & starved) === 0);
      let best: { members: number[]; entry: number } | undefined;
      this.stronglyConnected(rest, (sub) => {
        const c = this.fairComponent(sub);
        if (c && (!best || this.treeId[c.entry] < this.treeId[best.entry])) best = c;
      });
      return best;
    }
    const all = (1 << this.w.layout.actorNames.length) - 1;
    if (((stepped | disabledSomewhere) & all) !== all) return undefined;
    let entry = members[0];
    for (const m of members) if (this.treeId[m] < this.treeId[entry]) entry = m;
    return { members, entry };
  }
}

/**
 * The termination check along one sequence of states (a replay): a return to a region state closes
 * a cycle, checked for fairness. States are compared whole: a replay is how a counterexample is
 * confirmed, so a fingerprint collision must not close a cycle that is not there.
 */
export class CycleWatch {
  private readonly roles: RoleMasks;
  /** Region states of the sequence, and per state (by its key in `seen`) the position of its last visit. */
  private readonly seen: VisitedStates;
  private readonly last: number[] = [];
  /** Per position: enabled actors, those of them making a lock acquire, and the actor that stepped out of it (-1 if none yet). */
  private readonly enabled: number[] = [];
  private readonly acquiring: number[] = [];
  private readonly stepped: number[] = [];

  /** The counter abstraction of the search being replayed, if on, and its scratch state. */
  private readonly canon: CounterCanon | undefined;
  private readonly scratch: Int32Array;

  constructor(w: World, counters?: CounterOptions) {
    this.roles = roleMasks(w);
    this.seen = visitedStates(w.layout, true, 64);
    this.canon = CounterCanon.of(w.layout, counters);
    this.scratch = new Int32Array(this.canon ? w.layout.size : 0);
  }

  /** Steps the current lone actor has taken alone. */
  private loneSteps = 0;

  /**
   * Records that actor `a` stepped out of the last observed state, taking alternative `choice` of a
   * branching step: a non-default one (an injected fault) breaks every cycle through it, as in the
   * search's graph (faults do not recur for ever).
   */
  step(a: number, choice = 0): void {
    if (this.stepped.length) this.stepped[this.stepped.length - 1] = a;
    if (choice > 0) {
      this.seen.clear();
      this.last.length = 0;
    }
  }

  /** Call in every state of the sequence, the first included: the termination violation, if a fair cycle just closed. */
  observe(w: World): Found | undefined {
    const lone = loneActor(w, this.roles);
    this.loneSteps = lone >= 0 && this.stepped.at(-1) === lone ? this.loneSteps + 1 : 0;
    if (lone >= 0 && this.loneSteps >= LONE_BOUND) return runsOn(w, lone);
    const clients = regionActors(w, this.roles);
    const pos = this.enabled.length;
    let enabled = 0;
    let acquiring = 0;
    if (clients) {
      for (let a = 0; a < w.layout.actorNames.length; a++) {
        w.fairAcquire = false;
        if (!isEnabled(w, a)) continue;
        enabled |= 1 << a;
        if (w.fairAcquire) acquiring |= 1 << a;
      }
    }
    this.enabled.push(enabled);
    this.acquiring.push(acquiring);
    this.stepped.push(-1);
    if (!clients) return undefined;
    // Under the counter abstraction the search's cycle is one of renamed states: so is the replay's.
    const known = !this.seen.add(this.canon ? this.canon.canonicalCopy(w.v, this.scratch) : w.v, 0);
    const from = this.last[this.seen.keyLo];
    this.last[this.seen.keyLo] = pos;
    if (!known) return undefined;
    let stepped = 0;
    let disabled = 0;
    let acquiringSomewhere = 0;
    for (let i = from; i < pos; i++) {
      if (this.stepped[i] >= 0) stepped |= 1 << this.stepped[i];
      disabled |= ~this.enabled[i];
      acquiringSomewhere |= this.acquiring[i];
    }
    const all = (1 << w.layout.actorNames.length) - 1;
    const fair = ((stepped | disabled) & all) === all && (acquiringSomewhere & ~stepped) === 0;
    return fair ? neverCompletes(w, clients, this.roles) : undefined;
  }
}
