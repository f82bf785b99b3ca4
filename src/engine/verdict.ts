/**
 * The ONE verdict module: what counts as a violation. Every driver of the engine — exhaustive
 * search, simulation, shards, shrinking, replay, the reports — asks a `Verdicts` the same
 * questions, in the same order, and gets the same answer:
 *
 *   1. after a step (also a blocked attempt): did it raise a kernel BUG?        (`kernel-bug`)
 *   2. in the state it reached: does a property fail? (in registration order)  (the properties)
 *   3. when no actor can step and some are not done                            (`deadlock`)
 *   4. once the adversaries have stopped, a client that can go round a fair
 *      cycle without completing (weakly fair; strongly for lock waiters:
 *      termination.ts)                                                          (`termination`)
 *
 * and, over a whole exhaustive search (when selected): a cycle in the order lock classes are taken
 * in (src/world/lock-order.ts), asked after each step's BUG — a potential deadlock found even
 * when no explored schedule deadlocks                                          (`lock-order`)
 *
 * It knows nothing of the kernel: a property is a named predicate over the world, supplied by the
 * model (src/check/properties.ts for the mirror world); BUGs are what model code reports with
 * `w.bug`. `list()` describes every check, the built-in ones included, for `vmamirror list` and
 * the reports.
 */
import type { World } from '../world/world.js';
import { whereIs } from '../world/runner.js';
import { formatCycle, type LockCycle, type LockWitness } from '../world/lock-order.js';
import type { CounterOptions } from './counters.js';
import type { Layout } from '../world/layout.js';
import { compileFootprint, slotFieldKeys } from '../world/footprint.js';
import { ModelError } from '../world/errors.js';

export interface Property {
  readonly name: string;
  /** One sentence a kernel developer would recognise. */
  readonly description: string;
  /** Returns a message describing the violation in this state, or undefined if it holds. */
  check(w: World): string | undefined;
  /**
   * The struct fields `check` reads (`pte.present`, or `pte.*` for every field of a struct; fields of
   * structs a world lacks are ignored), and `actors` if it reads which actors are still running
   * (`w.actorSp`). Declared, the property is a *local assertion*: the
   * exhaustive search checks it at a new state only when the transition that reached it wrote one
   * of these fields — the state it came from satisfied it, and nothing it reads has changed — so a
   * state is not scanned whole after a step that cannot matter. An audited search (`check` audits
   * by default) checks every evaluation against the declaration: a read of anything else (another
   * field, an actor's stack) is a model error naming the property and the slot. Absent: the
   * property is checked at every state. A function gives the list for a layout (a property that
   * reads some things only when a layer is on).
   */
  readonly reads?: readonly string[] | ((layout: Layout) => readonly string[]);
  /**
   * What the property learns over a search besides its verdicts, as numbers (the outcome check:
   * which allowed outcomes some final state matched). Each thread of a parallel search checks
   * its own copy of the property; at the end the search takes what each learned (`take`) and
   * adds it to the property it was given (`absorb`), so it knows what the one-thread search would.
   */
  readonly learned?: { take(): readonly number[]; absorb(values: readonly number[]): void };
}

/** A violation: which check, and what it says about this state. */
export interface Found {
  readonly property: string;
  readonly message: string;
}

/** A violation found by a search: the check, its message, and the schedule that reaches it. */
export interface Violation extends Found {
  /** Actor indices from the initial state to the violating step (inclusive). */
  readonly schedule: readonly number[];
}

/** The entry of `Property.reads` for the actors' own slots (whether each is still running). */
const ACTORS = 'actors';

/** A property's declared reads for `layout`. */
function readsOf(p: Property, layout: Layout): readonly string[] {
  return typeof p.reads === 'function' ? p.reads(layout) : (p.reads ?? []);
}

/** Local assertions beyond the first 32 properties are checked at every state (one bit each in `localMask`). */
const LOCAL_BITS = 32;

export const KERNEL_BUG = 'kernel-bug';
export const DEADLOCK = 'deadlock';
export const TERMINATION = 'termination';
export const LOCK_ORDER = 'lock-order';

export interface CheckInfo {
  readonly name: string;
  readonly builtIn: boolean;
  readonly description: string;
}

