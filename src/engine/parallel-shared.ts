/**
 * What the threads of a parallel search (parallel.ts) share: one fingerprint table and a control
 * block of counters, both in SharedArrayBuffers and only touched through Atomics where two threads
 * may race.
 *
 * The table is open-addressed with linear probing, four Int32 slots per entry: the state's 64-bit
 * fingerprint (lo, hi), its *owner* — the id of the state it was discovered from (its parent in the
 * search tree; -1 for the root) — and a status word (0 empty, 1 being written, 2 ready). A thread
 * claims an empty entry with a compare-exchange on the status word, writes the fingerprint and the
 * owner, then publishes it; a reader that meets a claimed entry waits the few instructions until it
 * is ready. No allocation, no lock.
 *
 * Breadth-first levels expand parents in id order, and a parent of a later level has a larger id
 * than every parent of an earlier one. Two threads that discover the same new state in one level
 * race for it; the smaller parent id wins (an atomic minimum on the owner word), which is exactly
 * the parent a one-thread breadth-first search would have discovered it from first. So the tree,
 * the order of the next level, and everything that follows, do not depend on the race.
 *
 * An offer that takes an entry from a larger parent id adds it to the level's list of lost entries
 * (`lost`): after the level, a thread's new state whose entry is not there is its own without
 * reading the table (a random read per state, while the other threads wait), and the few that are
 * there are checked. Parents of one thread are expanded in increasing order, so only a race between
 * threads for a state takes one.
 */

/** The control block's words. */
export const CTL = {
  /** Bumped by the coordinator to start a level (workers wait on it). */
  SEQ: 0,
  /** The next position of the level to hand out (a block of at most BLOCK parents at a time: parallel-expand.ts `takeBlock`). */
  NEXT: 1,
  /** Workers done expanding this level (the barrier before the owners are read). */
  DONE: 2,
  /** Workers that posted their report of this level (the coordinator waits on it). */
  REPORTED: 3,
  /** Why the level was cut short (ABORT_*), 0 if it was not. */
  ABORT: 4,
  /** Entries in the table (each thread adds its new ones once per block: one shared word bumped per state would bounce between the cores' caches). */
  COUNT: 5,
  /** Transitions so far (for progress lines). */
  TRANSITIONS: 6,
  /** The first violation of the level: a spin lock, and its key (parent id, successor number). */
  EVENT_LOCK: 7,
  EVENT_PARENT: 8,
  EVENT_SEQ: 9,
  /** Workers that have built their model and wait for their first level. */
  READY: 10,
  /** Threads that take part in the level under way (the barrier's count): this one alone until the workers are ready. */
  WORKERS: 11,
  /** Entries whose owner fell in this level (a state taken from a larger parent id), as many as the list of them (`SharedFingerprints.lost`) was offered. */
  LOST: 12,
  SIZE: 13,
} as const;

/** Why a level was cut short (ABORT): the table must grow (the level runs again), or a limit stops the search. */
export const ABORT_GROW = 1;
export const ABORT_STOP_STATES = 2;
export const ABORT_STOP_TIME = 3;
export const ABORT_STOP_MEMORY = 4;
export const ABORT_STOP_INTERRUPTED = 5;
/** No violation in this level (the key's parent). */
export const NO_EVENT = 0x7fffffff;
/** The successor number of a deadlock: after every step of its state. */
export const DEADLOCK_SEQ = 0x7fffffff;
/** Parents handed to a thread at a time, at most. */
export const BLOCK = 32;
/** The table's load at which a level is cut short and the table doubled. */
export const MAX_LOAD = 0.85;
/** Room in the list of a level's lost entries; past it, every new state's owner is read. */
export const LOST_ROOM = 1 << 16;

const EMPTY = 0;
const CLAIMED = 1;
const READY = 2;

export function controlBlock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * CTL.SIZE));
}

/** Records `(parent, seq)` as the level's first violation if it comes before the one recorded. */
export function offerEvent(ctl: Int32Array, parent: number, seq: number): void {
  while (Atomics.compareExchange(ctl, CTL.EVENT_LOCK, 0, 1) !== 0);
  const p = Atomics.load(ctl, CTL.EVENT_PARENT);
  if (parent < p || (parent === p && seq < Atomics.load(ctl, CTL.EVENT_SEQ))) {
    Atomics.store(ctl, CTL.EVENT_PARENT, parent);
    Atomics.store(ctl, CTL.EVENT_SEQ, seq);
  }
  Atomics.store(ctl, CTL.EVENT_LOCK, 0);
}

