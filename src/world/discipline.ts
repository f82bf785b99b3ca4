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
 * counts for every mm's ptes); a reader-counted lock (an rwsem's readers) is held by the actors that
 * count their read holds of its class (`read-holds:NAME`), else by anyone while it has readers.
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
  /** Per class: where each actor counts its read holds of the class (`read-holds:NAME`), if declared. */
  readonly readHolds: ({ readonly base: number; readonly stride: number; readonly count: number } | undefined)[] = [];
  /** Per slot: 1 for a reader count (`lock-readers`). */
  readonly readerSlot: Uint8Array;
  /** Per slot: for the words of a lock (owner word, reader count), one slot standing for the whole lock; -1 otherwise. */
  readonly lockUnit: Int32Array;
  /** Per slot: the slot standing for the machine word it is part of (itself, or the first field of a `word` struct). */
  readonly wordOf: Int32Array;
  /** Per slot: 1 where `held` looks (a lock's owner word or reader count, an actor's count of read holds): a write there may change who holds a lock. */
  readonly tellsHolder: Uint8Array;

  constructor(layout: Layout) {
    this.cost = new Uint8Array(layout.size);
    this.lockUnit = new Int32Array(layout.size).fill(-1);
    this.readerSlot = new Uint8Array(layout.size);
    this.tellsHolder = new Uint8Array(layout.size);
    this.wordOf = new Int32Array(layout.size);
    for (let o = 0; o < layout.size; o++) this.wordOf[o] = o;
    this.classOf = new Int16Array(layout.size).fill(-1);
    this.declared = new Array(layout.size);
    for (const r of layout.regions) {
      r.def.fields.forEach((field, k) => {
        const p = (r.def.protect as Record<string, Protection | undefined>)[field];
        if (p?.startsWith('read-holds:')) {
          // One object per actor (by actor index): how many locks of the class the actor reads.
          this.readHolds[this.classIndex(p.slice('read-holds:'.length))] = { base: r.base + k, stride: r.stride, count: r.count };
          for (let i = 0; i < r.count; i++) this.tellsHolder[r.base + i * r.stride + k] = 1;
          return;
        }
        for (let i = 0; i < r.count; i++) this.declare(r.base + i * r.stride + k, p);
      });
      // The words of one lock of one object are one lock: the first of them stands for it.
      for (let i = 0; i < r.count; i++) {
        const base = r.base + i * r.stride;
        if (r.def.word) for (let k = 0; k < r.stride; k++) this.wordOf[base + k] = base;
        for (let k = 0; k < r.stride; k++) {
          const c = this.classOf[base + k];
          if (this.cost[base + k] !== UNPROTECTED || c < 0) continue;
          let first = base + k;
          for (let j = 0; j < k; j++) if (this.classOf[base + j] === c && this.cost[base + j] === UNPROTECTED) first = Math.min(first, base + j);
          this.lockUnit[base + k] = first;
        }
      }
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
          this.tellsHolder[slot] = 1;
        }
        return;
      case 'lock-readers':
        this.cost[slot] = UNPROTECTED;
        this.classOf[slot] = this.classIndex(name!);
        this.readers[this.classOf[slot]].push(slot);
        this.readerSlot[slot] = 1;
        this.tellsHolder[slot] = 1;
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

  /**
   * Whether actor tag `self` holds a lock of class `c` in state `v`. For a reader-counted lock: some
   * lock of the class has readers and, where the class declares per-actor read holds
   * (`read-holds:NAME`), this actor is one of them; else anyone reading it counts.
   */
  held(v: Int32Array, self: number, c: number): boolean {
    for (const o of this.owners[c]) if (v[o] === self) return true;
    const h = this.readHolds[c];
    if (h && self > 0 && self <= h.count && v[h.base + (self - 1) * h.stride] <= 0) return false;
    for (const o of this.readers[c]) if (v[o] > 0) return true;
    return false;
  }
}

/** `lock:mm.ptl` -> ['lock', 'mm.ptl']; `atomic` -> ['atomic']. */
function splitProtection(p: Protection): [string, string | undefined] {
  const i = p.indexOf(':');
  return i < 0 ? [p, undefined] : [p.slice(0, i), p.slice(i + 1)];
}

