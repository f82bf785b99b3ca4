/**
 * Symmetry of interchangeable actors (a scenario's `symmetric:` groups, under `--symmetry`): two
 * states that differ only in which of a group's actors is which are one state. Before a state is
 * interned, the engine maps it to the least state (in slot order) of its orbit under the group —
 * each permutation π moves every actor's block (its actor slots, its call frames, its rows of the
 * structs kept per actor) to π's number and rewrites every declared actor name (layout.ts
 * `ActorNames`, plus the fields that hold `w.self` by their `lock-word` protection) — and remembers
 * which π it applied, so that schedules, which name actors, are translated back to the concrete
 * numbering before anyone replays them.
 *
 * Why that is exact. The least element of an orbit is the same for every member of the orbit, so
 * two states share a canonical form exactly when a permutation of the group maps one to the other:
 * ties between actors whose blocks are equal need no rule, every permutation is tried. With the
 * swap-slot renumbering (symmetry.ts) on too, the candidate is the rows' canonical form of π(s),
 * and the least of those is canonical for the product of both groups (the two permutations
 * commute: one moves actors' blocks and rewrites actor names, the other rows and row names). The
 * search may explore π(s) in place of s when every step from π(s) is the π-image of the step from
 * s — the model treats an actor number as a name: it copies it, compares two for equality, finds
 * the actor's objects through it, and never orders actors by number or finds one through a name
 * it was not told about. The group's actors must also run the same program (the loader checks
 * that: src/scenario/load.ts). Then π(s) and s are bisimilar, every property of the catalogue is
 * invariant under π (none names an actor by number), and the verdicts are those of the concrete
 * search.
 *
 * What is checked, and where. At the initial state, every permutation of the group must leave it
 * unchanged (the actors start alike); on every state, a declared name must name an actor. The
 * engine cannot see an undeclared name: `checkEquivariance` (used by the tests and by the engine's
 * audit, `audit`) steps π(s) by π(a) beside s by a and compares. The fair-termination check (a
 * cycle's fairness by actor) cannot run on the quotient alone: a cycle of the quotient may permute
 * the actors, so which actor steps in it is not a property of the quotient's cycle. It runs on the
 * quotient's region graph times the group (termination.ts, Emerson and Sistla's construction),
 * whose nodes (C, τ) are the concrete states τ(C): `after` gives τ's successor along an edge.
 */
