/**
 * The counter abstraction: before a state is interned, the values of each counter domain live in
 * it (layout.ts `CounterDomain`: the fields that declare the domain, and the declared locals of
 * every live call frame) are renamed to the smallest values that keep what the code can observe
 * of them. An unbounded counter — a sequence bumped by every invalidation, a page generation
 * bumped by every allocation — then leaves finitely many states, and a retry loop that comes back
 * with a new value comes back to a state already seen.
 *
 * What the code may do with such values (the domain's contract): copy them, write 0, add or
 * subtract 1, compare them for equality, for order (as unsigned 32-bit words) and with 0, and,
 * when the domain declares `parity`, test their lowest bit. The renaming keeps every one of those
 * answers. With the live values sorted, 0 first (0 is "none": a constant the code compares with,
 * so it is kept), v0 = 0 < v1 < … < vn, the canonical values are c0 = 0 and
 *     c(i+1) = c(i) + g(v(i+1) − v(i)),   g(1) = 1, g(d) = 2 or 3 for d ≥ 2,
 * 3 only when `parity` is declared and d is odd. The renaming is a bijection on the live values
 * that keeps order, parity (c(i) ≡ v(i) mod 2 when declared), 0, and which values are one apart;
 * so a ±1 of a live value (the code's increments: of the maximum, or of a page's own generation
 * that is not the maximum) is a live value on both sides or a fresh one on both sides, at the same
 * place in the order, and every comparison gives the same answer. The renamed state is therefore
 * bisimilar to the concrete one (the renaming extends along every transition), and two states
 * with the same canonical form have the same futures up to renaming: the same verdicts, the same
 * reachable states up to renaming, the same infinite runs (termination). Two states are one canonical
 * state exactly when some such renaming maps one to the other (the gaps' classes decide it).
 *
 * What the engine cannot see is a use outside the contract (a sign test, a width, a start value
 * near a wrap): such a scenario keeps the domain concrete (`concrete`). What it can see is a value
 * no allowed operation makes: with `check`, every value of a domain in a successor must be 0, a
 * value live in the state it came from, or one of those ±1; another is a ModelError naming the
 * slot (a write of x + 2, or a value from an undeclared slot).
 *
 * The engine knows no kernel: it reads the domains from the layout's structs and routines.
 */
