/**
 * The visited set, two ways behind one interface (`VisitedStates`):
 *
 * - `FingerprintStates` (the default): 64-bit state fingerprints in one open-addressed Int32Array
 *   (two slots per entry, linear probing) — hash compaction. No per-state objects, no strings:
 *   DESIGN.md measured a JS Set of string keys ~5x slower and capped at ~16.7 M entries. 8 bytes
 *   per slot; the table doubles at 75 % load (linear probing stays within a cache line or two at
 *   that load), so a stored state costs 10.7–21.3 bytes. Two states with the same fingerprint are
 *   one: a collision prunes a subtree (`collisionBound`).
 * - `ExactStates` (`--exact`): the whole state, stored compactly (objects and live frames, as the
 *   frontier stores it) and compared slot by slot when fingerprints agree; nothing can be pruned
 *   by a collision, at the cost of the state's size per state.
 */
import type { Layout } from '../world/layout.js';
import { fmix32 } from '../world/hash.js';
import { StateStore } from './state-store.js';
import { ModelError } from '../world/errors.js';

export class FingerprintSet {
  private table: Int32Array;
  private mask: number;
  private readonly initialCapacity: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.initialCapacity = cap;
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Empties the set (back to its initial capacity). */
  clear(): void {
    this.table = new Int32Array(this.initialCapacity * 2);
    this.mask = this.initialCapacity - 1;
    this.size = 0;
  }

  /** Calls `f` with every fingerprint held (as stored: (0, 0) as (1, 0)). */
  forEach(f: (lo: number, hi: number) => void): void {
    const t = this.table;
    for (let k = 0; k < t.length; k += 2) if (t[k] !== 0 || t[k + 1] !== 0) f(t[k], t[k + 1]);
  }

  /** What `n` more additions may allocate at once: the rehash into a table twice the size. */
  growthAhead(n: number): number {
    return (this.size + n) * 4 > (this.mask + 1) * 3 ? 2 * this.table.byteLength : 0;
  }

  /** Adds (lo, hi); returns true if it was not there. (0, 0) is stored as (1, 0): zero marks empty. */
  add(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    let t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i << 1;
      const a = t[k];
      const b = t[k + 1];
      if (a === 0 && b === 0) {
        t[k] = lo;
        t[k + 1] = hi;
        if (++this.size * 4 > (this.mask + 1) * 3) this.grow(); // grow at 75 % load
        return true;
      }
      if (a === lo && b === hi) return false;
      i = (i + 1) & this.mask;
      t = this.table;
    }
  }

  has(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    const t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i << 1;
      if (t[k] === 0 && t[k + 1] === 0) return false;
      if (t[k] === lo && t[k + 1] === hi) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.table.byteLength;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0 || old[k + 1] !== 0) this.add(old[k], old[k + 1]);
    }
  }
}

/**
 * The states a search has seen, each under a `tag` — 0, or a small positive int the key also
 * includes (the preemption-bounded search keys a state by (state, preemptions used, last actor)).
 * After `add` or `find`, (`keyLo`, `keyHi`) identify the state and its tag within this set: the
 * termination graph files region states under it, so it is exact when the set is.
 */
export interface VisitedStates {
  /** Whether states are stored whole (no collision can hide one). */
  readonly exact: boolean;
  readonly size: number;
  readonly bytes: number;
  keyLo: number;
  keyHi: number;
  /** Adds `state` under `tag`; true if it was not there. */
  add(state: Int32Array, tag: number): boolean;
  /** Whether `state` is there under `tag` (and, if so, its key). */
  find(state: Int32Array, tag: number): boolean;
  /** The key of `state`, which was added under `tag` (a fingerprint's is the state's own lanes: no probe of the table). */
  keyOf(state: Int32Array, tag: number): void;
  /** Adds every state of `other` (a set of the same kind). */
  addAll(other: VisitedStates): void;
  clear(): void;
  /** What `n` more additions may allocate at once (counted ahead by the memory limit). */
  growthAhead(n: number): number;
  /** The probability that the set took two distinct states for one, at most. */
  readonly missedBound: number;
}

/** A set of states: by fingerprint (hash compaction) or, with `exact`, by whole contents. */
export function visitedStates(layout: Layout, exact: boolean, initialCapacity = 1 << 16): VisitedStates {
  return exact ? new ExactStates(layout, initialCapacity) : new FingerprintStates(initialCapacity);
}

/** The fingerprint lanes of `state` under `tag`: salted by it unless it is 0 (then the state's own). */
export function taggedLo(state: Int32Array, tag: number): number {
  return tag === 0 ? state[0] : state[0] ^ fmix32(tag);
}
export function taggedHi(state: Int32Array, tag: number): number {
  return tag === 0 ? state[1] : state[1] ^ fmix32(fmix32(tag) ^ 0x5bd1e995);
}

/** Hash compaction: a state is its 64-bit fingerprint (salted by its tag), which is also its key. */
export class FingerprintStates implements VisitedStates {
  readonly exact = false;
  private readonly set: FingerprintSet;
  keyLo = 0;
  keyHi = 0;

  constructor(initialCapacity = 1 << 16) {
    this.set = new FingerprintSet(initialCapacity);
  }

  get size(): number {
    return this.set.size;
  }

  get bytes(): number {
    return this.set.bytes;
  }

  get missedBound(): number {
    return collisionBound(this.set.size);
  }

