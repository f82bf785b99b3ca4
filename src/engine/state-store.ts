/**
 * A list of states waiting to be expanded (a BFS level, or the DFS stack), stored compactly back to back in fixed-size chunks: the objects, then
 * each actor's *live* call frames only (dead frames are all zero, and they are most of a state).
 * No per-state allocation, no copying when a level grows; chunks are kept when the level is
 * cleared, so the two levels used in turn allocate their memory once.
 */
import { ACTOR_SP, DATA_START, type Layout } from '../world/layout.js';
import { grow } from './grow.js';

export class StateStore {
  private readonly chunks: Int32Array[] = [];
  private chunkOf = new Int32Array(1024);
  private offsetOf = new Int32Array(1024);
  private ids = new Int32Array(1024);
  private tail = 0;
  count = 0;
  private readonly chunkSlots: number;

  /** `chunkSlots`: the size of one chunk (at least one whole state); small for a short-lived store. */
  constructor(
    private readonly layout: Layout,
    chunkSlots = 1 << 22,
  ) {
    this.chunkSlots = Math.max(chunkSlots, layout.size);
  }

  clear(): void {
    this.count = 0;
    this.tail = 0;
    this.current = 0;
  }

  push(state: Int32Array, id: number): void {
    const L = this.layout;
    const nActors = L.actorNames.length;
    let len = L.callBase;
    for (let a = 0; a < nActors; a++) len += state[L.actorSlot(a) + ACTOR_SP] * L.callStride;
    if (this.chunks.length === 0) this.chunks.push(new Int32Array(this.chunkSlots));
    if (this.tail + len > this.chunkSlots) this.nextChunk();
    if (this.count === this.ids.length) this.growIndex();
    const c = this.current;
    const chunk = this.chunks[c];
    const start = this.tail;
    chunk.set(state.subarray(0, L.callBase), start);
    let o = start + L.callBase;
    // The live frames by a loop: a few dozen slots each, where a subarray (an object, garbage on the hot path) costs more than the copy.
    for (let a = 0; a < nActors; a++) {
      const n = state[L.actorSlot(a) + ACTOR_SP] * L.callStride;
      const from = L.callSlot(a, 0);
      for (let k = 0; k < n; k++) chunk[o + k] = state[from + k];
      o += n;
    }
    this.chunkOf[this.count] = c;
    this.offsetOf[this.count] = start;
    this.ids[this.count] = id;
    this.count++;
    this.tail = o;
  }

  /** The chunk records are appended to. */
  private current = 0;

  /** Moves on to the next chunk (allocating it the first time). */
  private nextChunk(): void {
    this.current++;
    if (this.current === this.chunks.length) this.chunks.push(new Int32Array(this.chunkSlots));
    this.tail = 0;
  }

  private growIndex(): void {
    this.chunkOf = grow(this.chunkOf);
    this.offsetOf = grow(this.offsetOf);
    this.ids = grow(this.ids);
  }

  id(i: number): number {
    return this.ids[i];
  }

  /** Removes the last state (stack use): expands it into `dst`, returns its id. */
  pop(dst: Int32Array): number {
    const i = --this.count;
    this.load(i, dst);
    this.tail = this.offsetOf[i];
    this.current = this.chunkOf[i];
    return this.ids[i];
  }

  get bytes(): number {
    return this.chunks.length * this.chunkSlots * 4 + this.ids.length * 12;
  }

  /** What `records` more pushes may allocate at once: a new chunk, the index's copies. */
  growthAhead(records: number): number {
    const chunk = this.tail + records * this.layout.size > this.chunkSlots && this.current + 1 >= this.chunks.length ? this.chunkSlots * 4 : 0;
    return chunk + (this.count + records >= this.ids.length ? this.ids.length * 12 : 0);
  }

