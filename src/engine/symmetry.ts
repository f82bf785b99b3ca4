/**
 * Symmetry of interchangeable rows (`--symmetry`): before a state is interned, the rows of each
 * row domain a layout uses (layout.ts `RowDomain`: the objects of one struct that nothing tells
 * apart but their number, such as swap slots) are renumbered canonically — each row's fields move
 * to its new number and every declared name of a row (a struct field, a routine's local, in the
 * encoding it declares) is rewritten — so that states that differ only in which row an allocation
 * took are one state.
 *
 * The canonical numbering: the rows named, in the order of their first name (the declared fields
 * in layout order, then each actor's frames from the bottom up); then the used rows nothing names,
 * by their contents; then the free rows nothing names, which are alike (checked below). It is a
 * permutation, and it depends only on where the names are and on the rows' contents, not on the
 * numbers: two states get one canonical form exactly when a permutation maps one to the other —
 * while the names are kept outside the pool. A name kept in a row of a pool moves with its row, so
 * the renumbered state may be renumbered differently again: sound (each form is the image of the
 * state by a permutation), with more states, and `intern` then renumbers every successor.
 *
 * Why that is exact, and when it is not. A permutation π of the rows maps a state s to π(s); the
 * search may explore π(s) for s when every step from π(s) is the π-image of the step from s (up to
 * another such permutation): then π(s) and s are bisimilar and have the same verdicts. The code
 * keeps that as long as it treats a row number as a name — it copies it, compares two names for
 * equality, follows one to the row — which each declared name promises. The allocators do not: an
 * allocation takes the LOWEST free row, so which row it takes depends on the numbering. That is
 * harmless while the free rows are all alike and nothing names any of them (whichever is taken,
 * the results differ by a swap of two identical, unnamed rows); it is not when some free row is
 * still named — a stale snapshot, a dangling entry: then the numbering decides whether the
 * allocation reuses the named row, and two numberings of one state have different futures. So on
 * every transition the engine checks both conditions (a free row that went into use while two or
 * more were free and one of them was named — with one free row every numbering takes that one —
 * and two free rows that differ) and stops with a model error naming the slot: the
 * scenario does not have the symmetry, and is checked without `--symmetry`. Up to the first such
 * transition the search explores exactly the canonical images of the concrete states, so a
 * scenario it completes on has no such transition concretely either. (The names are read in the
 * state the transition starts from: a single step that frees a row and allocates another while its
 * own frame names the freed one is not seen; no step of the model frees a swap slot and takes one.)
 *
 * What the engine cannot see is a name it was not told about (an undeclared field or local that
 * holds a row number): the tests compare the concrete search's states, renamed, with the
 * symmetric search's (test/engine/symmetry.test.ts). The engine knows no kernel: it reads the
 * domains from the layout's structs and the model's routines.
 */
import { ACTOR_SP, allRowDomains, CALL_LOCALS, CALL_ROUTINE, type Layout, type RowDomain } from '../world/layout.js';
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import { zHi, zLo } from '../world/hash.js';
import { describeSlot } from '../world/describe.js';
import { WriteWatch } from './written.js';

/** Per routine id: the frame offsets of its locals that hold names, how, and when. */
interface FrameNames {
  readonly offs: Int32Array;
  /** 1: the local holds the number + 1 (`ref`), 0: the number. */
  readonly ref: Uint8Array;
  /** The offset of the tag local (-1: always a name) and the bits it must have. */
  readonly whenOff: Int32Array;
  readonly whenMask: Int32Array;
}

interface DomainSlots {
  readonly domain: RowDomain;
  readonly base: number;
  readonly stride: number;
  readonly count: number;
  readonly reserved: number;
  readonly freeField: number;
  readonly freeValue: number;
  /** The field slots that hold names, ascending, and whether each is a `ref`. */
  readonly fields: Int32Array;
  readonly fieldRef: Uint8Array;
  readonly frames: readonly (FrameNames | undefined)[];
}

export class RowCanon {
  private readonly domains: DomainSlots[];
  // Scratch, reused for every state: the names found (slot, row), old row → new row, the rows' old contents.
  private nameSlots = new Int32Array(64);
  private nameRows = new Int32Array(64);
  private nameRef = new Uint8Array(64);
  private readonly map: Int32Array[];
  private readonly rows: Int32Array[];
  private readonly rest: number[] = [];
  /** Per domain, from `noteBefore`: which rows were free. */
  private readonly freeBefore: Uint8Array[];
  private readonly before: Int32Array;
  /**
   * Whether a transition wrote a name, a tag, or a row of a pool (written.ts): else its successor's
   * numbering is the parent's. Undefined (every successor renumbered) where a name is kept in a row
   * of a pool: the name moves with its row, so the renumbered state may be renumbered again
   * differently, and a parent's canonical form is no fixpoint the skip could rest on.
   */
  private readonly watch: WriteWatch | undefined;