/** Whether key (parent, seq) comes before key (p2, s2). */
export function keyBefore(parent: number, seq: number, p2: number, s2: number): boolean {
  return parent < p2 || (parent === p2 && seq < s2);
}

export class SharedFingerprints {
  readonly t: Int32Array;
  private readonly mask: number;
  /** New entries this thread's offers made (through this object). */
  added = 0;

  /** `lost`: where offers list the entries they take from a larger parent id (its length counted in `ctl`'s LOST), if any. */
  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly lost?: { readonly ctl: Int32Array; readonly list: Int32Array },
  ) {
    this.t = new Int32Array(buffer);
    this.mask = this.t.length / 4 - 1;
  }

  /** An empty table of `capacity` entries (a power of two). */
  static create(capacity: number): SharedFingerprints {
    return new SharedFingerprints(new SharedArrayBuffer(capacity * 16));
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /**
   * Offers the state (lo, hi) discovered from parent `owner`. Returns its entry (an index into
   * `t`) if `owner` now owns it — it was new, or owned by a larger parent id (discovered in the same
   * level by a later parent) — else -1: known from an earlier level, or owned by an earlier parent,
   * or by this one already (two steps of one state reaching one state). `added` counts new entries.
   */
  offer(lo: number, hi: number, owner: number): number {
    const t = this.t;
    for (let i = this.home(lo, hi); ; i = (i + 1) & this.mask) {
      const k = i << 2;
      let st = Atomics.load(t, k + 3);
      if (st === EMPTY) {
        st = Atomics.compareExchange(t, k + 3, EMPTY, CLAIMED);
        if (st === EMPTY) {
          t[k] = lo;
          t[k + 1] = hi;
          t[k + 2] = owner;
          Atomics.store(t, k + 3, READY);
          this.added++;
          return k;
        }
      }
      while (st === CLAIMED) st = Atomics.load(t, k + 3);
      if (t[k] !== lo || t[k + 1] !== hi) continue;
      // Owners only fall, and the status read made the first one visible: a stale read is a larger owner, and the exchange fails.
      for (let o = t[k + 2]; o > owner; o = Atomics.load(t, k + 2)) {
        if (Atomics.compareExchange(t, k + 2, o, owner) !== o) continue;
        if (this.lost) {
          const i = Atomics.add(this.lost.ctl, CTL.LOST, 1);
          if (i < this.lost.list.length) this.lost.list[i] = k;
        }
        return k;
      }
      return -1;
    }
  }

  /** The entry where the probe for (lo, hi) starts. */
  private home(lo: number, hi: number): number {
    return (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
  }

  /** The owner of entry `k` (once every worker is done offering: final). */
  owner(k: number): number {
    return Atomics.load(this.t, k + 2);
  }

  /**
   * Whether `parent`, which offered entry `k` (that offer returned it) in this level, owns it: once
   * every thread is done offering. `lost` holds the level's lost entries, or is null when they were
   * more than the list's room.
   */
  owns(k: number, parent: number, lost: ReadonlySet<number> | null): boolean {
    return (lost !== null && !lost.has(k)) || this.owner(k) === parent;
  }

  /**
   * A table of `capacity` entries holding the entries of this one owned by a parent below `below`
   * (the states of the levels already done: a level cut short is run again). One thread, between
   * levels, while the others wait: no other thread touches either table, and each fingerprint is
   * there once, so an entry goes to the first empty one of its probe with plain writes (the level's
   * message, sent after, publishes them).
   */
  rehash(capacity: number, below: number, ctl: Int32Array): SharedFingerprints {
    const next = SharedFingerprints.create(capacity);
    const t = this.t;
    const n = next.t;
    for (let k = 0; k < t.length; k += 4) {
      if (t[k + 3] !== READY || t[k + 2] >= below) continue;
      let i = next.home(t[k], t[k + 1]);
      while (n[(i << 2) + 3] !== EMPTY) i = (i + 1) & next.mask;
      const o = i << 2;
      n[o] = t[k];
      n[o + 1] = t[k + 1];
      n[o + 2] = t[k + 2];
      n[o + 3] = READY;
      next.added++;
    }
    Atomics.store(ctl, CTL.COUNT, next.added);
    return next;
  }
}