  /**
   * Whether record `i` is `state` (from DATA_START: the fingerprint lanes are a function of the
   * rest) with id `id`. Dead frames are zero in every state (world.ts), so the live ones decide.
   */
  matches(i: number, state: Int32Array, id: number): boolean {
    if (this.ids[i] !== id) return false;
    const L = this.layout;
    const chunk = this.chunks[this.chunkOf[i]];
    const start = this.offsetOf[i];
    for (let s = DATA_START; s < L.callBase; s++) if (chunk[start + s] !== state[s]) return false;
    // The objects matched, the stack pointers with them: both have the same live frames.
    let o = start + L.callBase;
    for (let a = 0; a < L.actorNames.length; a++) {
      const n = state[L.actorSlot(a) + ACTOR_SP] * L.callStride;
      const from = L.callSlot(a, 0);
      for (let k = 0; k < n; k++) if (chunk[o + k] !== state[from + k]) return false;
      o += n;
    }
    return true;
  }

  /**
   * Expands state `i` into `dst` (dead frames zeroed). `dst` must hold a state already (all zeros,
   * or a state as a world keeps it: dead frames zero) — the explorers pass the buffer they expanded
   * into last, taken back to that state by the undo log — so only the frames live in its old state
   * and dead in the new one need zeroing, not the whole stack area (most of a state).
   */
  load(i: number, dst: Int32Array): void {
    expandRecord(this.layout, this.chunks[this.chunkOf[i]], this.offsetOf[i], dst, true);
  }
}

/**
 * Expands the record at `chunk[o..]` into `dst` (dead frames zeroed). With `overState`, `dst` holds
 * a state already (see `StateStore.load`): only its frames the new state does not keep are zeroed.
 */
function expandRecord(L: Layout, chunk: Int32Array, o: number, dst: Int32Array, overState = false): void {
  const nActors = L.actorNames.length;
  const perActor = L.stackDepth * L.callStride;
  // How much of each actor's stack `dst` holds now, read before the objects (the stack pointers among them) are overwritten.
  if (oldLive.length < nActors) oldLive = new Int32Array(nActors);
  for (let a = 0; a < nActors; a++) oldLive[a] = overState ? dst[L.actorSlot(a) + ACTOR_SP] * L.callStride : perActor;
  dst.set(chunk.subarray(o, o + L.callBase));
  o += L.callBase;
  for (let a = 0; a < nActors; a++) {
    const n = dst[L.actorSlot(a) + ACTOR_SP] * L.callStride;
    const from = L.callSlot(a, 0);
    for (let k = 0; k < n; k++) dst[from + k] = chunk[o + k]; // a loop, as in `push`
    if (oldLive[a] > n) dst.fill(0, from + n, from + oldLive[a]);
    o += n;
  }
}

/** `expandRecord`'s scratch: per actor, the stack slots `dst` held live (reused: no allocation per state). */
let oldLive = new Int32Array(8);

/** Slots below this are packed with a small value into one word (the slot number + 1 takes bits 17–30). */
const PACKED_SLOTS = (1 << 14) - 1;
/** Values that fit a packed word's low 17 bits, sign included. */
const PACKED_MIN = -(1 << 16);
const PACKED_MAX = (1 << 16) - 1;
/** Where the writer went on to the next chunk (ids are never negative). */
export const CHUNK_END = -1;

/**
 * Appends the change "slot `o` becomes `x`" to `c` at `t`; returns where the next one goes. One
 * word `(o + 1) << 17 | x` when `x` is small (most fields are flags, counts and indices), else two:
 * `-(o + 1)` and `x`.
 */
function putChange(c: Int32Array, t: number, o: number, x: number): number {
  if (o < PACKED_SLOTS && x >= PACKED_MIN && x <= PACKED_MAX) {
    c[t] = ((o + 1) << 17) | (x & 0x1ffff);
    return t + 1;
  }
  c[t] = -(o + 1);
  c[t + 1] = x;
  return t + 2;
}

/** Appends the slots in [from, to) where `state` differs from `last` (and brings `last` up to date); returns where the next change goes. */
function putChanges(state: Int32Array, last: Int32Array, from: number, to: number, c: Int32Array, t: number): number {
  for (let o = from; o < to; o++) t = putChange1(state, last, o, c, t);
  return t;
}

/** Appends slot `o` if `state` differs from `last` there (and brings `last` up to date); returns where the next change goes. */
function putChange1(state: Int32Array, last: Int32Array, o: number, c: Int32Array, t: number): number {
  const x = state[o];
  if (x === last[o]) return t;
  last[o] = x;
  return putChange(c, t, o, x);
}