const BUILT_IN: readonly CheckInfo[] = [
  {
    name: KERNEL_BUG,
    builtIn: true,
    description:
      'no step may hit a state the kernel itself would BUG or WARN on (sleeping in a non-blockable callback, mmap_lock inside an invalidate callback, a refcount or mapcount underflow, a VM_BUG_ON, a double list_add)',
  },
  { name: DEADLOCK, builtIn: true, description: 'some actor is not done but no actor can take a step' },
  {
    name: TERMINATION,
    builtIn: true,
    description:
      'once every adversary (core-mm operation) has stopped, every client (a fault, an access) completes under weak fairness (strong for lock waiters): no retry loop with no invalidation left, no wait a daemon never ends',
  },
  {
    name: LOCK_ORDER,
    builtIn: true,
    description:
      'no cycle in the order lock classes are taken, over every explored schedule (lockdep): taking B while holding A orders A before B, with the pseudo-locks fs_reclaim (an allocation that may reclaim; reclaim itself) and mmu_notifier_invalidate_range_start (an invalidation; its callbacks); a cycle is a potential deadlock even when no explored schedule deadlocks',
  },
];

export interface VerdictOptions {
  /** Report a deadlock when no actor can step but some are not done (default true). */
  readonly deadlock?: boolean;
  /** Report a lone actor that does not finish (default true). */
  readonly termination?: boolean;
  /** Record the lock-order graph of an exhaustive search and report its first cycle (default false). */
  readonly lockOrder?: boolean;
  /** The counter abstraction (counters.ts): states that differ only in renamed counters are one, for cycles too. */
  readonly counters?: CounterOptions;
}

export class Verdicts {
  readonly deadlockOn: boolean;
  readonly terminationOn: boolean;
  readonly lockOrderOn: boolean;
  readonly counters: CounterOptions | undefined;

  constructor(
    readonly properties: readonly Property[] = [],
    opts: VerdictOptions = {},
  ) {
    this.deadlockOn = opts.deadlock ?? true;
    this.terminationOn = opts.termination ?? true;
    this.lockOrderOn = opts.lockOrder ?? false;
    this.counters = opts.counters;
    const names = new Set(BUILT_IN.map((c) => c.name));
    for (const p of properties) {
      if (names.has(p.name)) throw new Error(`two checks are called ${p.name}`);
      names.add(p.name);
    }
  }

  /** Whether the step just run raised a kernel BUG (cheap: for the drivers' control flow). */
  raised(w: World): boolean {
    return w.bugs.length > 0;
  }

  /** A kernel BUG raised by the step just run (left in `w.bugs` by the runner), if any. */
  bug(w: World): Found | undefined {
    return w.bugs.length ? { property: KERNEL_BUG, message: w.bugs.join('; ') } : undefined;
  }

  /** The first property that fails in the current state, if any. */
  state(w: World): Found | undefined {
    return this.stateAfter(w, -1);
  }

  /**
   * The first property that fails in the current state, reached by the writes since undo mark
   * `mark` from a state where every property held: a local assertion none of whose fields was
   * written cannot have changed and is not evaluated.
   */
  stateSince(w: World, mark: number): Found | undefined {
    const mask = this.localMask(w.layout);
    return this.stateAfter(w, mask ? w.writtenSince(mark, mask) : -1);
  }