/** What one access is under reduction (Lipton): it commutes with other actors' steps one way, or neither (protected accesses commute both ways and are not recorded). */
const RIGHT = 1; // a lock acquire: can be delayed to just before what follows it
const LEFT = 2; // a lock release: can be advanced to just after what precedes it
const NON = 3; // an unprotected shared access: commutes with nothing
const TEST = 4; // a read of a lock word: an acquire if the step then writes the lock, else NON

/**
 * Checks that the running step is reducible (Lipton 1975, "Reduction: a method of proving
 * properties of parallel programs"; Flanagan and Qadeer's atomicity types): a sequence of lock
 * acquires, at most ONE unprotected shared access, then lock releases, with accesses to what a
 * held lock protects (or to the actor's own objects) anywhere. Only then can the step run as one
 * atomic action without hiding an interleaving the kernel has. Lock words are grouped per lock (an
 * rwsem's writer word and reader count are one lock); repeated accesses of one slot are one access
 * (a read-modify-write); a lock word read that is not followed by a write to it (a failed trylock,
 * a busy test) is an unprotected access.
 */
export class StepDiscipline {
  private committed = false;
  private firstNon = -1;
  /** The lock classes held around the running step or helper (`within`, then `inside`): `nWithin` of them, reused from step to step. */
  private readonly within: number[] = [];
  private nWithin = 0;
  /** While >= 0, the unit every unprotected access counts as (see `single`). */
  private collapse = -1;
  private lookups = 0;
  /** Slot ranges [lo, hi) the step owns (an object just allocated, or whose last reference it dropped). */
  private readonly owned: number[] = [];
  private nOwned = 0;
  /** The first access that broke the pattern and what came before it, for the message. */
  problem = '';

  /**
   * Per lock class, whether the running actor holds it (`heldIs`), known while `heldAt[c]` is
   * `epoch`: `held` scans the class's lock words, and a step asks about the same class again and
   * again. Only a write that `tellsHolder` can change the answer: it starts a new epoch
   * (`lockWritten`), as does each step (another actor, another state).
   */
  private readonly heldAt: Int32Array;
  private readonly heldIs: Uint8Array;
  private epoch = 1;

  constructor(readonly prot: Protections) {
    this.heldAt = new Int32Array(prot.classes.length);
    this.heldIs = new Uint8Array(prot.classes.length);
  }

  /** A write that may change who holds a lock (a slot that `tellsHolder`), about to take effect: the answers known are forgotten. */
  lockWritten(): void {
    if (++this.epoch === 0x7fffffff) {
      this.heldAt.fill(0);
      this.epoch = 1;
    }
  }

  /** Whether this step has found that the running actor holds lock class `c`, and no lock word was written since. */
  knownHeld(c: number): boolean {
    return this.heldAt[c] === this.epoch && this.heldIs[c] === 1;
  }

  /** `prot.held(v, self, c)`, remembered until the next `lockWritten` or step. */
  private holds(v: Int32Array, self: number, c: number): boolean {
    if (this.heldAt[c] === this.epoch) return this.heldIs[c] === 1;
    const h = this.prot.held(v, self, c);
    this.heldAt[c] = this.epoch;
    this.heldIs[c] = h ? 1 : 0;
    return h;
  }

  begin(within: readonly number[]): void {
    this.lockWritten();
    this.events = 0;
    for (let i = 0; i < within.length; i++) this.within[i] = within[i];
    this.nWithin = within.length;
    this.nOwned = 0;
    this.collapse = -1;
    this.lookups = 0;
  }

  /** Depth of `readOnce` scopes: reads of lock-guarded fields inside are declared lockless. */
  readOnceDepth = 0;

  /** Whether the running access is a declared lockless read (inside `single` or `readOnce`). */
  get declaredLockless(): boolean {
    return this.collapse >= 0 || this.readOnceDepth > 0;
  }

  /** Runs `fn`, every unprotected access of which is one access (one word, one lookup). */
  single<T>(fn: () => T): T {
    const saved = this.collapse;
    // A unit of its own, past every slot, fresh for each lookup of the step.
    this.collapse = saved >= 0 ? saved : this.prot.cost.length + this.lookups++;
    try {
      return fn();
    } finally {
      this.collapse = saved;
    }
  }