/**
 * Applies the changes `c[p..end)` of a record (see `putChange`) to `cur`, and to `dst` if given,
 * appending the slots written to `taken` from `n`; returns the new `n` (unchanged without `dst`).
 */
export function applyRecord(c: Int32Array, p: number, end: number, cur: Int32Array, dst: Int32Array | null, taken: Int32Array, n: number): number {
  while (p < end) {
    const word = c[p++];
    let o: number;
    let x: number;
    if (word < 0) {
      o = -word - 1;
      x = c[p++];
    } else {
      o = (word >>> 17) - 1;
      x = (word << 15) >> 15;
    }
    cur[o] = x;
    if (dst !== null) {
      dst[o] = x;
      taken[n++] = o;
    }
  }
  return n;
}

/**
 * A queue of states read back in the order they went in — a breadth-first level — stored as
 * differences: each state as the slots where it differs from the state pushed before it (the
 * first from the all-zero state). Consecutive states of a level are mostly successors of one
 * state, a handful of slots apart, so a record is a few dozen words where a whole state (objects
 * and live frames, `StateStore`) is several hundred: pushing compares, in a buffer that stays in
 * the cache, instead of copying to memory that does not, and taking writes only what changed.
 *
 * `take` rebuilds each state into a mirror of the reading side and writes the same changes into
 * `dst` when `dst` holds the state taken last (the same buffer, its fingerprint lanes unchanged:
 * the explorer takes every state into one buffer, which its undo log brings back after each
 * expansion); any other buffer gets the whole mirror copied. A record is `[id, words, changes…]`
 * (see `putChange`); records do not straddle chunks.
 */
export class LevelStore {
  private readonly chunks: Int32Array[] = [];
  private readonly chunkSlots: number;
  /** The writer's chunk and offset, and the state it pushed last (dead frames zero, as in every state). */
  private wChunk = 0;
  private wAt = 0;
  private readonly last: Int32Array;
  /** The reader's chunk and offset, and the state it took last. */
  private rChunk = 0;
  private rAt = 0;
  private readonly cur: Int32Array;
  /** The buffer the last state was taken into. */
  private synced: Int32Array | null = null;
  /** The slots the last `take` wrote (`nTaken` of them), or `takenWhole`: it copied the whole state. */
  readonly takenSlots: Int32Array;
  nTaken = 0;
  takenWhole = true;
  /**
   * The slots where `last` may differ from the state the pushes now start from (`nDirty` of them,
   * each once: `isDirty`), or `dirtyAll` when that is not known: what a push told how it was
   * reached (`written`) compares, with the slots it wrote, instead of every slot.
   */
  private readonly dirty: Int32Array;
  private readonly isDirty: Uint8Array;
  private nDirty = 0;
  private dirtyAll = true;
  /** States pushed, and taken. */
  count = 0;
  taken = 0;

  /** `shared`: chunks in shared memory, for other threads to read the records in place (parallel-expand.ts). */
  constructor(
    private readonly layout: Layout,
    chunkSlots = 1 << 20,
    private readonly shared = false,
  ) {
    // Room for the largest record: every slot changed, two words each.
    this.chunkSlots = Math.max(chunkSlots, 2 * layout.size + 3);
    this.last = new Int32Array(layout.size);
    this.cur = new Int32Array(layout.size);
    this.takenSlots = new Int32Array(layout.size);
    this.dirty = new Int32Array(layout.size);
    this.isDirty = new Uint8Array(layout.size);
  }

  private newChunk(): Int32Array {
    return this.shared ? new Int32Array(new SharedArrayBuffer(this.chunkSlots * 4)) : new Int32Array(this.chunkSlots);
  }

  /** The chunks, read in place by other threads with `shared`: records `[id, words, changes…]` back to back, a chunk ending at its end or at CHUNK_END. */
  get chunkList(): readonly Int32Array[] {
    return this.chunks;
  }

  /** Empties the queue (keeps its chunks). */
  clear(): void {
    this.count = 0;
    this.taken = 0;
    this.wChunk = 0;
    this.wAt = 0;
    this.rChunk = 0;
    this.rAt = 0;
    this.last.fill(0);
    this.cur.fill(0);
    this.synced = null;
    this.nTaken = 0;
    this.takenWhole = true;
    this.forgetDirty();
    this.dirtyAll = true;
  }