  private constructor(
    private readonly layout: Layout,
    domains: DomainSlots[],
  ) {
    this.domains = domains;
    const inPool = (o: number) => domains.some((e) => o >= e.base + e.reserved * e.stride && o < e.base + e.count * e.stride);
    this.watch = domains.some((d) => d.fields.some(inPool))
      ? undefined
      : new WriteWatch(
          layout,
          domains.map((d) => ({
            // The names in fields, and every row of the pool: which rows are free, and the used ones' contents, order them.
            fields: [...d.fields, ...Array.from({ length: (d.count - d.reserved) * d.stride }, (_, k) => d.base + d.reserved * d.stride + k)],
            locals: d.frames.map((f) => f && [...f.offs, ...f.whenOff.filter((o) => o >= 0)]),
          })),
        );
    this.map = domains.map((d) => new Int32Array(d.count));
    this.rows = domains.map((d) => new Int32Array(d.count * d.stride));
    this.freeBefore = domains.map((d) => new Uint8Array(d.count));
    this.before = new Int32Array(layout.size);
  }

  /** The canonicaliser of `L`'s states, or undefined when `on` is false or the layout has no pool of the declared domains. */
  static of(L: Layout, on: boolean | undefined): RowCanon | undefined {
    if (!on) return undefined;
    const routines = L.model?.routines ?? [];
    const domains: DomainSlots[] = [];
    for (const domain of allRowDomains()) {
      if (!L.has(domain.struct)) continue;
      const r = L.region(domain.struct);
      const fields: number[] = [];
      const refs = new Map<number, boolean>();
      for (const n of domain.fields) {
        if (!L.has(n.struct)) continue;
        const nr = L.region(n.struct);
        const k = n.struct.fields.indexOf(n.field);
        for (let i = 0; i < nr.count; i++) {
          const o = nr.base + i * nr.stride + k;
          fields.push(o);
          refs.set(o, n.encoding === 'ref');
        }
      }
      fields.sort((a, b) => a - b);
      const frames = routines.map((rt) => {
        // A replacement (an era's, a driver's) keeps its original's names, by local name.
        const original = [...(L.model?.replaced ?? [])].find(([, by]) => by === rt)?.[0];
        const decl = domain.locals.filter((x) => x.routine === rt.name || x.routine === original?.name);
        const at = (name: string): number => {
          const i = rt.localNames.indexOf(name);
          // The routine itself must have what it declares; a replacement may have dropped a local.
          if (i < 0 && decl.some((x) => x.routine === rt.name)) throw new ModelError(`row domain ${domain.name}: routine ${rt.name} has no local ${name}`);
          return i < 0 ? -1 : CALL_LOCALS + i;
        };
        const found = decl
          .map((x) => ({ off: at(x.local), ref: x.encoding === 'ref', whenOff: x.when ? at(x.when.local) : -1, mask: x.when?.mask ?? 0, tagged: x.when !== undefined }))
          .filter((x) => x.off >= 0 && (!x.tagged || x.whenOff >= 0));
        if (!found.length) return undefined;
        return {
          offs: Int32Array.from(found.map((x) => x.off)),
          ref: Uint8Array.from(found.map((x) => (x.ref ? 1 : 0))),
          whenOff: Int32Array.from(found.map((x) => x.whenOff)),
          whenMask: Int32Array.from(found.map((x) => x.mask)),
        };
      });
      domains.push({
        domain,
        base: r.base,
        stride: r.stride,
        count: r.count,
        reserved: domain.reserved,
        freeField: domain.struct.fields.indexOf(domain.free.field),
        freeValue: domain.free.value,
        fields: Int32Array.from(fields),
        fieldRef: Uint8Array.from(fields.map((o) => (refs.get(o) ? 1 : 0))),
        frames,
      });
    }
    return domains.length ? new RowCanon(L, domains) : undefined;
  }

  /** The domains renumbered, by name. */
  get names(): readonly string[] {
    return this.domains.map((d) => d.domain.name);
  }