  /** Runs `fn` with lock class `c` counted as held (a helper that is one whole critical section of it). */
  inside<T>(c: number, fn: () => T): T {
    const saved = this.nWithin;
    this.within[this.nWithin++] = c;
    try {
      return fn();
    } finally {
      this.nWithin = saved;
    }
  }

  /** The step owns slots [lo, hi) from now on: no other actor can reach them (see World.own). */
  own(lo: number, hi: number): void {
    this.owned[this.nOwned++] = lo;
    this.owned[this.nOwned++] = hi;
  }

  private isOwned(o: number): boolean {
    for (let i = 0; i < this.nOwned; i += 2) if (o >= this.owned[i] && o < this.owned[i + 1]) return true;
    return false;
  }

  /** Whether slot `o` is lock-guarded and its lock is neither held by `self` nor declared around the step. */
  unguarded(v: Int32Array, self: number, o: number): boolean {
    if (this.prot.cost[o] !== GUARDED || this.isOwned(o)) return false;
    const c = this.prot.classOf[o];
    for (let i = 0; i < this.nWithin; i++) if (this.within[i] === c) return false;
    return !this.holds(v, self, c);
  }

  /**
   * Records one access of slot `o` (before a write takes effect: `v[o]` is the old value, `x` the
   * new). The pattern is judged at the end of the step (`end`), when every lock test is known to
   * be an acquire (a write to the lock follows) or not. `unguarded`: what `unguarded(v, self, o)`
   * returns now (the caller has asked it already: the lock lookup is the costly part).
   */
  access(v: Int32Array, self: number, o: number, write: boolean, x: number, unguarded: boolean): void {
    const prot = this.prot;
    if (this.isOwned(o)) return;
    const unit = prot.lockUnit[o];
    if (unit >= 0) {
      if (!write) {
        // Reading a lock one holds (a release's owner check, lockdep_assert_held) commutes; any
        // other read is a test of the lock — an acquire if a write to it follows in the step.
        const mine = prot.readerSlot[o] ? this.holds(v, self, prot.classOf[o]) : v[o] === self;
        if (!mine && this.find(TEST, unit) < 0) this.push(TEST, unit);
        return;
      }
      const kind = (prot.readerSlot[o] ? x > v[o] : x === self) ? RIGHT : LEFT;
      const t = this.find(TEST, unit);
      if (t >= 0) this.kinds[t] = kind;
      else this.push(kind, unit);
      return;
    }
    const cost = prot.cost[o];
    if (cost === FREE || (cost === GUARDED && !unguarded)) return;
    this.push(NON, this.collapse >= 0 ? this.collapse : prot.wordOf[o]);
  }

  /** Judges the step; returns the first offending unit (its slot) and sets `problem`, or -1. */
  end(): number {
    this.committed = false;
    this.firstNon = -1;
    for (let i = 0; i < this.events; i++) {
      const r = this.advance(this.kinds[i] === TEST ? NON : this.kinds[i], this.units[i]);
      if (r >= 0) {
        this.offender = this.units[i];
        return r;
      }
    }
    return -1;
  }

  /** After `end`: the step's one unprotected access (its unit), or -1. */
  get unprotected(): number {
    return this.firstNon;
  }

  /** The unit whose access broke the pattern (after `end` returned a first one). */
  offender = -1;

  // The step's events, reused from step to step (`events` of them are live): no allocation per step.
  private readonly kinds: number[] = [];
  private readonly units: number[] = [];
  private events = 0;

  private push(kind: number, unit: number): void {
    this.kinds[this.events] = kind;
    this.units[this.events++] = unit;
  }

  private find(kind: number, unit: number): number {
    for (let i = 0; i < this.events; i++) if (this.kinds[i] === kind && this.units[i] === unit) return i;
    return -1;
  }

  private advance(kind: number, unit: number): number {
    if (kind === NON) {
      if (unit === this.firstNon) return -1;
      if (this.committed) {
        this.problem = this.firstNon >= 0 ? 'a second unprotected access' : 'an unprotected access after a lock release';
        return this.firstNon >= 0 ? this.firstNon : unit;
      }
      this.firstNon = unit;
      this.committed = true;
      return -1;
    }
    if (kind === RIGHT && this.committed) {
      this.problem = 'a lock acquire after an unprotected access or a release';
      return this.firstNon >= 0 ? this.firstNon : unit;
    }
    if (kind === LEFT) this.committed = true;
    return -1;
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
