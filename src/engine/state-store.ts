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

  /**
   * `chunkSlots`: the size of one chunk (at least one whole state); small for a short-lived store.
   * `shared`: chunks in shared memory, for other threads to read records in place (parallel.ts).
   */
  constructor(
    private readonly layout: Layout,
    chunkSlots = 1 << 22,
    private readonly shared = false,
  ) {
    this.chunkSlots = Math.max(chunkSlots, layout.size);
  }

  private newChunk(): Int32Array {
    return this.shared ? new Int32Array(new SharedArrayBuffer(this.chunkSlots * 4)) : new Int32Array(this.chunkSlots);
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
    if (this.chunks.length === 0) this.chunks.push(this.newChunk());
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
    if (this.current === this.chunks.length) this.chunks.push(this.newChunk());
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

  /** Where record `i` is: chunk `chunkIndex(i)` of `chunkList`, from `offset(i)` (read in place by other threads with `shared`). */
  chunkIndex(i: number): number {
    return this.chunkOf[i];
  }

  offset(i: number): number {
    return this.offsetOf[i];
  }

  get chunkList(): readonly Int32Array[] {
    return this.chunks;
  }
}

/**
 * Expands the record at `chunk[o..]` into `dst` (dead frames zeroed). With `overState`, `dst` holds
 * a state already (see `StateStore.load`): only its frames the new state does not keep are zeroed.
 */
export function expandRecord(L: Layout, chunk: Int32Array, o: number, dst: Int32Array, overState = false): void {
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
