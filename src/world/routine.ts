/**
 * Routines: kernel (and driver) code written as tables of labelled atomic steps, in the spirit of
 * PlusCal. A step runs to completion without interruption; a step boundary is a place where
 * another CPU may run. A step reads and writes the world and then
 *   - returns the next label of its routine (a string),
 *   - returns `w.call(routine, resumeLabel, ...args)` to run a sub-routine in a frame of its own,
 *   - returns `w.ret(value)` to return to its caller, or
 *   - returns `BLOCK_SLEEP` / `BLOCK_SPIN` without having written anything, when it cannot proceed.
 * Locals live in the actor's call frame inside the state, never in JS variables across steps.
 */
import type { World } from './world.js';
import type { Library } from './registry.js';
import { ModelError } from './errors.js';
import { parseCitation, type Citation } from './citation.js';
import { CALL_LOCALS, CALL_RESULT, type CounterDomain } from './layout.js';

/** The step would sleep (mutex, rwsem, wait_event): not schedulable until the world changes. */
export const BLOCK_SLEEP = -1;
/** The step would spin (spinlock held elsewhere): not schedulable, but it does not sleep. */
export const BLOCK_SPIN = -2;
/** Internal: the step pushed a call frame. */
export const CALLED = -3;
/** Internal: the step popped its frame. */
export const RETURNED = -4;

export type StepResult = string | number;

/** The named params and locals of a frame, plus `result`: the value the last callee returned. */
export type Locals<N extends string> = { [K in N]: number } & { result: number };

export interface Step<L> {
  /** The kernel code this step models, as `file:function` (e.g. `mm/memory.c:do_anonymous_page`). */
  readonly at: string;
  /**
   * Kernel-internal locks the C holds around exactly this step's accesses and the model keeps out
   * of the state (e.g. `mm.notifier_subscriptions.lock`): fields they protect are protected here
   * (discipline.ts). Only for a whole critical section with no call out and no sleep inside.
   */
  readonly within?: readonly string[];
  /**
   * Fields (`struct.field`) this step reads without the lock that protects them, as the C does
   * with READ_ONCE (a racy check it re-validates later). Required of kernel and KVM steps for such
   * a read; a driver's unlocked access is not a model error but its bug to find (discipline.ts).
   */
  readonly lockless?: readonly string[];
  /**
   * The scenario layer (src/world/layers.ts) this step belongs to: only a world with that layer on
   * can reach it, so elsewhere a coverage check (`exercises:`, unreached labels) does not ask for it.
   */
  readonly layer?: string;
  // Method syntax keeps routines of different locals assignable to AnyRoutine (bivariant params).
  run(w: World, l: L): StepResult;
}
// Steps are written as object literals `{ at, run: (w, l) => ... }` so that TypeScript types `l`
// from the routine's params and locals.

export interface RoutineSpec<P extends string, V extends string> {
  /** The kernel's name for the code (e.g. `mmu_interval_read_begin`). */
  readonly name: string;
  /** Parameters: the first locals, filled from `w.call` arguments. */
  readonly params: readonly P[];
  readonly locals?: readonly V[];
  /**
   * The params and locals that hold values of a counter domain (layout.ts `CounterDomain`): a
   * snapshot of a sequence, a copy of a generation. An explorer renames them with the fields of
   * their domain; a local that holds one and is not declared would keep a stale name.
   */
  readonly counters?: Readonly<Partial<Record<NoInfer<P | V>, CounterDomain>>>;
  /**
   * Resume labels (`w.call(r, LABEL, …)`) whose step reads `l.result` as a value of a counter
   * domain (what `mmu_interval_read_begin` returns): while the frame waits there with no callee
   * above it, its result slot is renamed with the domain.
   */
  readonly resultCounters?: Readonly<Record<string, CounterDomain>>;
  /** Steps in order; the first one is the entry. */
  readonly steps: Record<string, Step<Locals<NoInfer<P | V>>>>;
}

/**
 * Where a routine's running frame is: the world, and the frame's base slot. The runner points it
 * at the frame before each step. One class for every routine, so those two stores are monomorphic
 * (each routine's view is a class of its own: storing into the views themselves was a megamorphic
 * store on every step).
 */
export class FrameRef {
  w: World | undefined = undefined;
  b = 0;
}

/** A frame's locals as named properties over the state array; one reusable view per routine, reading through its `FrameRef`. */
export type LocalsView = object;