  private forgetDirty(): void {
    for (let i = 0; i < this.nDirty; i++) this.isDirty[this.dirty[i]] = 0;
    this.nDirty = 0;
  }

  private addDirty(o: number): void {
    if (this.isDirty[o] === 1) return;
    this.isDirty[o] = 1;
    this.dirty[this.nDirty++] = o;
  }

  /**
   * The pushes now start from another state: the one `from` (another store) took last, which
   * differs from the one before only in the slots that take wrote.
   */
  startFrom(from: Pick<LevelStore, 'takenWhole' | 'nTaken' | 'takenSlots'>): void {
    if (from.takenWhole) {
      this.dirtyAll = true;
      return;
    }
    for (let i = 0; i < from.nTaken; i++) this.addDirty(from.takenSlots[i]);
  }

  /**
   * Appends `state` with `id` (not negative). `written`: the slots of every write since the state
   * the pushes start from (`startFrom`) at its even entries in [`from`, `to`) — `state` differs
   * from that one nowhere else; without it every slot is compared.
   */
  push(state: Int32Array, id: number, written?: Int32Array, from = 0, to = 0): void {
    const L = this.layout;
    if (this.chunks.length === 0) this.chunks.push(this.newChunk());
    if (this.wAt + 2 * L.size + 3 > this.chunkSlots) {
      this.chunks[this.wChunk][this.wAt] = CHUNK_END;
      if (++this.wChunk === this.chunks.length) this.chunks.push(this.newChunk());
      this.wAt = 0;
    }
    const c = this.chunks[this.wChunk];
    const last = this.last;
    let t = this.wAt + 2;
    if (written === undefined || this.dirtyAll) {
      // The stacks first, as far as either state has live frames: read from both stack pointers
      // before the objects (the stack pointers among them) are brought up to date.
      const stride = L.callStride;
      for (let a = 0; a < L.actorNames.length; a++) {
        const sp = L.actorSlot(a) + ACTOR_SP;
        const base = L.callSlot(a, 0);
        t = putChanges(state, last, base, base + Math.max(state[sp], last[sp]) * stride, c, t);
      }
      t = putChanges(state, last, 0, L.callBase, c, t);
    } else {
      // `last` differs from the starting state only at the dirty slots, `state` only at the written ones.
      for (let i = 0; i < this.nDirty; i++) t = putChange1(state, last, this.dirty[i], c, t);
      for (let i = from; i < to; i += 2) t = putChange1(state, last, written[i], c, t);
    }
    // Now `last` is `state`, which differs from the starting state only where it was written.
    this.forgetDirty();
    this.dirtyAll = written === undefined;
    if (written !== undefined) for (let i = from; i < to; i += 2) this.addDirty(written[i]);
    c[this.wAt] = id;
    c[this.wAt + 1] = t - this.wAt - 2;
    this.wAt = t;
    this.count++;
  }

  /** Takes the next state into `dst` and returns its id, or -1 when every state pushed was taken. */
  take(dst: Int32Array): number {
    if (this.taken === this.count) return -1;
    let c = this.chunks[this.rChunk];
    if (this.rAt >= this.chunkSlots || c[this.rAt] === CHUNK_END) {
      c = this.chunks[++this.rChunk];
      this.rAt = 0;
    }
    const cur = this.cur;
    const inSync = dst === this.synced && dst[0] === cur[0] && dst[1] === cur[1];
    const id = c[this.rAt];
    const end = this.rAt + 2 + c[this.rAt + 1];
    const n = applyRecord(c, this.rAt + 2, end, cur, inSync ? dst : null, this.takenSlots, 0);
    if (!inSync) dst.set(cur);
    this.nTaken = n;
    this.takenWhole = !inSync;
    this.synced = dst;
    this.rAt = end;
    this.taken++;
    return id;
  }

  get bytes(): number {
    return this.chunks.length * this.chunkSlots * 4 + 2 * this.last.byteLength;
  }

  /** Words the records pushed since `clear` take (for the figures of docs/performance.md). */
  get words(): number {
    let n = this.wAt;
    for (let k = 0; k < this.wChunk; k++) n += this.chunkSlots;
    return n;
  }
}