  add(state: Int32Array, tag: number): boolean {
    this.keyLo = taggedLo(state, tag);
    this.keyHi = taggedHi(state, tag);
    return this.set.add(this.keyLo, this.keyHi);
  }

  find(state: Int32Array, tag: number): boolean {
    this.keyLo = taggedLo(state, tag);
    this.keyHi = taggedHi(state, tag);
    return this.set.has(this.keyLo, this.keyHi);
  }

  keyOf(state: Int32Array, tag: number): void {
    this.keyLo = taggedLo(state, tag);
    this.keyHi = taggedHi(state, tag);
  }

  addAll(other: VisitedStates): void {
    (other as FingerprintStates).set.forEach((lo, hi) => {
      this.set.add(lo, hi);
    });
  }

  clear(): void {
    this.set.clear();
  }

  growthAhead(n: number): number {
    return this.set.growthAhead(n);
  }
}

/** Where a state with fingerprint (lo, hi) and `tag` starts probing, before masking. */
function bucket(lo: number, hi: number, tag: number): number {
  return lo ^ Math.imul(hi, 0x9e3779b1) ^ (tag === 0 ? 0 : fmix32(tag));
}

/**
 * Whole states: an open-addressed table of (fingerprint lo, hi, record + 1) over a compact store
 * of the states and their tags. Equal fingerprints are only a hint: a state is found when its
 * record matches slot by slot. A state's key is its record number (unique in the set).
 */
export class ExactStates implements VisitedStates {
  readonly exact = true;
  readonly missedBound = 0;
  private table: Int32Array;
  private mask: number;
  private readonly records: StateStore;
  keyLo = 0;
  keyHi = 0;

  constructor(
    private readonly layout: Layout,
    initialCapacity = 1 << 16,
  ) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.table = new Int32Array(cap * 3);
    this.mask = cap - 1;
    // A small set (a lone run's) keeps small chunks.
    this.records = new StateStore(layout, Math.min(1 << 18, cap * 64));
  }

  get size(): number {
    return this.records.count;
  }

  get bytes(): number {
    return this.table.byteLength + this.records.bytes;
  }

  /** The slot index of `state` under `tag`, or of the empty slot where it would go (then `table[k + 2]` is 0). */
  private slot(state: Int32Array, tag: number): number {
    const lo = state[0];
    const hi = state[1];
    const t = this.table;
    for (let i = bucket(lo, hi, tag) & this.mask; ; i = (i + 1) & this.mask) {
      const k = i * 3;
      const r = t[k + 2];
      if (r === 0) return k;
      if (t[k] === lo && t[k + 1] === hi && this.records.matches(r - 1, state, tag)) return k;
    }
  }

  add(state: Int32Array, tag: number): boolean {
    const k = this.slot(state, tag);
    const t = this.table;
    if (t[k + 2] !== 0) {
      this.keyLo = t[k + 2] - 1;
      this.keyHi = 0;
      return false;
    }
    const r = this.records.count;
    this.records.push(state, tag);
    t[k] = state[0];
    t[k + 1] = state[1];
    t[k + 2] = r + 1;
    this.keyLo = r;
    this.keyHi = 0;
    if ((r + 1) * 4 > (this.mask + 1) * 3) this.grow();
    return true;
  }

  find(state: Int32Array, tag: number): boolean {
    const k = this.slot(state, tag);
    if (this.table[k + 2] === 0) return false;
    this.keyLo = this.table[k + 2] - 1;
    this.keyHi = 0;
    return true;
  }

  keyOf(state: Int32Array, tag: number): void {
    if (!this.find(state, tag)) throw new ModelError('an expanded state is not in the visited set');
  }

  addAll(other: VisitedStates): void {
    const from = (other as ExactStates).records;
    const buf = new Int32Array(this.layout.size);
    for (let i = 0; i < from.count; i++) {
      from.load(i, buf);
      this.add(buf, from.id(i));
    }
  }

  clear(): void {
    this.table.fill(0);
    this.records.clear();
  }

  growthAhead(n: number): number {
    return ((this.size + n) * 4 > (this.mask + 1) * 3 ? 2 * this.table.byteLength : 0) + this.records.growthAhead(n);
  }

  /** Rehashes into a table twice the size (records stay where they are). */
  private grow(): void {
    const old = this.table;
    this.mask = this.mask * 2 + 1;
    const t = new Int32Array((this.mask + 1) * 3);
    for (let k = 0; k < old.length; k += 3) {
      if (old[k + 2] === 0) continue;
      let i = bucket(old[k], old[k + 1], this.records.id(old[k + 2] - 1)) & this.mask;
      while (t[i * 3 + 2] !== 0) i = (i + 1) & this.mask;
      t.set(old.subarray(k, k + 3), i * 3);
    }
    this.table = t;
  }
}

/**
 * An upper bound on the probability that hash compaction hid a state (the question TLC answers
 * after every run): two of the `n` distinct states explored sharing a 64-bit fingerprint, treating
 * the fingerprints as independent and uniform — the birthday bound n(n-1)/2 / 2^64. A collision can
 * only prune: a "holds" is then a proof up to this probability; a violation is always real (its
 * schedule replays). The termination graph keys a subset of these states by the same fingerprints,
 * and the preemption-bounded search salts them per (state, preemptions, last actor): one bound over
 * its keys covers them.
 */
export function collisionBound(n: number): number {
  return n <= 1 ? 0 : Math.min(1, (n * (n - 1)) / 2 ** 65);
}