  /** `stateSince`, given the bits of the properties whose fields were written (-1: check all). */
  private stateAfter(w: World, changed: number): Found | undefined {
    const ps = this.properties;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i];
      if (i < LOCAL_BITS && p.reads && (changed & (1 << i)) === 0) continue;
      const message = w.audit && p.reads ? this.audited(w, i) : p.check(w);
      if (message !== undefined) return { property: p.name, message };
    }
    return undefined;
  }

  private layout: Layout | undefined;
  private mask: Uint32Array | undefined;
  private allowed: Uint8Array[] = [];

  /**
   * Per slot of `layout`: bit i set when property i (one of the first 32) declares the slot's field
   * among its reads; undefined when no property declares its reads (every property is checked at
   * every state, and the search need not look at what a transition wrote).
   */
  private localMask(layout: Layout): Uint32Array | undefined {
    if (this.layout !== layout) this.compile(layout);
    return this.mask;
  }

  private compile(layout: Layout): void {
    this.layout = layout;
    this.mask = undefined;
    this.allowed = [];
    const keys = slotFieldKeys(layout);
    this.properties.forEach((p, i) => {
      if (!p.reads) return;
      const reads = readsOf(p, layout);
      const fields = compileFootprint(layout, `property ${p.name}`, { reads: reads.filter((r) => r !== ACTORS) }).reads;
      const allowed = new Uint8Array(layout.size);
      for (let o = 0; o < layout.size; o++) if (keys[o] !== 0 && fields.has(keys[o])) allowed[o] = 1;
      if (reads.includes(ACTORS)) allowed.fill(1, layout.actorBase, layout.callBase);
      this.allowed[i] = allowed;
      if (i >= LOCAL_BITS) return;
      this.mask ??= new Uint32Array(layout.size);
      for (let o = 0; o < layout.size; o++) if (allowed[o]) this.mask[o] |= 1 << i;
    });
  }

  /** Evaluates property i while checking that it reads only the fields it declares. */
  private audited(w: World, i: number): string | undefined {
    const p = this.properties[i];
    if (this.layout !== w.layout) this.compile(w.layout);
    w.beginPropertyAudit(this.allowed[i]);
    let message: string | undefined;
    let stray = -1;
    try {
      message = p.check(w);
    } finally {
      stray = w.endPropertyAudit();
    }
    if (stray >= 0)
      throw new ModelError(
        `property ${p.name} reads ${w.slotName(stray)}, which its declared reads do not include (${readsOf(p, w.layout).join(', ')}): declare it, or drop \`reads\` to check the property at every state`,
      );
    return message;
  }

  /** After a step: its BUG first, then the properties of the state it reached. */
  afterStep(w: World): Found | undefined {
    return this.bug(w) ?? this.state(w);
  }

  /**
   * The deadlock verdict for a state where no actor can step and `unfinished` are not done; with the
   * world at that state, the message says where each of them waits (`actor at routine:label`).
   */
  deadlock(unfinished: number, w?: World): Found | undefined {
    if (!this.deadlockOn || unfinished === 0) return undefined;
    const where = w ? ` (${waiting(w).join(', ')})` : '';
    return { property: DEADLOCK, message: `no actor can step; ${unfinished} not done${where}` };
  }

  /** The lock-order verdict for a cycle of the graph: the cycle, then each edge's first witness. */
  lockOrder(cycle: LockCycle): Found {
    const edges = cycle.edges.map((e) => `${e.from} → ${e.to}: ${witnessText(e.witness)}`);
    return { property: LOCK_ORDER, message: `potential deadlock (lock order): ${formatCycle(cycle)} (${edges.join('; ')})` };
  }

  /** Every check: the built-in ones (in the order they are asked), then the properties. */
  list(): CheckInfo[] {
    return [...BUILT_IN, ...this.properties.map((p) => ({ name: p.name, builtIn: false, description: p.description }))];
  }

  /** The description of check `name` (built-in or property), if there is one. */
  describe(name: string): string | undefined {
    return this.list().find((c) => c.name === name)?.description;
  }
}

/** Who took a lock, where, holding what: `actor intro at mirror_fault:lock holding [mirror.update]`. */
export function witnessText(w: Pick<LockWitness, 'actor' | 'where' | 'held'>): string {
  return `actor ${w.actor} at ${w.where} holding [${w.held.join(', ')}]`;
}

/** Which checks a driver runs: the model's properties, and whether deadlock, termination and lock order are on. */
export interface CheckSelection {
  readonly properties?: readonly Property[];
  /** Report a deadlock when no actor can step but some are not done (default true). */
  readonly deadlock?: boolean;
  /** Report a lone actor that does not finish (default true). */
  readonly liveness?: boolean;
  /**
   * Record the order lock classes are taken in over the whole search and report a cycle
   * (`lock-order`; default false here, on in `check`). Exhaustive searches only.
   */
  readonly lockOrder?: boolean;
  /**
   * Rename the values of counter domains to canonical ones before states are compared
   * (src/engine/counters.ts); absent: every counter concrete. Exhaustive searches and replays.
   */
  readonly counters?: CounterOptions;
}

/** The verdicts of a driver's options. */
export function verdictsOf(sel: CheckSelection): Verdicts {
  return new Verdicts(sel.properties ?? [], { deadlock: sel.deadlock, termination: sel.liveness, lockOrder: sel.lockOrder, counters: sel.counters });
}

/** `actor at routine:label` for every actor not done: the step each would run next. */
function waiting(w: World): string[] {
  return w.layout.actorNames.flatMap((name, a) => (w.actorSp(a) === 0 ? [] : [`${name} at ${whereIs(w, a)}`]));
}