import { ACTOR_SLOTS, ACTOR_SP, allActorNames, CALL_LOCALS, CALL_PC, CALL_ROUTINE, DATA_START, firstDifference, type ActorEncoding, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import { zHi, zLo } from '../world/hash.js';
import { describeSlot } from '../world/describe.js';
import { grow } from './grow.js';
import { entryActor, entryChoice, entryOf, transitionEntries } from '../world/entry.js';
import type { RowCanon } from './symmetry.js';
import type { Tree } from './tree.js';

const INDEX = 0;
const REF = 1;
const BITS = 2;
const ENCODINGS: Record<ActorEncoding, number> = { index: INDEX, ref: REF, bits: BITS };

/** The most permutations tried per state (8! : a group of eight, or several smaller ones). */
export const MAX_PERMUTATIONS = 40320;

export class ActorCanon {
  /** Every permutation of the groups (π[a] = a's new number; actors outside the groups fixed), the identity first. */
  private readonly perms: Int32Array[];
  /** Per actor: the slots of its block, in one order for all actors. */
  private readonly blocks: Int32Array[];
  /** Struct fields that hold actor names, and how. */
  private readonly fieldSlots: Int32Array;
  private readonly fieldEnc: Uint8Array;
  /** Per routine id: the frame offsets of locals that hold actor names, and how. */
  private readonly frameOffs: (Int32Array | undefined)[];
  private readonly frameEnc: (Uint8Array | undefined)[];
  /** With `frameOffs`: the frame offset that must hold `frameWhenValue` for the name to be one (-1: always); `frameWhenNot`: must not. */
  private readonly frameWhen: (Int32Array | undefined)[];
  private readonly frameWhenValue: (Int32Array | undefined)[];
  private readonly frameWhenNot: (Uint8Array | undefined)[];
  private readonly n: number;
  private readonly cand: Int32Array;
  private readonly best: Int32Array;
  private readonly rowsOut: Int32Array;
  private readonly keys: Int32Array;
  /** Per actor, its block before an in-place permutation moves it. */
  private readonly stash: Int32Array[];
  /** The candidates of the state being canonicalised (indices into `perms`). */
  private readonly candidateList: Int32Array;
  private readonly inverse: Int32Array;
  /** The permutation the last `canonicalize`/`canonicalCopy` applied (an index into `perms`). */
  applied = 0;
  /** Per search-tree node: the permutation applied to the state the node's transition reached. */
  private nodePerm = new Int32Array(1 << 12);
  /** A permutation's index by its images (made on the first `after`), and `after`'s answers by (k, s). */
  private indexOfPerm: Map<string, number> | undefined;
  private readonly afterMemo = new Map<number, number>();

  private constructor(
    private readonly layout: Layout,
    readonly groups: readonly (readonly number[])[],
    private readonly rows: RowCanon | undefined,
  ) {
    const L = layout;
    this.n = L.actorNames.length;
    this.perms = permutations(this.n, groups);
    const blocks: number[][] = [];
    for (let a = 0; a < this.n; a++) {
      const b: number[] = [];
      for (let k = 0; k < ACTOR_SLOTS; k++) b.push(L.actorSlot(a) + k);
      for (let f = 0; f < L.stackDepth; f++) for (let k = 0; k < L.callStride; k++) b.push(L.callSlot(a, f) + k);
      blocks.push(b);
    }
    const fields = new Map<number, number>();
    const rowsSeen = new Set<number>();
    const addRows = (struct: (typeof L.regions)[number]['def'], name: string) => {
      if (!L.has(struct) || rowsSeen.has(struct.id)) return;
      rowsSeen.add(struct.id);
      const r = L.region(struct);
      if (r.count !== this.n) throw new ModelError(`actor names ${name}: ${struct.name} has ${r.count} objects, not one per actor (${this.n})`);
      for (let a = 0; a < this.n; a++) for (let k = 0; k < r.stride; k++) blocks[a].push(r.base + a * r.stride + k);
    };
    const addField = (struct: (typeof L.regions)[number]['def'], field: string, enc: number) => {
      if (!L.has(struct)) return;
      const r = L.region(struct);
      const k = struct.fields.indexOf(field);
      for (let i = 0; i < r.count; i++) fields.set(r.base + i * r.stride + k, enc);
    };
    // What the layout's protections declare: lock words hold `w.self`; a `read-holds` struct has one object per actor.
    for (const r of L.regions) {
      const prot = Object.entries(r.def.protect) as [string, string][];
      for (const [f, p] of prot) if (p === 'lock-word' || p.startsWith('lock-word:')) addField(r.def, f, REF);
      if (prot.some(([, p]) => p.startsWith('read-holds:'))) addRows(r.def, r.def.name);
    }
    const locals: { routine: string; local: string; enc: number; when?: { local: string; value: number }; setBy?: string }[] = [];
    for (const d of allActorNames()) {
      for (const struct of d.rows ?? []) addRows(struct, d.name);
      for (const f of d.fields ?? []) addField(f.struct, f.field, ENCODINGS[f.encoding]);
      for (const l of d.locals ?? [])
        locals.push({ routine: l.routine, local: l.local, enc: ENCODINGS[l.encoding], ...(l.when && { when: l.when }), ...(l.setBy !== undefined && { setBy: l.setBy }) });
    }
    this.blocks = blocks.map((b) => Int32Array.from(b));
    const sorted = [...fields.keys()].sort((x, y) => x - y);
    this.fieldSlots = Int32Array.from(sorted);
    this.fieldEnc = Uint8Array.from(sorted.map((o) => fields.get(o)!));
    const routines = L.model?.routines ?? [];
    const replaced = [...(L.model?.replaced ?? [])];
    this.frameOffs = [];
    this.frameEnc = [];
    this.frameWhen = [];
    this.frameWhenValue = [];
    this.frameWhenNot = [];
    for (const rt of routines) {
      // A replacement (an era's, a driver's) keeps its original's names, by local name.
      const original = replaced.find(([, by]) => by === rt)?.[0];
      const decl = locals.filter((x) => x.routine === rt.name || x.routine === original?.name);
      const found: { i: number; enc: number; when: number; value: number; not: boolean }[] = [];
      for (const x of decl) {
        // The routine itself must have what it declares; a replacement may have dropped a local (then it has no such name).
        const missing = [x.local, ...(x.when ? [x.when.local] : [])].find((l) => !rt.localNames.includes(l));
        if (missing && x.routine === rt.name) throw new ModelError(`actor names: routine ${rt.name} has no local ${missing}`);
        if (missing) continue;
        const i = rt.localNames.indexOf(x.local);
        if (x.setBy === undefined) {
          found.push({ i, enc: x.enc, when: x.when ? CALL_LOCALS + rt.localNames.indexOf(x.when.local) : -1, value: x.when?.value ?? 0, not: false });
          continue;
        }
        // No name while the frame is about to run the step that sets it: its resume point is that step.
        const pc = rt.labelIndex[x.setBy];
        if (pc === undefined) throw new ModelError(`actor names: routine ${rt.name} has no step ${x.setBy}`);
        found.push({ i, enc: x.enc, when: CALL_PC, value: pc, not: true });
      }
      const some = found.length > 0;
      this.frameOffs.push(some ? Int32Array.from(found.map((x) => CALL_LOCALS + x.i)) : undefined);
      this.frameEnc.push(some ? Uint8Array.from(found.map((x) => x.enc)) : undefined);
      this.frameWhen.push(some ? Int32Array.from(found.map((x) => x.when)) : undefined);
      this.frameWhenValue.push(some ? Int32Array.from(found.map((x) => x.value)) : undefined);
      this.frameWhenNot.push(some ? Uint8Array.from(found.map((x) => (x.not ? 1 : 0))) : undefined);
    }
    this.cand = new Int32Array(L.size);
    this.best = new Int32Array(L.size);
    this.rowsOut = new Int32Array(L.size);
    this.keys = new Int32Array(this.n);
    this.stash = this.blocks.map((b) => new Int32Array(b.length));
    this.candidateList = new Int32Array(this.perms.length);

    this.inverse = new Int32Array(this.n);
  }

  /**
   * The canonicaliser for `groups` (actor numbers; each group of at least two distinct actors), or
   * undefined when there are none. `rows`: the swap-slot renumbering, applied to every candidate.
   */
  static of(L: Layout, groups: readonly (readonly number[])[] | undefined, rows?: RowCanon): ActorCanon | undefined {
    if (!groups?.length) return undefined;
    const seen = new Set<number>();
    let count = 1;
    for (const g of groups) {
      if (g.length < 2) throw new ModelError(`actor symmetry: a group of ${g.length} actor${g.length === 1 ? '' : 's'}; a group names at least two`);
      for (const a of g) {
        if (!Number.isInteger(a) || a < 0 || a >= L.actorNames.length) throw new ModelError(`actor symmetry: no actor ${a}`);
        if (seen.has(a)) throw new ModelError(`actor symmetry: actor ${L.actorNames[a]} is named twice`);
        seen.add(a);
      }
      for (let k = 2; k <= g.length; k++) count *= k;
    }
    if (count > MAX_PERMUTATIONS) throw new ModelError(`actor symmetry: the groups have ${count} permutations, more than the ${MAX_PERMUTATIONS} tried per state`);
    return new ActorCanon(L, groups, rows);
  }

  /** The groups, by actor name. */
  get names(): string[][] {
    return this.groups.map((g) => g.map((a) => this.layout.actorNames[a]));
  }

  /** How many permutations each state is tried under. */
  get size(): number {
    return this.perms.length;
  }

  /** Permutation `k` (π[a] = a's new number; the identity is 0): not to be written. */
  image(k: number): Int32Array {
    return this.perms[k];
  }

  /**
   * The index of τ∘σ⁻¹, for τ = permutation `k` and σ = permutation `s`. Read τ as "canonical actor
   * a is concrete actor τ[a]" — the concrete state is τ(C) — and let a transition from C reach U,
   * whose canonical form is σ(U): the concrete transition reaches τ(U) = (τ∘σ⁻¹)(σ(U)), as `apply`
   * moves block a to π[a] (so π(ρ(V)) = (π∘ρ)(V)). `concrete` follows the same relabelling.
   */
  after(k: number, s: number): number {
    const key = k * this.perms.length + s;
    const known = this.afterMemo.get(key);
    if (known !== undefined) return known;
    this.indexOfPerm ??= new Map(this.perms.map((p, i) => [p.join(','), i]));
    const tau = this.perms[k];
    const sigma = this.perms[s];
    const out = new Int32Array(this.n);
    for (let a = 0; a < this.n; a++) out[sigma[a]] = tau[a];
    const i = this.indexOfPerm.get(out.join(','))!;
    this.afterMemo.set(key, i);
    return i;
  }

  /** Writes π(`v`) (then the rows' canonical form, if on) into `out`; its fingerprint lanes are stale. */
  private apply(v: Int32Array, p: Int32Array, out: Int32Array, w: World, rows = true): Int32Array {
    out.set(v);
    for (let a = 0; a < this.n; a++) {
      const to = p[a];
      if (to === a) continue;
      const src = this.blocks[a];
      const dst = this.blocks[to];
      for (let k = 0; k < src.length; k++) out[dst[k]] = v[src[k]];
    }
    this.renameAll(out, p, w, undefined);
    return rows && this.rows ? this.rows.canonicalCopy(out, this.rowsOut, w) : out;
  }

  /**
   * Applies π to `w`'s state in place, through `w.set` (the fingerprint and the undo log follow).
   * Only the live part of the blocks moves: the frames at or above every moved actor's stack
   * pointer are zero in all of them (World.ret zeroes a dead frame), so they are alike.
   */
  private applyInPlace(w: World, p: Int32Array): void {
    const v = w.v;
    const L = this.layout;
    let sp = 0;
    for (let a = 0; a < this.n; a++) if (p[a] !== a) sp = Math.max(sp, v[L.actorSlot(a) + ACTOR_SP]);
    const skipFrom = ACTOR_SLOTS + sp * L.callStride;
    const skipTo = ACTOR_SLOTS + L.stackDepth * L.callStride;
    for (let a = 0; a < this.n; a++) {
      if (p[a] === a) continue;
      const b = this.blocks[a];
      const s = this.stash[a];
      for (let k = 0; k < skipFrom; k++) s[k] = v[b[k]];
      for (let k = skipTo; k < b.length; k++) s[k] = v[b[k]];
    }
    for (let a = 0; a < this.n; a++) {
      if (p[a] === a) continue;
      const dst = this.blocks[p[a]];
      const src = this.stash[a];
      for (let k = 0; k < skipFrom; k++) if (v[dst[k]] !== src[k]) w.set(dst[k], src[k]);
      for (let k = skipTo; k < dst.length; k++) if (v[dst[k]] !== src[k]) w.set(dst[k], src[k]);
    }
    this.renameAll(v, p, w, w);
  }

  /**
   * Rewrites every declared name in `v` (whose blocks are already in place) under π: through `into`
   * when given, else in `v`; with `check`, writes nothing and says whether π leaves every name as it is.
   */
  private renameAll(v: Int32Array, p: Int32Array, w: World, into: World | undefined, check = false): boolean {
    const fs = this.fieldSlots;
    for (let k = 0; k < fs.length; k++) {
      const x = this.rename(v[fs[k]], this.fieldEnc[k], p, fs[k], w, v);
      if (check && x !== v[fs[k]]) return false;
      if (!check) put(v, into, fs[k], x);
    }
    const L = this.layout;
    for (let a = 0; a < this.n; a++) {
      const sp = v[L.actorSlot(a) + ACTOR_SP];
      for (let f = 0; f < sp; f++) {
        const b = L.callSlot(a, f);
        const id = v[b + CALL_ROUTINE] - 1;
        const offs = this.frameOffs[id];
        if (!offs) continue;
        const enc = this.frameEnc[id]!;
        const when = this.frameWhen[id]!;
        const value = this.frameWhenValue[id]!;
        const not = this.frameWhenNot[id]!;
        for (let k = 0; k < offs.length; k++) {
          if (when[k] >= 0 && (v[b + when[k]] === value[k]) === (not[k] === 1)) continue;
          const o = b + offs[k];
          const x = this.rename(v[o], enc[k], p, o, w, v);
          if (check && x !== v[o]) return false;
          if (!check) put(v, into, o, x);
        }
      }
    }
    return true;
  }

  /** Whether π leaves `v` as it is, by a sufficient test: each moved actor's live block equals its target's, and every name is left as it is. */
  private fixes(v: Int32Array, p: Int32Array, w: World): boolean {
    const L = this.layout;
    for (let a = 0; a < this.n; a++) {
      if (p[a] === a) continue;
      const x = this.blocks[a];
      const y = this.blocks[p[a]];
      const skipFrom = ACTOR_SLOTS + v[L.actorSlot(a) + ACTOR_SP] * L.callStride;
      const skipTo = ACTOR_SLOTS + L.stackDepth * L.callStride;
      for (let k = 0; k < x.length; k++) if ((k < skipFrom || k >= skipTo) && v[x[k]] !== v[y[k]]) return false;
    }
    return this.renameAll(v, p, w, undefined, true);
  }

  /** `x`, an actor name in encoding `enc`, under π. */
  private rename(x: number, enc: number, p: Int32Array, slot: number, w: World, v: Int32Array): number {
    if (enc === BITS) {
      let m = 0;
      for (let a = 0; a < this.n; a++) if (x & (1 << a)) m |= 1 << p[a];
      if (x >>> this.n !== 0) throw this.beyond(slot, x, w, v);
      return m;
    }
    if (enc === REF) {
      if (x <= 0) return x;
      if (x > this.n) throw this.beyond(slot, x, w, v);
      return p[x - 1] + 1;
    }
    if (x < 0 || x >= this.n) throw this.beyond(slot, x, w, v);
    return p[x];
  }

  private beyond(slot: number, x: number, w: World, v: Int32Array): ModelError {
    return new ModelError(`actor symmetry: ${describeSlot(w, slot, v) ?? `slot ${slot}`} holds ${x}, declared an actor's name, but there are ${this.n} actors`);
  }

  /**
   * Each actor's key: its stack's depth, routines and resume points (frames' call sites) — no name
   * of an actor or a row, so a permutation of either moves the keys with their actors.
   */
  private keysOf(v: Int32Array): void {
    const L = this.layout;
    for (let a = 0; a < this.n; a++) {
      const sp = v[L.actorSlot(a) + ACTOR_SP];
      let h = sp + 1;
      for (let f = 0; f < sp; f++) {
        const b = L.callSlot(a, f);
        h = Math.imul(h ^ v[b + CALL_ROUTINE], 0x9e3779b1) ^ v[b + CALL_PC];
        h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
      }
      this.keys[a] = h;
    }
  }

  /** Whether π(s) has each group's keys in order (`keysOf(s)` done): only those candidates are tried. */
  private sorted(p: Int32Array): boolean {
    const inv = this.inverse;
    for (let a = 0; a < this.n; a++) inv[p[a]] = a;
    for (const g of this.groups) for (let k = 1; k < g.length; k++) if (this.keys[inv[g[k - 1]]] > this.keys[inv[g[k]]]) return false;
    return true;
  }

  /**
   * The least of the candidates into `best`; sets `applied`. The candidates are the permutations
   * that put each group's keys in order: the set of such images is the same for every state of an
   * orbit (the keys move with their actors), so its least is canonical; ties try every order.
   */
  private least(v: Int32Array, w: World, count = this.candidates(v, w)): Int32Array {
    let bestIndex = -1;
    for (let j = 0; j < count; j++) {
      const i = this.candidateList[j];
      const c = this.apply(v, this.perms[i], this.cand, w);
      if (bestIndex < 0 || compare(c, this.best) < 0) {
        this.best.set(c);
        bestIndex = i;
      }
    }
    this.applied = bestIndex;
    return this.best;
  }

  /**
   * Makes `w`'s state canonical (through `w.set`: the fingerprint and the undo log follow). `mark`:
   * for the state a transition reached from a canonical one, the undo log's position when it began.
   */
  canonicalize(w: World, mark?: number): void {
    const v = w.v;
    const count = this.candidates(v, w);
    if (count > 1) {
      const b = this.least(v, w, count);
      for (let o = DATA_START; o < v.length; o++) if (v[o] !== b[o]) w.set(o, b[o]);
      return;
    }
    // One candidate (the keys tell the actors apart, or the tied ones are alike): it is the canonical form, made in place.
    const only = this.candidateList[0];
    this.applied = only;
    if (only === 0 && mark !== undefined) {
      // The actors stay where they are: the rows need renumbering only if the transition wrote a name or a row (symmetry.ts `intern`).
      this.rows?.intern(w, mark);
      return;
    }
    if (only !== 0) this.applyInPlace(w, this.perms[only]);
    this.rows?.canonicalize(w);
  }

  /**
   * Lists in `candidateList` the permutations that put the keys of `v` in order, less those whose
   * image is `v` itself when the identity is one of them (tied actors that are alike: their image
   * is the identity's); returns how many.
   */
  private candidates(v: Int32Array, w: World): number {
    this.keysOf(v);
    let count = 0;
    for (let i = 0; i < this.perms.length; i++) if (this.sorted(this.perms[i])) this.candidateList[count++] = i;
    if (count < 2 || this.candidateList[0] !== 0) return count;
    let kept = 1;
    for (let j = 1; j < count; j++) {
      const i = this.candidateList[j];
      if (!this.fixes(v, this.perms[i], w)) this.candidateList[kept++] = i;
    }
    return kept;
  }

  /** `v` canonical in `dst` (the same length), its fingerprint lanes updated: for a state that is only compared. */
  canonicalCopy(v: Int32Array, dst: Int32Array, w: World): Int32Array {
    const b = this.least(v, w);
    dst.set(v);
    for (let o = DATA_START; o < v.length; o++) {
      if (dst[o] === b[o]) continue;
      if (dst[o] !== 0) {
        dst[0] ^= zLo(o, dst[o]);
        dst[1] ^= zHi(o, dst[o]);
      }
      if (b[o] !== 0) {
        dst[0] ^= zLo(o, b[o]);
        dst[1] ^= zHi(o, b[o]);
      }
      dst[o] = b[o];
    }
    return dst;
  }

  /** The initial state: every permutation of the groups must leave it as it is (the actors start alike), else a ModelError naming them. */
  checkInitial(w: World): void {
    const v = w.v;
    for (let i = 1; i < this.perms.length; i++) {
      const c = this.apply(v, this.perms[i], this.cand, w, false);
      const o = firstDifference(v, c);
      if (o < 0) continue;
      throw new ModelError(
        `actor symmetry: actors ${this.movedBy(this.perms[i])} do not start alike: ${describeSlot(w, o, v) ?? `slot ${o}`} is ${v[o]}, and ${c[o]} once they are swapped; check without symmetric:`,
      );
    }
  }

  private movedBy(p: Int32Array): string {
    const moved: string[] = [];
    for (let a = 0; a < this.n; a++) if (p[a] !== a) moved.push(this.layout.actorNames[a]);
    return moved.join(', ');
  }

  /**
   * Records permutation `k` as node `id`'s (applied to the state its transition reached): by
   * default the one this canonicaliser applied last; a parallel search's threads each canonicalise
   * with their own, and the coordinator records what they report.
   */
  noteNode(id: number, k = this.applied): void {
    while (id >= this.nodePerm.length) this.nodePerm = grow(this.nodePerm);
    this.nodePerm[id] = k;
  }

  /**
   * The concrete form of a schedule that reaches tree node `id` (nodes from `parentOf`, their
   * first entries and step counts from `entry` and `steps`), then runs `tail` (entries from that
   * node's state): entries name actors in the numbering of the canonical state they run from,
   * which is translated back, node by node, to the initial state's numbering.
   */
  concrete(id: number, parentOf: Int32Array, entry: Int32Array, steps: Int32Array, tail: readonly number[]): number[] {
    const out: number[] = [];
    const tau = this.walk(id, parentOf, entry, steps, out);
    for (const e of tail) out.push(entryOf(tau[entryActor(e)], entryChoice(e)));
    return out;
  }

  /**
   * A concrete schedule to the state τ(C), for τ = permutation `k` and C the canonical state of
   * tree node `id`: `concrete`'s schedule reaches ρ(C), ρ the node's relabelling, and renaming
   * every actor x of it to g(x), g = τ∘ρ⁻¹, reaches g(ρ(C)) = τ(C) — the initial state is fixed by
   * the group (`checkInitial`) and every step is equivariant, so the renamed run is a run.
   */
  concreteAs(id: number, parentOf: Int32Array, entry: Int32Array, steps: Int32Array, k: number): number[] {
    const out: number[] = [];
    const rho = this.walk(id, parentOf, entry, steps, out);
    const tau = this.perms[k];
    const g = new Int32Array(this.n);
    for (let a = 0; a < this.n; a++) g[rho[a]] = tau[a];
    return out.map((e) => entryOf(g[entryActor(e)], entryChoice(e)));
  }

  /** Appends `concrete`'s schedule to node `id` to `out`; returns the node's relabelling (canonical actor a is concrete actor τ[a]). */
  private walk(id: number, parentOf: Int32Array, entry: Int32Array, steps: Int32Array, out: number[]): Int32Array {
    const path: number[] = [];
    for (let i = id; i >= 0; i = parentOf[i]) path.push(i);
    path.reverse();
    // tau[a]: the concrete actor that the canonical state's actor a is.
    const tau = new Int32Array(this.n);
    const next = new Int32Array(this.n);
    const step = (p: Int32Array) => {
      for (let a = 0; a < this.n; a++) next[p[a]] = tau[a];
      tau.set(next);
    };
    for (let a = 0; a < this.n; a++) tau[a] = a;
    for (const node of path) {
      if (parentOf[node] >= 0) {
        const e = entry[node];
        transitionEntries(entryOf(tau[entryActor(e)], entryChoice(e)), steps[node], out);
      }
      step(this.perms[this.nodePerm[node]]);
    }
    return tau;
  }

  /**
   * `checkEquivariance` of the transition just run on `w` — actor `a`'s step with alternative `c`,
   * then `steps - 1` more of its steps (`step` runs one), from `before` — with the world left at
   * the transition's state and its undo log as it was.
   */
  checkTransition(w: World, before: Int32Array, a: number, c: number, steps: number, step: (a: number, c: number) => void): void {
    const cur = w.v;
    const mark = w.undoMark();
    try {
      this.checkEquivariance(w, before, a, cur.slice(), (x) => {
        step(x, c);
        for (let k = 1; k < steps; k++) step(x, 0);
        w.clearBugs();
      });
    } finally {
      w.undoTo(mark);
      w.load(cur);
    }
  }

  /**
   * Equivariance of one transition: `before` (any state), actor `a`'s step with alternative `c`
   * and `more` further steps of it, reach `after`; for each permutation π of the groups the same
   * transition of π(a) from π(before), run by `run` on `w`, must reach π(after). A difference means
   * the model tells the actors apart somewhere the declarations do not say (a ModelError naming
   * the slot and the actors). `w`'s state is left as `run` leaves it.
   */
  checkEquivariance(w: World, before: Int32Array, a: number, after: Int32Array, run: (a: number) => void): void {
    const pb = new Int32Array(before.length);
    const pa = new Int32Array(before.length);
    for (let i = 1; i < this.perms.length; i++) {
      const p = this.perms[i];
      // Under π alone: a transition's equivariance is not the rows' renumbering.
      pb.set(this.apply(before, p, this.cand, w, false));
      pa.set(this.apply(after, p, this.cand, w, false));
      w.load(pb.slice());
      run(p[a]);
      const o = firstDifference(w.v, pa);
      if (o < 0) continue;
      const names = this.layout.actorNames;
      throw new ModelError(
        `actor symmetry: actors ${this.movedBy(p)} are told apart: ${describeSlot(w, o, after) ?? `slot ${o}`} is ${pa[o]} after ${names[a]}'s step, renamed, but ${w.v[o]} after ${names[p[a]]}'s from the renamed state ` +
          `(an actor number kept or compared where layout.ts ActorNames does not say); check without symmetric:`,
      );
    }
  }
}

/** The states whose transitions the equivariance check always covers (the first ones: setup asymmetries show there). */
export const EQUIVARIANCE_FIRST = 1024;

/** How often a search checks transitions for equivariance (`ExploreOptions.equivarianceEvery`, else every 64th state's under audit). */
export function equivarianceEvery(asked: number | undefined, audit: boolean): number {
  return asked ?? (audit ? 64 : 0);
}

/**
 * Whether the search checks the transitions from state `id` (by discovery order) for equivariance
 * (`ExploreOptions.equivarianceEvery`): the first EQUIVARIANCE_FIRST, then every `every`-th; none
 * when `every` is 0.
 */
export function equivarianceDue(id: number, every: number): boolean {
  return every > 0 && (id < EQUIVARIANCE_FIRST || id % every === 0);
}

/**
 * The schedules a search tree gives, in the concrete numbering of the actors: under actor symmetry
 * its entries name actors in the numbering of the canonical state each runs from (`ActorCanon`
 * translates them back), else as they are.
 */
export class ConcreteSchedules {
  constructor(
    private readonly actors: ActorCanon | undefined,
    private readonly tree: Tree,
  ) {}

  /** The schedule to node `id`, then `tail` (entries from its state). */
  to(id: number, tail: readonly number[] = []): number[] {
    const t = this.tree;
    return this.actors ? this.actors.concrete(id, t.parent, t.actor, t.steps, tail) : [...t.schedule(id), ...tail];
  }

  /** The schedule to τ(C), τ permutation `k`, C node `id`'s canonical state (the termination product's stems, termination.ts). */
  stem(id: number, k: number): number[] {
    const t = this.tree;
    return this.actors ? this.actors.concreteAs(id, t.parent, t.actor, t.steps, k) : t.schedule(id);
  }
}

/** Every permutation of the actors that maps each group onto itself and fixes the rest, the identity first. */
function permutations(n: number, groups: readonly (readonly number[])[]): Int32Array[] {
  let out: Int32Array[] = [Int32Array.from({ length: n }, (_, a) => a)];
  for (const g of groups) {
    const next: Int32Array[] = [];
    for (const order of orders(g.length)) {
      for (const p of out) {
        const q = p.slice();
        for (let k = 0; k < g.length; k++) q[g[k]] = g[order[k]];
        next.push(q);
      }
    }
    out = next;
  }
  return out;
}

/** The permutations of 0..k-1, the identity first. */
function orders(k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (const rest of orders(k - 1)) for (let at = rest.length; at >= 0; at--) out.push([...rest.slice(0, at), k - 1, ...rest.slice(at)]);
  return out;
}

/** Writes `x` to slot `o` of `v`: through `into` when given (the fingerprint and the undo log follow), else in place. */
function put(v: Int32Array, into: World | undefined, o: number, x: number): void {
  if (v[o] === x) return;
  if (into) into.set(o, x);
  else v[o] = x;
}

/** Orders two states by their data slots. */
function compare(x: Int32Array, y: Int32Array): number {
  for (let o = DATA_START; o < x.length; o++) if (x[o] !== y[o]) return x[o] - y[o];
  return 0;
}