import { ACTOR_SP, allCounterDomains, firstDifference, CALL_LOCALS, CALL_PC, CALL_RESULT, CALL_ROUTINE, type CounterDomain, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import type { AnyRoutine } from '../world/routine.js';
import { zHi, zLo } from '../world/hash.js';
import { describeSlot } from '../world/describe.js';
import { WriteWatch } from './written.js';

/** How a search treats counter domains (absent: every value concrete). */
export interface CounterOptions {
  /** Domains kept concrete (by name): their values are never renamed. */
  readonly concrete?: readonly string[];
  /** Check each transition's new values against the domains' contract (tests, debugging): slower. */
  readonly check?: boolean;
}

/** Where one domain's values live in a layout's states. */
interface DomainSlots {
  readonly domain: CounterDomain;
  /** Object fields that hold the domain, as state slots. */
  readonly fields: Int32Array;
  /** Per routine id: offsets in its frame of the locals that hold the domain (absent: none). */
  readonly locals: readonly (Int32Array | undefined)[];
  /** Per routine id: by pc, 1 where the top frame's result slot holds the domain (absent: nowhere). */
  readonly results: readonly (Uint8Array | undefined)[];
  /** Per routine slot value (id + 1): 1 if the routine keeps the domain in a local or its result (most frames are skipped by one load). */
  readonly byRoutine: Uint8Array;
  /** Whether any routine does (else a gather reads the fields only). */
  readonly inFrames: boolean;
}

/** The domains a layout's structs and routines declare, by name. */
export function declaredDomains(L: Layout): ReadonlyMap<string, CounterDomain> {
  const out = new Map<string, CounterDomain>();
  for (const r of L.regions) for (const d of Object.values(r.def.counters)) if (d) out.set(d.name, d);
  for (const r of L.model?.routines ?? []) for (const c of [...counterLocalsOf(L, r), ...r.counterResults]) out.set(c.domain.name, c.domain);
  return out;
}

/**
 * A routine's counter locals: its own declaration, or — for a replacement (an era's version, a
 * driver's variant) that declares none — the original's, by local name, so that an old kernel's
 * copy of a routine does not silently drop the snapshot it keeps.
 */
function counterLocalsOf(L: Layout, r: AnyRoutine): readonly { readonly index: number; readonly domain: CounterDomain }[] {
  if (r.counterLocals.length || !L.model) return r.counterLocals;
  for (const [original, by] of L.model.replaced) {
    if (by !== r) continue;
    return original.counterLocals.flatMap((c) => {
      const index = r.localNames.indexOf(original.localNames[c.index]);
      return index < 0 ? [] : [{ index, domain: c.domain }];
    });
  }
  return r.counterLocals;
}

export class CounterCanon {
  private readonly domains: DomainSlots[];
  // Scratch, reused for every state: the slots of one domain and their values (unsigned), sorted values, canonical values.
  private slots = new Int32Array(64);
  private values = new Float64Array(64);
  private sorted = new Float64Array(64);
  private canon = new Float64Array(64);
  /** With `check`: the values of each domain live in the state a transition starts from, sorted. */
  private readonly before: Float64Array[];
  private readonly beforeCount: Int32Array;
  /** Whether a transition wrote where the domains' values live (written.ts): else its successor is not renamed. */
  private readonly watch: WriteWatch;
  /** With `check`: a copy of a successor the renaming was skipped for, renamed to show it is canonical. */
  private readonly skipped: Int32Array;

  private constructor(
    private readonly layout: Layout,
    domains: DomainSlots[],
    readonly check: boolean,
  ) {
    this.domains = domains;
    this.before = domains.map(() => new Float64Array(16));
    this.beforeCount = new Int32Array(domains.length);
    this.watch = new WriteWatch(layout, domains);
    this.skipped = new Int32Array(check ? layout.size : 0);
  }

  /**
   * The canonicaliser of `L`'s states for `opts`, or undefined when no domain is to be renamed.
   * A concrete domain that no model defines is a mistake of the caller's, named; one this layout
   * does not use has nothing to keep.
   */
  static of(L: Layout, opts: CounterOptions | undefined): CounterCanon | undefined {
    if (!opts) return undefined;
    const unknown = unknownDomain(opts.concrete ?? []);
    if (unknown) throw new ModelError(`concrete counters: ${unknown}`);
    const declared = declaredDomains(L);
    const routines = L.model?.routines ?? [];
    const domains: DomainSlots[] = [];
    for (const domain of declared.values()) {
      if (opts.concrete?.includes(domain.name)) continue;
      const fields: number[] = [];
      for (const r of L.regions) {
        r.def.fields.forEach((f, k) => {
          if (r.def.counters[f] !== domain) return;
          for (let i = 0; i < r.count; i++) fields.push(r.base + i * r.stride + k);
        });
      }
      const locals = routines.map((r) => {
        const offs = counterLocalsOf(L, r)
          .filter((c) => c.domain === domain)
          .map((c) => CALL_LOCALS + c.index);
        return offs.length ? Int32Array.from(offs) : undefined;
      });
      const results = routines.map((r) => {
        const at = r.counterResults.filter((c) => c.domain === domain);
        if (!at.length) return undefined;
        const byPc = new Uint8Array(r.labels.length);
        for (const c of at) byPc[c.pc] = 1;
        return byPc;
      });
      const byRoutine = new Uint8Array(routines.length + 1);
      routines.forEach((_, id) => {
        if (locals[id] || results[id]) byRoutine[id + 1] = 1;
      });
      domains.push({ domain, fields: Int32Array.from(fields), locals, results, byRoutine, inFrames: byRoutine.includes(1) });
    }
    return domains.length ? new CounterCanon(L, domains, opts.check ?? false) : undefined;
  }

  /** The domains renamed (not concrete), by name. */
  get names(): readonly string[] {
    return this.domains.map((d) => d.domain.name);
  }

  /** Collects domain `d`'s slots and values in `v` into the scratch arrays; returns how many. */
  private gather(v: Int32Array, d: DomainSlots): number {
    const L = this.layout;
    let n = 0;
    for (let k = 0; k < d.fields.length; k++) n = this.put(n, d.fields[k], v[d.fields[k]]);
    if (!d.inFrames) return n;
    for (let a = 0; a < L.actorNames.length; a++) {
      const sp = v[L.actorSlot(a) + ACTOR_SP];
      for (let f = 0; f < sp; f++) {
        const b = L.callSlot(a, f);
        const id = v[b + CALL_ROUTINE] - 1;
        if (d.byRoutine[id + 1] === 0) continue;
        const offs = d.locals[id];
        if (offs) for (let k = 0; k < offs.length; k++) n = this.put(n, b + offs[k], v[b + offs[k]]);
        // The result a callee returned, read at the label the frame waits at; under a callee, an older one.
        if (f === sp - 1 && d.results[id]?.[v[b + CALL_PC]] === 1) n = this.put(n, b + CALL_RESULT, v[b + CALL_RESULT]);
      }
    }
    return n;
  }

  private put(n: number, slot: number, x: number): number {
    if (n === this.slots.length) {
      const m = n * 2;
      const slots = new Int32Array(m);
      slots.set(this.slots);
      const values = new Float64Array(m);
      values.set(this.values);
      this.slots = slots;
      this.values = values;
      this.sorted = new Float64Array(m);
      this.canon = new Float64Array(m);
    }
    this.slots[n] = slot;
    this.values[n] = x >>> 0;
    return n + 1;
  }

  /** Sorts the first `n` gathered values into `sorted`, without repeats and without 0; returns how many. */
  private sortUnique(n: number): number {
    const s = this.sorted;
    let u = 0;
    // Insertion sort: a domain has a few dozen live values at most.
    for (let k = 0; k < n; k++) {
      const x = this.values[k];
      if (x === 0) continue;
      let j = u;
      while (j > 0 && s[j - 1] > x) j--;
      if (j > 0 && s[j - 1] === x) continue;
      for (let m = u; m > j; m--) s[m] = s[m - 1]; // a few values: a loop, not a call into copyWithin
      s[j] = x;
      u++;
    }
    return u;
  }

  /** Renames the live values of every domain in `w`'s state to their canonical ones (through `w.set`: the fingerprint and the undo log follow). */
  canonicalize(w: World): void {
    this.rename(w.v, w);
  }

  /**
   * A successor before it is interned: checked against the domains' contract (with `check`), then
   * renamed. `mark` is where the undo log stood when the transition began from a canonical state:
   * a transition that wrote nowhere the domains' values live (written.ts says where that is) left
   * the live values as they were, so the successor is canonical already and is not gathered at all.
   * With `check`, every skip is verified against the whole renaming.
   */
  intern(w: World, mark: number): void {
    if (this.check) this.checkAfter(w);
    if (!this.watch.touched(w, mark)) {
      if (this.check) this.verifySkip(w);
      return;
    }
    this.canonicalize(w); // logged for undo like the step's own writes
  }

  /** With `check`: the successor whose renaming was skipped is canonical (else the skip is unsound: an engine error). */
  private verifySkip(w: World): void {
    const copy = this.canonicalCopy(w.v, this.skipped);
    const o = firstDifference(w.v, copy);
    if (o < 0) return;
    throw new ModelError(
      `counter abstraction: a transition left ${describeSlot(w, o) ?? `slot ${o}`} = ${w.v[o]} where the renaming makes ${copy[o]}, but wrote no slot of a counter domain: the engine's list of where the domains live (written.ts, from counters.ts) misses a slot`,
    );
  }

  /**
   * `v` canonical in `dst` (the same length), its fingerprint lanes updated: for a state that is
   * only compared (a replay's cycle check), without a world's undo log or trace journal.
   */
  canonicalCopy(v: Int32Array, dst: Int32Array): Int32Array {
    dst.set(v);
    this.rename(dst, undefined);
    return dst;
  }

  /** The renaming of `v`: written through `w` when given, else into `v` with its lanes updated. */
  private rename(v: Int32Array, w: World | undefined): void {
    for (let i = 0; i < this.domains.length; i++) {
      const d = this.domains[i];
      const n = this.gather(v, d);
      const u = this.sortUnique(n);
      const s = this.sorted;
      const c = this.canon;
      let prev = 0;
      let cprev = 0;
      let same = true;
      for (let k = 0; k < u; k++) {
        const gap = s[k] - prev;
        cprev += gap === 1 ? 1 : d.domain.parity && gap % 2 === 1 ? 3 : 2;
        prev = s[k];
        c[k] = cprev;
        if (cprev !== prev) same = false;
      }
      if (same) continue;
      for (let k = 0; k < n; k++) {
        const x = this.values[k];
        if (x === 0) continue;
        const o = this.slots[k];
        const y = c[this.indexOf(x, u)] | 0;
        if (w) {
          w.set(o, y);
        } else if (v[o] !== y) {
          v[0] ^= zLo(o, v[o]) ^ zLo(o, y);
          v[1] ^= zHi(o, v[o]) ^ zHi(o, y);
          v[o] = y;
        }
      }
    }
  }

  /** Index of `x` in the first `u` sorted values (it is there). */
  private indexOf(x: number, u: number): number {
    let lo = 0;
    let hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** With `check`: notes the values live in `v`, the state the next transitions start from. */
  noteBefore(v: Int32Array): void {
    for (let i = 0; i < this.domains.length; i++) {
      const u = this.sortUnique(this.gather(v, this.domains[i]));
      if (this.before[i].length < u) this.before[i] = new Float64Array(u * 2);
      this.before[i].set(this.sorted.subarray(0, u));
      this.beforeCount[i] = u;
    }
  }

  /**
   * With `check`: the first value of a domain in `w`'s state that no allowed operation makes from
   * the state noted by `noteBefore` (0, a live value, or one of those ±1), as a ModelError.
   */
  checkAfter(w: World): void {
    for (let i = 0; i < this.domains.length; i++) {
      const d = this.domains[i];
      const n = this.gather(w.v, d);
      const b = this.before[i];
      const nb = this.beforeCount[i];
      for (let k = 0; k < n; k++) {
        const x = this.values[k];
        if (x <= 1 || near(b, nb, x)) continue;
        const live = Array.from(b.subarray(0, nb)).join(', ') || 'none';
        throw new ModelError(
          `counter domain ${d.domain.name}: ${describeSlot(w, this.slots[k]) ?? `slot ${this.slots[k]}`} became ${x}, which is neither 0, a value live before the step (${live}) nor one of those ±1; ` +
            `the counter abstraction is unsound for this code: keep the domain concrete (--concrete-counters ${d.domain.name}) or declare the slot the value came from`,
        );
      }
    }
  }
}

/** The complaint about the first name in `names` that is no counter domain, if any. */
export function unknownDomain(names: readonly string[]): string | undefined {
  const known = allCounterDomains().map((d) => d.name);
  const bad = names.find((n) => !known.includes(n));
  return bad === undefined ? undefined : `no counter domain ${bad} (the domains: ${known.join(', ')})`;
}

/** Whether `x` is within 1 of one of the sorted `b[0..n)`. */
function near(b: Float64Array, n: number, x: number): boolean {
  for (let k = 0; k < n; k++) if (Math.abs(b[k] - x) <= 1) return true;
  return false;
}
