/**
 * The per-model registry. Routines are defined into a *library* (the kernel, KVM, one mirror
 * design, a test's driver), and a world runs one *model*: the closure of the libraries it was built
 * from, sealed when its layout is built. There is no process-global routine table:
 *
 *   - routine ids (what call frames and ops pointers store in the state) are assigned by the model,
 *     in the order of the routines' qualified names `library:name`, so they do not depend on which
 *     module happened to be imported first;
 *   - two models may each hold a routine of the same name (a driver rebuilt by the shrinker, two
 *     mirror designs that both call their fault handler `mirror_fault`); within one model a name is
 *     unique, because traces name steps `routine:label`;
 *   - a library that grows after a model was built does not grow the model: calling a routine the
 *     model does not hold is a model error naming it, never a frame written past its slot;
 *   - a library may *replace* a routine of another (`replace`): an old kernel's version of a
 *     routine, a driver's variant of a KVM path. The model resolves the original to the
 *     replacement, so every caller — a `w.call`, an ops pointer stored in the state, an actor's
 *     program — runs the replacement with no caller copied, and traces name the replacement's
 *     steps. The original stays defined (its steps are simply never run in that model).
 */
import { ModelError } from './errors.js';
import { Routine, type AnyRoutine, type RoutineSpec } from './routine.js';
import type { CitePolicy } from './citation.js';
import type { FootprintTable } from './footprint.js';

/** A named set of routine definitions, and the libraries its routines call into. */
export class Library {
  private readonly defined: AnyRoutine[] = [];
  private readonly names = new Set<string>();

  constructor(
    readonly name: string,
    readonly uses: readonly Library[] = [],
    /** What its steps may cite (citation.ts); a product library always declares one. */
    readonly cites?: CitePolicy,
  ) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ModelError(`library name "${name}": expected lower-case letters, digits and dashes`);
  }

  /** Defines a routine of this library (see routine.ts for what a step may return). */
  routine<const P extends string, const V extends string = never>(spec: RoutineSpec<P, V>): Routine<P, V> {
    if (this.names.has(spec.name)) throw new ModelError(`library ${this.name}: routine ${spec.name} defined twice`);
    const r = new Routine<P, V>(this, spec.name, spec.params, spec.locals ?? [], spec.steps, spec.counters, spec.resultCounters);
    this.names.add(spec.name);
    this.defined.push(r);
    return r;
  }

  private readonly replacing: { readonly original: string; readonly by: AnyRoutine }[] = [];

  /**
   * Makes `by` (a routine of this library, with the same params) run wherever a model holding this
   * library calls `original` (a routine, or its name: any library's). Checked when a model is built.
   */
  replace(original: AnyRoutine | string, by: AnyRoutine): void {
    const name = typeof original === 'string' ? original : original.name;
    if (by.library !== this) throw new ModelError(`library ${this.name}: replace ${name}: the replacement ${by.name} is of library ${by.library.name}; define it with ${this.name}.routine({...})`);
    if (this.replacing.some((r) => r.original === name)) throw new ModelError(`library ${this.name}: routine ${name} replaced twice`);
    this.replacing.push({ original: name, by });
  }

  /** The routines this library replaces, by the original's name. */
  get replacements(): readonly { readonly original: string; readonly by: AnyRoutine }[] {
    return this.replacing;
  }

  private table: FootprintTable | undefined;

  /** Registers the declared footprints of this library's steps (footprint.ts); once. */
  declare(table: FootprintTable): void {
    if (this.table) throw new ModelError(`library ${this.name}: footprints declared twice`);
    this.table = table;
  }

  /** The declared footprints, if the library declares them. */
  get footprints(): FootprintTable | undefined {
    return this.table;
  }

  /** The routines defined so far, in definition order. */
  get routines(): readonly AnyRoutine[] {
    return this.defined;
  }
}

/** The sealed set of routines one world runs: ids, frame size, lookup by name. */
export class Model {
  readonly libraries: readonly Library[];
  /** Routines by id (id = index). */
  readonly routines: readonly AnyRoutine[];
  /** Locals of the routine with the most: the size of every call frame's locals area. */
  readonly maxLocals: number;
  private readonly ids = new Map<AnyRoutine, number>();
  private readonly byName = new Map<string, AnyRoutine>();