  /** Collects domain `d`'s names in `v` (slot and row, in canonical order) into the scratch arrays; returns how many. */
  private gather(v: Int32Array, d: DomainSlots, w: World): number {
    const L = this.layout;
    let n = 0;
    for (let k = 0; k < d.fields.length; k++) n = this.put(n, d, v, d.fields[k], d.fieldRef[k], w);
    for (let a = 0; a < L.actorNames.length; a++) {
      const sp = v[L.actorSlot(a) + ACTOR_SP];
      for (let f = 0; f < sp; f++) {
        const b = L.callSlot(a, f);
        const names = d.frames[v[b + CALL_ROUTINE] - 1];
        if (!names) continue;
        for (let k = 0; k < names.offs.length; k++) {
          const when = names.whenOff[k];
          if (when >= 0 && (v[b + when] & names.whenMask[k]) === 0) continue;
          n = this.put(n, d, v, b + names.offs[k], names.ref[k], w);
        }
      }
    }
    return n;
  }

  private put(n: number, d: DomainSlots, v: Int32Array, slot: number, ref: number, w: World): number {
    const row = v[slot] - ref;
    // 0 (or, for a ref, anything ≤ 0) names no row; a row below the pool is a constant, not renamed.
    if (v[slot] <= 0 || row < d.reserved) return n;
    if (row >= d.count) throw new ModelError(`row domain ${d.domain.name}: ${describeSlot(w, slot) ?? `slot ${slot}`} names ${d.domain.struct.name}[${row}], beyond the ${d.count} rows`);
    if (n === this.nameSlots.length) {
      const slots = new Int32Array(n * 2);
      slots.set(this.nameSlots);
      const rows = new Int32Array(n * 2);
      rows.set(this.nameRows);
      const refs = new Uint8Array(n * 2);
      refs.set(this.nameRef);
      this.nameSlots = slots;
      this.nameRows = rows;
      this.nameRef = refs;
    }
    this.nameSlots[n] = slot;
    this.nameRows[n] = row;
    this.nameRef[n] = ref;
    return n + 1;
  }

  private isFree(v: Int32Array, d: DomainSlots, row: number): boolean {
    return v[d.base + row * d.stride + d.freeField] === d.freeValue;
  }

  /** Renumbers the rows of every domain in `w`'s state canonically (through `w.set`: the fingerprint and the undo log follow). */
  canonicalize(w: World): void {
    this.renumber(w.v, w, w);
  }

  /**
   * `canonicalize` for a successor whose transition began at undo-log position `mark` from a
   * canonical state: a transition that wrote no name, no tag of one and no row of a pool left the
   * numbering as it was (written.ts), and the successor is canonical already — where the canonical
   * form is a fixpoint of the renumbering, that is while no name is kept in a row of a pool (`watch`).
   */
  intern(w: World, mark: number): void {
    if (this.watch === undefined || this.watch.touched(w, mark)) this.canonicalize(w);
  }

  /** `v` canonical in `dst` (the same length), its fingerprint lanes updated: for a state that is only compared. */
  canonicalCopy(v: Int32Array, dst: Int32Array, w: World): Int32Array {
    dst.set(v);
    this.renumber(dst, undefined, w);
    return dst;
  }

  /** Writes `x` to slot `o` of `v`: through `into` when given, else in place with the lanes updated (as World.set: a 0 adds nothing to them). */
  private write(v: Int32Array, into: World | undefined, o: number, x: number): void {
    if (into) into.set(o, x);
    else if (v[o] !== x) {
      if (v[o] !== 0) {
        v[0] ^= zLo(o, v[o]);
        v[1] ^= zHi(o, v[o]);
      }
      if (x !== 0) {
        v[0] ^= zLo(o, x);
        v[1] ^= zHi(o, x);
      }
      v[o] = x;
    }
  }

  private renumber(v: Int32Array, into: World | undefined, w: World): void {
    for (let i = 0; i < this.domains.length; i++) {
      const d = this.domains[i];
      const map = this.map[i];
      map.fill(-1);
      const n = this.gather(v, d, w);
      let next = d.reserved;
      for (let k = 0; k < n; k++) if (map[this.nameRows[k]] < 0) map[this.nameRows[k]] = next++;
      // The used rows nothing names, by contents; then the free ones, alike.
      const rest = this.rest;
      rest.length = 0;
      for (let r = d.reserved; r < d.count; r++) if (map[r] < 0 && !this.isFree(v, d, r)) rest.push(r);
      if (rest.length > 1) rest.sort((a, b) => compareRows(v, d, a, b));
      for (const r of rest) map[r] = next++;
      for (let r = d.reserved; r < d.count; r++) if (map[r] < 0) map[r] = next++;
      let same = true;
      for (let r = d.reserved; r < d.count && same; r++) same = map[r] === r;
      if (same) continue;
      const rows = this.rows[i];
      rows.set(v.subarray(d.base, d.base + d.count * d.stride));
      for (let r = d.reserved; r < d.count; r++) {
        const to = d.base + map[r] * d.stride;
        for (let j = 0; j < d.stride; j++) this.write(v, into, to + j, rows[r * d.stride + j]);
      }
      const lo = d.base + d.reserved * d.stride;
      const hi = d.base + d.count * d.stride;
      for (let k = 0; k < n; k++) {
        let o = this.nameSlots[k];
        // A name kept in a row of the pool itself moved with its row.
        if (o >= lo && o < hi) o = d.base + map[Math.floor((o - d.base) / d.stride)] * d.stride + ((o - d.base) % d.stride);
        this.write(v, into, o, map[this.nameRows[k]] + this.nameRef[k]);
      }
    }
  }