export class Routine<P extends string = string, V extends string = string> {
  readonly labels: readonly string[];
  readonly labelIndex: Readonly<Record<string, number>>;
  readonly steps: readonly Step<Locals<P | V>>[];
  /** Each step's `at`, parsed and checked against the library's policy (citation.ts). */
  readonly citations: readonly Citation[];
  readonly localNames: readonly string[];
  /** The counter domain of each local that holds one (by index in `localNames`). */
  readonly counterLocals: readonly { readonly index: number; readonly domain: CounterDomain }[];
  /** The counter domain of the result slot at each label that declares one (by label index). */
  readonly counterResults: readonly { readonly pc: number; readonly domain: CounterDomain }[];
  /** The reusable locals view, over the frame `frame` points at (the runner sets it). */
  readonly view: LocalsView;
  readonly frame = new FrameRef();

  /**
   * Per label index: the label its step returned last, and that label's index. `labelIndex` has
   * no prototype, so V8 keeps it as a dictionary and every lookup is a hash probe; a step returns
   * the same label (an interned literal) most of the time, which this answers with one compare.
   */
  private readonly lastLabel: string[];
  private readonly lastNext: Int32Array;

  /** The model id cache: `w.call` resolves a routine's id in the running model (see registry.ts). */
  cachedModel: object | undefined = undefined;
  cachedId = -1;

  constructor(
    readonly library: Library,
    readonly name: string,
    readonly params: readonly P[],
    locals: readonly V[],
    steps: Record<string, Step<Locals<P | V>>>,
    counters: Readonly<Partial<Record<P | V, CounterDomain>>> = {} as Partial<Record<P | V, CounterDomain>>,
    resultCounters: Readonly<Record<string, CounterDomain>> = {},
  ) {
    this.labels = Object.keys(steps);
    if (this.labels.length === 0) throw new ModelError(`routine ${name} has no steps`);
    const index: Record<string, number> = Object.create(null);
    for (const [i, label] of this.labels.entries()) index[label] = i;
    this.labelIndex = index;
    this.steps = this.labels.map((label) => steps[label]);
    this.citations = this.labels.map((label) => {
      const c = parseCitation(steps[label].at, library.cites);
      if (typeof c === 'string') throw new ModelError(`routine ${name}, label ${label} (library ${library.name}): ${c}`);
      return c;
    });
    this.localNames = [...params, ...locals];
    const seen = new Set<string>();
    for (const n of this.localNames) {
      if (n === 'result' || n.startsWith('$')) throw new ModelError(`routine ${name}: local name ${n} is reserved`);
      if (seen.has(n)) throw new ModelError(`routine ${name}: local ${n} declared twice`);
      seen.add(n);
    }
    this.counterLocals = Object.entries(counters as Record<string, CounterDomain>).map(([n, domain]) => {
      const index = this.localNames.indexOf(n);
      if (index < 0) throw new ModelError(`routine ${name}: counter domain ${domain.name} for ${n}, which is not a param or local`);
      return { index, domain };
    });
    this.counterResults = Object.entries(resultCounters).map(([label, domain]) => {
      const pc = index[label];
      if (pc === undefined) throw new ModelError(`routine ${name}: counter domain ${domain.name} for the result at label ${label}, which is not a label`);
      return { pc, domain };
    });
    this.view = makeLocalsView(this.localNames, this.frame);
    // Seeded with each label's own index (a step that loops back to itself), so every entry is a true pair.
    this.lastLabel = [...this.labels];
    this.lastNext = Int32Array.from(this.labels.keys());
  }

  /** The index of `label`, which the step at `pc` returned (undefined: no such label). */
  nextOf(pc: number, label: string): number | undefined {
    if (this.lastLabel[pc] === label) return this.lastNext[pc];
    const next = this.labelIndex[label];
    if (next === undefined) return undefined;
    this.lastLabel[pc] = label;
    this.lastNext[pc] = next;
    return next;
  }

  /** `routine:label` for traces. */
  where(pc: number): string {
    return `${this.name}:${this.labels[pc] ?? `?${pc}`}`;
  }
}

function makeLocalsView(names: readonly string[], f: FrameRef): LocalsView {
  // The accessors read the frame through `f` (a closure constant): no field of the view itself.
  class View {}
  names.forEach((n, i) => {
    const k = CALL_LOCALS + i;
    Object.defineProperty(View.prototype, n, {
      get() {
        return f.w!.v[f.b + k];
      },
      set(x: number) {
        f.w!.set(f.b + k, x);
      },
    });
  });
  Object.defineProperty(View.prototype, 'result', {
    get() {
      return f.w!.v[f.b + CALL_RESULT];
    },
    set(x: number) {
      f.w!.set(f.b + CALL_RESULT, x);
    },
  });
  return new View();
}

/** A routine of any params and locals (for calls and ops pointers): its steps' `run` is a method, so
 * a routine of narrower locals is assignable to it (bivariant params). */
export type AnyRoutine = Routine<string, string>;
