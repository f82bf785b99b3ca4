/**
 * Lock discipline: what each access of a step costs under the step rule, and which locks an actor
 * holds — from the protections every struct field declares (layout.ts `Protection`).
 *
 * The rule (docs/modelling.md, "Step boundaries"): a step is one atomic action of the model, so it
 * may make at most ONE access to shared state that nothing excludes the other actors from. Every
 * further access in the same step must be protected by exclusion held at that moment: a lock of
 * the field's lock class held by the running actor (taken in an earlier step or earlier in this
 * one), or a kernel-internal lock the step declares it runs entirely inside (`within` in its
 * footprint: `mm.notifier_subscriptions.lock`, a spinlock the model keeps out of the state because
 * the kernel's own code always takes it around exactly those accesses). Two unprotected accesses
 * in one step mean the step's size stands in for a lock nobody holds — the very thing a driver
 * that forgets a lock does — so the runner refuses it as a ModelError naming the step and both
 * accesses. Distinct slots count: a read-modify-write of one word is one access.
 *
 * Which accesses are unprotected: an `atomic` field (each atomic operation is its own action), a
 * `lockless` or `rcu` field, a lock word itself (an acquire or release is one atomic operation), a
 * `lock:NAME` field while no lock of class NAME is held. Free: `stable`, `private`, `ghost`.
 *
 * Precision (documented limits): a lock is held by class, not by instance (holding one mm's ptl
 * counts for every mm's ptes), and a reader-counted lock (an rwsem's readers) is held when anyone
 * holds it for read, since readers are not named in the state (locks.ts).
 */
import { ModelError } from './errors.js';
import type { Layout, Protection } from './layout.js';

/** What an access of a slot costs: nothing, unless a lock of the slot's class is missing, or always. */
export const FREE = 0;
export const GUARDED = 1;
export const UNPROTECTED = 2;

export class Protections {
  /** Per slot: FREE, GUARDED (by the lock class in `classOf`) or UNPROTECTED. */
  readonly cost: Uint8Array;
  /** Per slot: the lock class guarding it (GUARDED slots), or the class whose lock word it is; -1 otherwise. */
  readonly classOf: Int16Array;
  /** Per slot: its protection as declared (for messages and the report of assumed accesses). */
  readonly declared: (Protection | undefined)[];
  /** Lock class names, by index. */
  readonly classes: string[] = [];
  /** Per class: the owner words (hold `w.self`) and the reader counts of its locks in this layout. */
  readonly owners: number[][] = [];
  readonly readers: number[][] = [];

  constructor(layout: Layout) {
    this.cost = new Uint8Array(layout.size);
    this.classOf = new Int16Array(layout.size).fill(-1);
    this.declared = new Array(layout.size);
    for (const r of layout.regions) {
      r.def.fields.forEach((field, k) => {
        const p = (r.def.protect as Record<string, Protection | undefined>)[field];
        for (let i = 0; i < r.count; i++) this.declare(r.base + i * r.stride + k, p);
      });
    }
  }

  /** The index of lock class `name`, created on first use. */
  classIndex(name: string): number {
    let c = this.classes.indexOf(name);
    if (c < 0) {
      c = this.classes.push(name) - 1;
      this.owners.push([]);
      this.readers.push([]);
    }
    return c;
  }

  private declare(slot: number, p: Protection | undefined): void {
    this.declared[slot] = p;
    if (p === undefined) return; // test structs may leave fields undeclared: their accesses are free
    const [kind, name] = splitProtection(p);
    switch (kind) {
      case 'lock':
        this.cost[slot] = GUARDED;
        this.classOf[slot] = this.classIndex(name!);
        return;
      case 'lock-word':
        this.cost[slot] = UNPROTECTED;
        if (name) {
          this.classOf[slot] = this.classIndex(name);
          this.owners[this.classOf[slot]].push(slot);
        }
        return;
      case 'lock-readers':
        this.cost[slot] = UNPROTECTED;
        this.classOf[slot] = this.classIndex(name!);
        this.readers[this.classOf[slot]].push(slot);
        return;
      case 'atomic':
      case 'lockless':
      case 'rcu':
        this.cost[slot] = UNPROTECTED;
        return;
      default:
        this.cost[slot] = FREE;
    }
  }

  /** Whether actor tag `self` holds a lock of class `c` in state `v` (a reader-counted lock: anyone reads it). */
  held(v: Int32Array, self: number, c: number): boolean {
    for (const o of this.owners[c]) if (v[o] === self) return true;
    for (const o of this.readers[c]) if (v[o] > 0) return true;
    return false;
  }

  /** The lock classes actor tag `self` holds in `v`, by name (lockdep's held-lock list, for messages). */
  heldClasses(v: Int32Array, self: number): string[] {
    const out: string[] = [];
    for (let c = 0; c < this.classes.length; c++) if (this.owners[c].length + this.readers[c].length > 0 && this.held(v, self, c)) out.push(this.classes[c]);
    return out;
  }
}

/** `lock:mm.ptl` -> ['lock', 'mm.ptl']; `atomic` -> ['atomic']. */
export function splitProtection(p: Protection): [string, string | undefined] {
  const i = p.indexOf(':');
  return i < 0 ? [p, undefined] : [p.slice(0, i), p.slice(i + 1)];
}

/**
 * The unprotected accesses of the running step, by slot: the second distinct one is the error.
 * `within` (class indexes) are the kernel-internal locks the step declares it runs inside.
 */
export class StepDiscipline {
  private first = -1;
  private within: readonly number[] = [];

  constructor(readonly prot: Protections) {}

  begin(within: readonly number[]): void {
    this.first = -1;
    this.within = within;
  }

  /** Whether slot `o` is lock-guarded and its lock is neither held by `self` nor declared around the step. */
  unguarded(v: Int32Array, self: number, o: number): boolean {
    if (this.prot.cost[o] !== GUARDED) return false;
    const c = this.prot.classOf[o];
    return !this.within.includes(c) && !this.prot.held(v, self, c);
  }

  /** Counts one access of slot `o`; true when it is the step's second distinct unprotected one. */
  access(v: Int32Array, self: number, o: number): boolean {
    const cost = this.prot.cost[o];
    if (cost === FREE || (cost === GUARDED && !this.unguarded(v, self, o))) return false;
    if (this.first < 0) {
      this.first = o;
      return false;
    }
    return this.first !== o;
  }

  /** The first unprotected slot of the step (-1: none), for the message. */
  get firstSlot(): number {
    return this.first;
  }
}

/** Resolves the `within` names of a footprint against a layout's protections. */
export function withinClasses(prot: Protections, where: string, names: readonly string[] | undefined): number[] {
  return (names ?? []).map((n) => {
    const c = prot.classes.indexOf(n);
    if (c < 0) throw new ModelError(`${where}: declares it runs within ${n}, which no field of this layout is protected by`);
    return c;
  });
}