  /** Notes `v`, the state the next transitions start from (a copy: the search steps in place), and which of its rows are free. */
  noteBefore(v: Int32Array): void {
    this.before.set(v);
    for (let i = 0; i < this.domains.length; i++) {
      const d = this.domains[i];
      const free = this.freeBefore[i];
      for (let r = 0; r < d.count; r++) free[r] = r >= d.reserved && this.isFree(v, d, r) ? 1 : 0;
    }
  }

  /**
   * The two conditions under which the renumbering is exact, on the transition from the state
   * noted by `noteBefore` to `w`'s: a row it took from the free ones was not taken while two or
   * more were free and one of them was named (with one free row every numbering takes that row),
   * and the free rows are alike. Either broken is a ModelError naming what broke it.
   */
  checkAfter(w: World): void {
    const v = w.v;
    const before = this.before;
    for (let i = 0; i < this.domains.length; i++) {
      const d = this.domains[i];
      const free = this.freeBefore[i];
      let nFree = 0;
      let took = -1;
      for (let r = d.reserved; r < d.count; r++) {
        nFree += free[r];
        if (free[r] && !this.isFree(v, d, r)) took = r;
      }
      if (took >= 0 && nFree >= 2) {
        // Only now, at an allocation: the names of the state it started from.
        const n = this.gather(before, d, w);
        for (let k = 0; k < n; k++) {
          if (!free[this.nameRows[k]]) continue;
          const what = d.domain.struct.name;
          const by = describeSlot(w, this.nameSlots[k], before) ?? `slot ${this.nameSlots[k]}`;
          throw new ModelError(
            `row domain ${d.domain.name}: ${what}[${took}] was allocated while ${by} still named the free ${what}[${this.nameRows[k]}], and the allocator takes the lowest free one: ` +
              `which row it reuses depends on the numbering, so the rows are not interchangeable in this scenario; check it without --symmetry`,
          );
        }
      }
      this.checkAlike(v, d);
    }
  }

  /** With the initial state loaded: its free rows are alike (else a ModelError), as `checkAfter` asks of every later one. */
  checkInitial(w: World): void {
    for (const d of this.domains) this.checkAlike(w.v, d);
  }

  private checkAlike(v: Int32Array, d: DomainSlots): void {
    let first = -1;
    for (let r = d.reserved; r < d.count; r++) {
      if (!this.isFree(v, d, r)) continue;
      if (first < 0) {
        first = r;
        continue;
      }
      const j = firstDifference(v, d, first, r);
      if (j < 0) continue;
      const what = d.domain.struct.name;
      throw new ModelError(
        `row domain ${d.domain.name}: the free ${what}[${first}] and ${what}[${r}] differ in ${d.domain.struct.fields[j]} (${v[d.base + first * d.stride + j]} and ${v[d.base + r * d.stride + j]}): ` +
          `a free row keeps data, so the rows are not interchangeable; check it without --symmetry, or clear the field when the row is freed`,
      );
    }
  }
}

/** Orders two rows of `d` by their fields. */
function compareRows(v: Int32Array, d: DomainSlots, a: number, b: number): number {
  const j = firstDifference(v, d, a, b);
  return j < 0 ? 0 : v[d.base + a * d.stride + j] - v[d.base + b * d.stride + j];
}

/** The first field in which rows `a` and `b` of `d` differ, or -1. */
function firstDifference(v: Int32Array, d: DomainSlots, a: number, b: number): number {
  const oa = d.base + a * d.stride;
  const ob = d.base + b * d.stride;
  for (let j = 0; j < d.stride; j++) if (v[oa + j] !== v[ob + j]) return j;
  return -1;
}