  constructor(roots: readonly Library[]) {
    const libs: Library[] = [];
    const visit = (l: Library) => {
      if (libs.includes(l)) return;
      libs.push(l);
      l.uses.forEach(visit);
    };
    roots.forEach(visit);
    const seenLib = new Map<string, Library>();
    for (const l of libs) {
      if (seenLib.has(l.name)) throw new ModelError(`two different libraries are both called ${l.name}`);
      seenLib.set(l.name, l);
    }
    this.libraries = libs;
    const all = libs.flatMap((l) => l.routines.map((r) => ({ key: `${l.name}:${r.name}`, r })));
    all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.routines = all.map((x) => x.r);
    let maxLocals = 0;
    this.routines.forEach((r, id) => {
      const other = this.byName.get(r.name);
      if (other) throw new ModelError(`routine ${r.name} is defined by both library ${other.library.name} and library ${r.library.name}`);
      this.byName.set(r.name, r);
      this.ids.set(r, id);
      maxLocals = Math.max(maxLocals, r.localNames.length);
    });
    this.maxLocals = maxLocals;
    this.resolveReplacements(libs);
  }

  /** What each replaced routine resolves to (original -> replacement), for messages and `explain`. */
  readonly replaced = new Map<AnyRoutine, AnyRoutine>();

  private resolveReplacements(libs: readonly Library[]): void {
    const by = new Map<AnyRoutine, { r: AnyRoutine; lib: Library }>();
    for (const l of libs) {
      for (const { original, by: r } of l.replacements) {
        const o = this.byName.get(original);
        if (!o) throw new ModelError(`library ${l.name} replaces routine ${original}, which no library of this model defines (libraries: ${libs.map((x) => x.name).join(', ')})`);
        const other = by.get(o);
        if (other) throw new ModelError(`routine ${original} is replaced by both library ${other.lib.name} (${other.r.name}) and library ${l.name} (${r.name}); a model runs one version`);
        if (r.params.length !== o.params.length) {
          throw new ModelError(
            `library ${l.name}: ${r.name} replaces ${original}, which takes ${o.params.length} params (${o.params.join(', ')}); it takes ${r.params.length} (${r.params.join(', ')})`,
          );
        }
        by.set(o, { r, lib: l });
      }
    }
    // A replacement may itself be replaced (an era's routine, then a driver's variant of it): follow the chain.
    for (const o of by.keys()) {
      let r = o;
      const seen = new Set<AnyRoutine>();
      while (by.has(r)) {
        if (seen.has(r)) throw new ModelError(`routine ${o.name}: its replacements form a cycle (${[...seen].map((x) => x.name).join(' -> ')})`);
        seen.add(r);
        r = by.get(r)!.r;
      }
      this.replaced.set(o, r);
      this.ids.set(o, this.ids.get(r)!);
    }
  }

  /** The id of `r` in this model; a routine the model does not hold is a model error. */
  id(r: AnyRoutine): number {
    const id = this.ids.get(r);
    if (id === undefined) {
      throw new ModelError(
        `routine ${r.name} (library ${r.library.name}) is not part of this model (libraries: ${this.libraries.map((l) => l.name).join(', ')}); ` +
          `build the world with its library, and define every routine before building`,
      );
    }
    return id;
  }

  /** The routine with id `id`; an unknown id is a model error. */
  routine(id: number): AnyRoutine {
    const r = this.routines[id];
    if (!r) throw new ModelError(`no routine with id ${id} in this model (it has ${this.routines.length})`);
    return r;
  }

  /** The ops-pointer encoding of `r` stored in the state: its id + 1 (0 is "no routine"). */
  ref(r: AnyRoutine | undefined): number {
    return r ? this.id(r) + 1 : 0;
  }

  byNameOf(name: string): AnyRoutine | undefined {
    return this.byName.get(name);
  }
}
